# hv-agent cut at its own persistence points of an update (docs/ota.md
# OTA-212) and hv-core's OTA events audited exactly once across a cut
# (OTA-210): hv-agent-test (the daemon with its cut points) and the real
# hvctl against the test double of hv-core.
if(TARGET hv-agent AND TARGET hv-agent-test AND TARGET hvctl AND TARGET hvota)
  pkg_check_modules(AGENT_OTA_CUT_JANSSON REQUIRED IMPORTED_TARGET jansson)
  hv_criterion_test(agent_ota_cut
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/agent_ota_cut.c ${CMAKE_CURRENT_LIST_DIR}/agent_harness.c
            ${CMAKE_CURRENT_LIST_DIR}/shell_testlib.c
    LIBS PkgConfig::AGENT_OTA_CUT_JANSSON pthread
    INCLUDES ${CMAKE_CURRENT_LIST_DIR}
    LABELS "component;agent;ota"
    TIMEOUT 600
    DOUBLE)
  add_dependencies(agent_ota_cut hv-agent hv-agent-test hvctl)
endif()

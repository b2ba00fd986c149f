# OTA through hv-agent and hvctl against the test double of hv-core: upload
# with resume, caps, the minimum rate, install, trials, status and history.
if(TARGET hv-agent AND TARGET hvctl AND TARGET hvota)
  pkg_check_modules(AGENT_OTA_JANSSON REQUIRED IMPORTED_TARGET jansson)
  hv_criterion_test(agent_ota
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/agent_ota.c ${CMAKE_CURRENT_LIST_DIR}/agent_harness.c
            ${CMAKE_CURRENT_LIST_DIR}/shell_testlib.c
            ${CMAKE_CURRENT_LIST_DIR}/fleet_broker.c
    LIBS PkgConfig::AGENT_OTA_JANSSON pthread
    INCLUDES ${CMAKE_CURRENT_LIST_DIR}
    LABELS "component;agent;ota"
    TIMEOUT 600
    DOUBLE)
  add_dependencies(agent_ota hv-agent hvctl)
  # OtaFetch: a local HTTPS server with range requests (Debian's python3)
  include(${CMAKE_CURRENT_LIST_DIR}/python_client.cmake)
  target_compile_definitions(agent_ota PRIVATE HV_PYTHON3="${HV_SYSTEM_PYTHON}"
    HV_FETCH_SERVER="${CMAKE_SOURCE_DIR}/tests/unit/fleet_fetch_server.py")
endif()

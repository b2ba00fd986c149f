# agent_telemetry: hv-agent's Prometheus endpoint on the real hv-core under
# QEMU, scraped by a real Prometheus and checked by promtool (Debian's
# prometheus package); WatchHealth followed by the Python client (python3-grpcio)
# sees a fault as an on-change update. Deferred: hvqemu comes from a later fragment.
include(${CMAKE_CURRENT_LIST_DIR}/python_client.cmake)
hv_require_program(HV_PROMETHEUS prometheus "the telemetry test scrapes hv-agent with a real Prometheus (prometheus)")
hv_require_program(HV_PROMTOOL promtool "the telemetry test checks a scrape with promtool (prometheus)")
function(hv_agent_telemetry_test)
  if(TARGET hv-agent AND TARGET hvctl AND TARGET hvqemu)
    hv_criterion_test(agent_telemetry
      SOURCES ${HV_SOURCE_DIR}/tests/integration/agent_telemetry.c
              ${HV_SOURCE_DIR}/tests/integration/agent_harness.c ${HV_SOURCE_DIR}/tests/integration/agent_stack.c
      LIBS hvqemu PkgConfig::HV_JANSSON
      INCLUDES ${HV_SOURCE_DIR}/tests/integration
      LABELS "integration;agent;qemu;telemetry;python"
      TIMEOUT 600)
    target_compile_definitions(agent_telemetry PRIVATE HV_PROMETHEUS="${HV_PROMETHEUS}"
                                                       HV_PROMTOOL="${HV_PROMTOOL}"
                                                       HV_SYSTEM_PYTHON="${HV_SYSTEM_PYTHON}")
    add_dependencies(agent_telemetry hv-agent hvctl)
    if(TARGET hv-core)
      add_dependencies(agent_telemetry hv-core)
    endif()
  endif()
endfunction()
cmake_language(DEFER CALL hv_agent_telemetry_test)

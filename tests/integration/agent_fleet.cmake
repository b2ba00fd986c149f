# agent_fleet: the fleet link end to end (docs/fleet.md): real hv-core under
# QEMU, real hv-agent, a real Mosquitto broker on a free loopback port, hvctl
# --fleet and cli/fleet_client.c. Deferred: hvqemu comes from a later fragment.
function(hv_agent_fleet_test)
  if(TARGET hv-agent AND TARGET hvctl AND TARGET hvqemu AND TARGET hvfleetenv)
    pkg_check_modules(HV_FLEET_TEST_MOSQ REQUIRED IMPORTED_TARGET libmosquitto)
    pkg_check_modules(HV_FLEET_TEST_GRPC REQUIRED IMPORTED_TARGET grpc)
    hv_criterion_test(agent_fleet
      SOURCES ${HV_SOURCE_DIR}/tests/integration/agent_fleet.c
              ${HV_SOURCE_DIR}/tests/integration/agent_harness.c
              ${HV_SOURCE_DIR}/tests/integration/agent_stack.c
              ${HV_SOURCE_DIR}/tests/integration/fleet_broker.c
              ${HV_SOURCE_DIR}/cli/fleet_client.c ${HV_SOURCE_DIR}/cli/client.c
      LIBS hvqemu hvfleetenv hvcgrpc hvproto hvcommon PkgConfig::HV_FLEET_TEST_MOSQ
           PkgConfig::HV_FLEET_TEST_GRPC pthread
      INCLUDES ${HV_SOURCE_DIR}/tests/integration ${HV_SOURCE_DIR}/cli
      LABELS "integration;agent;qemu;fleet"
      TIMEOUT 900)
    add_dependencies(agent_fleet hv-agent hvctl)
    if(TARGET linux-guest)
      add_dependencies(agent_fleet linux-guest)
    endif()
    if(TARGET hv-core)
      add_dependencies(agent_fleet hv-core)
    endif()
  endif()
endfunction()
cmake_language(DEFER CALL hv_agent_fleet_test)

# agent_virtio: a VM's VIRTIO devices and counters (GET_VIRTIO, MGMT-850)
# through the real hv-core under QEMU, hv-agent and hvctl; the scrape with curl.
# Deferred: hvqemu comes from a later fragment.
hv_require_program(HV_CURL curl "the VIRTIO telemetry test scrapes hv-agent with curl")
function(hv_agent_virtio_test)
  if(TARGET hv-agent AND TARGET hvctl AND TARGET hvqemu)
    hv_criterion_test(agent_virtio
      SOURCES ${HV_SOURCE_DIR}/tests/integration/agent_virtio.c
              ${HV_SOURCE_DIR}/tests/integration/agent_harness.c ${HV_SOURCE_DIR}/tests/integration/agent_stack.c
      LIBS hvqemu PkgConfig::HV_JANSSON
      INCLUDES ${HV_SOURCE_DIR}/tests/integration
      LABELS "integration;agent;qemu;virtio"
      TIMEOUT 600)
    target_compile_definitions(agent_virtio PRIVATE HV_CURL="${HV_CURL}")
    add_dependencies(agent_virtio hv-agent hvctl)
    if(TARGET hv-core)
      add_dependencies(agent_virtio hv-core)
    endif()
  endif()
endfunction()
cmake_language(DEFER CALL hv_agent_virtio_test)

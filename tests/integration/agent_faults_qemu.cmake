# agent_faults_qemu: FAULT and WATCHDOG events of misbehaving guests in the
# real hv-core persisted by hv-agent across its own restart and hv-core's
# (REQ-SAF-16; docs/security.md "Fault history"). Deferred: hvqemu and
# hvcore_mgmt_util come from later fragments.
function(hv_agent_faults_qemu_test)
  if(TARGET hv-agent AND TARGET hvctl AND TARGET hvqemu AND TARGET hvcore_mgmt_util)
    hv_criterion_test(agent_faults_qemu
      SOURCES ${HV_SOURCE_DIR}/tests/integration/agent_faults_qemu.c
              ${HV_SOURCE_DIR}/tests/integration/agent_harness.c ${HV_SOURCE_DIR}/tests/integration/agent_stack.c
      LIBS hvcore_mgmt_util hvqemu
      INCLUDES ${HV_SOURCE_DIR}/tests/integration
      LABELS "integration;agent;qemu;audit"
      TIMEOUT 600)
    add_dependencies(agent_faults_qemu hv-agent hvctl)
    if(TARGET hv-core)
      add_dependencies(agent_faults_qemu hv-core)
    endif()
  endif()
endfunction()
cmake_language(DEFER CALL hv_agent_faults_qemu_test)

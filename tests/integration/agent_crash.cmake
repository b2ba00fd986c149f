# agent_crash: hv-agent killed with SIGKILL at random points against the real
# hv-core under QEMU and a real sqlite store (docs/reconcile.md). Deferred:
# hvqemu and hvcore_mgmt_util come from fragments included later.
function(hv_agent_crash_test)
  if(TARGET hv-agent AND TARGET hvctl AND TARGET hvqemu AND TARGET hvcore_mgmt_util AND TARGET hvstore)
    hv_criterion_test(agent_crash
      SOURCES ${HV_SOURCE_DIR}/tests/integration/agent_crash.c
              ${HV_SOURCE_DIR}/tests/integration/agent_harness.c ${HV_SOURCE_DIR}/tests/integration/agent_stack.c
              ${HV_SOURCE_DIR}/tests/integration/agent_store_util.c
      LIBS hvcore_mgmt_util hvqemu hvstore
      INCLUDES ${HV_SOURCE_DIR}/tests/integration
      LABELS "integration;agent;qemu;store"
      TIMEOUT 900)
    add_dependencies(agent_crash hv-agent hvctl)
    if(TARGET hv-core)
      add_dependencies(agent_crash hv-core)
    endif()
  endif()
endfunction()
cmake_language(DEFER CALL hv_agent_crash_test)

# agent_reconcile: reconciliation after hv-core restarts under a running
# hv-agent (two QEMU runs in turn, real sqlite). Deferred: hvqemu and
# hvcore_mgmt_util come from later fragments.
function(hv_agent_reconcile_test)
  if(TARGET hv-agent AND TARGET hvctl AND TARGET hvqemu AND TARGET hvcore_mgmt_util AND TARGET hvstore)
    hv_criterion_test(agent_reconcile
      SOURCES ${HV_SOURCE_DIR}/tests/integration/agent_reconcile.c
              ${HV_SOURCE_DIR}/tests/integration/agent_harness.c ${HV_SOURCE_DIR}/tests/integration/agent_stack.c
              ${HV_SOURCE_DIR}/tests/integration/agent_store_util.c
      LIBS hvcore_mgmt_util hvqemu hvstore
      INCLUDES ${HV_SOURCE_DIR}/tests/integration
      LABELS "integration;agent;qemu;store"
      TIMEOUT 600)
    add_dependencies(agent_reconcile hv-agent hvctl)
    if(TARGET hv-core)
      add_dependencies(agent_reconcile hv-core)
    endif()
  endif()
endfunction()
cmake_language(DEFER CALL hv_agent_reconcile_test)

# agent_store: hv-agent and its sqlite store. agent_store_db (no hv-core): a
# damaged or tampered database is refused. agent_store (real hv-core under
# QEMU): the stored-configuration, autostart and audit RPCs from the Python
# client. Deferred: hvqemu and hvcore_mgmt_util come from later fragments.
include(${CMAKE_CURRENT_LIST_DIR}/python_client.cmake)
function(hv_agent_store_test)
  if(TARGET hv-agent AND TARGET hvctl AND TARGET hvqemu AND TARGET hvcore_mgmt_util AND TARGET hvstore)
    hv_criterion_test(agent_store
      SOURCES ${HV_SOURCE_DIR}/tests/integration/agent_store.c
              ${HV_SOURCE_DIR}/tests/integration/agent_harness.c ${HV_SOURCE_DIR}/tests/integration/agent_stack.c
              ${HV_SOURCE_DIR}/tests/integration/agent_store_util.c
      LIBS hvcore_mgmt_util hvqemu hvstore
      INCLUDES ${HV_SOURCE_DIR}/tests/integration
      LABELS "integration;agent;qemu;store;python"
      TIMEOUT 600)
    target_compile_definitions(agent_store PRIVATE HV_SYSTEM_PYTHON="${HV_SYSTEM_PYTHON}")
    add_dependencies(agent_store hv-agent hvctl)
    if(TARGET hv-core)
      add_dependencies(agent_store hv-core)
    endif()
  endif()
endfunction()
cmake_language(DEFER CALL hv_agent_store_test)

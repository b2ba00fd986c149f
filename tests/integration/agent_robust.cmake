# hv-agent's gateway under pressure (deadlines, the bounded command queue,
# message size limits, concurrency, SIGTERM, 10,000 calls under ASan), driven
# by the independent Python client; hv-core played by its test double.
include(${CMAKE_CURRENT_LIST_DIR}/python_client.cmake)
if(TARGET hv-agent)
  find_library(HV_HOST_FDT_LIB fdt REQUIRED)
  hv_criterion_test(agent_robust
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/agent_robust.c ${CMAKE_CURRENT_LIST_DIR}/agent_harness.c
            ${CMAKE_CURRENT_LIST_DIR}/double_vms.c
    LIBS ${HV_HOST_FDT_LIB} pthread
    INCLUDES ${CMAKE_CURRENT_LIST_DIR}
    LABELS "component;agent;python"
    TIMEOUT 900
    DOUBLE)
  target_compile_definitions(agent_robust PRIVATE HV_SYSTEM_PYTHON="${HV_SYSTEM_PYTHON}")
  add_dependencies(agent_robust hv-agent)
endif()

# END-TO-END with the independent client: Python follows WatchEvents from the
# real hv-core under QEMU while hvctl stops and starts a VM. hvqemu's library
# is defined by the hv-core suite's fragment, possibly after this one: deferred.
function(hv_agent_python_qemu_test)
  if(TARGET hv-agent AND TARGET hvctl AND TARGET hvqemu)
    hv_criterion_test(agent_python_qemu
      SOURCES ${HV_SOURCE_DIR}/tests/integration/agent_python_qemu.c
              ${HV_SOURCE_DIR}/tests/integration/agent_harness.c ${HV_SOURCE_DIR}/tests/integration/agent_stack.c
      LIBS hvqemu
      INCLUDES ${HV_SOURCE_DIR}/tests/integration
      LABELS "integration;agent;python;qemu"
      TIMEOUT 600)
    target_compile_definitions(agent_python_qemu PRIVATE HV_SYSTEM_PYTHON="${HV_SYSTEM_PYTHON}")
    add_dependencies(agent_python_qemu hv-agent hvctl)
    if(TARGET hv-core)
      add_dependencies(agent_python_qemu hv-core)
    endif()
  endif()
endfunction()
cmake_language(DEFER CALL hv_agent_python_qemu_test)

# The safety-aware lifecycle through the real stack (hvctl_safety.c): events of
# the vehicle state and of policy refusals, and commands queued until the policy
# allows them, kept across a restart of hv-agent. Deferred like hvctl.cmake: the
# QEMU fixture library comes from the hv-core suite's fragment.
function(hv_hvctl_safety_test)
  if(TARGET hv-agent AND TARGET hvctl AND TARGET hvqemu)
    pkg_check_modules(HVCTL_S_JANSSON REQUIRED IMPORTED_TARGET jansson)
    hv_criterion_test(hvctl_safety
      SOURCES ${HV_SOURCE_DIR}/tests/integration/hvctl_safety.c
              ${HV_SOURCE_DIR}/tests/integration/hvctl_testlib.c
              ${HV_SOURCE_DIR}/tests/integration/agent_harness.c
              ${HV_SOURCE_DIR}/tests/integration/agent_stack.c
      LIBS hvqemu PkgConfig::HVCTL_S_JANSSON
      INCLUDES ${HV_SOURCE_DIR}/tests/integration
      LABELS "integration;cli;qemu"
      TIMEOUT 900)
    add_dependencies(hvctl_safety hv-agent hvctl hvctl_docs)
    if(TARGET hv-core)
      add_dependencies(hvctl_safety hv-core)
    endif()
  endif()
endfunction()
cmake_language(DEFER CALL hv_hvctl_safety_test)

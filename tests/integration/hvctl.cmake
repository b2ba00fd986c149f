# hvctl as a user drives it: the real CLI against the real hv-agent and the real
# hv-core under QEMU (tests/lib/hvqemu.h), plus its command line, help, man
# page and bash completion. The QEMU fixture library is defined by the hv-core
# suite's fragment, possibly after this one: hence deferred.
function(hv_hvctl_cli_test)
  if(TARGET hv-agent AND TARGET hvctl AND TARGET hvqemu)
    pkg_check_modules(HVCTL_T_JANSSON REQUIRED IMPORTED_TARGET jansson)
    hv_criterion_test(hvctl_cli
      SOURCES ${HV_SOURCE_DIR}/tests/integration/hvctl_cli.c ${HV_SOURCE_DIR}/tests/integration/hvctl_cmdline.c
              ${HV_SOURCE_DIR}/tests/integration/hvctl_testlib.c ${HV_SOURCE_DIR}/tests/integration/agent_harness.c
              ${HV_SOURCE_DIR}/tests/integration/agent_stack.c
      LIBS hvqemu PkgConfig::HVCTL_T_JANSSON
      INCLUDES ${HV_SOURCE_DIR}/tests/integration
      LABELS "integration;cli;qemu"
      TIMEOUT 1200)
    add_dependencies(hvctl_cli hv-agent hvctl hvctl_docs)
    if(TARGET hv-core)
      add_dependencies(hvctl_cli hv-core)
    endif()
  endif()
endfunction()
cmake_language(DEFER CALL hv_hvctl_cli_test)

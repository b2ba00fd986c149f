# hvcore_linux_hvctl.cmake - the Linux guest's lifecycle driven by the real
# hvctl through the real hv-agent, hv-core under QEMU with rtos-demo beside it.
# Needs the QEMU fixture and the agent harness; deferred so every target exists.
function(hv_hvcore_linux_hvctl_test)
  if(TARGET hv-agent AND TARGET hvctl AND TARGET hvqemu)
    pkg_check_modules(HVCORE_LX_JANSSON REQUIRED IMPORTED_TARGET jansson)
    hv_criterion_test(hvcore_linux_hvctl
      SOURCES ${HV_SOURCE_DIR}/tests/integration/hvcore_linux_hvctl.c
              ${HV_SOURCE_DIR}/tests/integration/agent_harness.c
      LIBS hvqemu PkgConfig::HVCORE_LX_JANSSON
      INCLUDES ${HV_SOURCE_DIR}/tests/integration
      LABELS "integration;hvcore;qemu;linux;cli"
      TIMEOUT 1500)
    target_compile_definitions(hvcore_linux_hvctl PRIVATE LINUX_GUEST_DIR="${CMAKE_BINARY_DIR}/linux-guest")
    add_dependencies(hvcore_linux_hvctl hv-agent hvctl linux-guest)
    if(TARGET hv-core)
      add_dependencies(hvcore_linux_hvctl hv-core)
    endif()
  endif()
endfunction()
cmake_language(DEFER CALL hv_hvcore_linux_hvctl_test)

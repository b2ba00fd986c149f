# hvcore_linux_ota.cmake - an OTA update of the Linux guest (kernel and initrd)
# through the real stack: hv-core under QEMU with the linux VM and its slot
# store, hv-agent, hvctl, bundles from scripts/guest-image.sh linux. Deferred
# like hvcore_linux_hvctl.cmake: the QEMU fixture comes from the hv-core suite.
function(hv_hvcore_linux_ota_test)
  if(TARGET hv-agent AND TARGET hvctl AND TARGET hvqemu)
    pkg_check_modules(HVCORE_LXOTA_JANSSON REQUIRED IMPORTED_TARGET jansson)
    hv_criterion_test(hvcore_linux_ota
      SOURCES ${HV_SOURCE_DIR}/tests/integration/hvcore_linux_ota.c
              ${HV_SOURCE_DIR}/tests/integration/shell_testlib.c
              ${HV_SOURCE_DIR}/tests/integration/agent_harness.c
      LIBS hvqemu PkgConfig::HVCORE_LXOTA_JANSSON
      INCLUDES ${HV_SOURCE_DIR}/tests/integration
      LABELS "integration;hvcore;qemu;linux;ota"
      TIMEOUT 2400)
    target_compile_definitions(hvcore_linux_ota PRIVATE LINUX_GUEST_DIR="${CMAKE_BINARY_DIR}/linux-guest")
    add_dependencies(hvcore_linux_ota hv-agent hvctl linux-guest)
    if(TARGET hv-core)
      add_dependencies(hvcore_linux_ota hv-core)
    endif()
  endif()
endfunction()
cmake_language(DEFER CALL hv_hvcore_linux_ota_test)

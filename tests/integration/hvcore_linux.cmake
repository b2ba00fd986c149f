# hvcore_linux.cmake - Debian's unmodified arm64 kernel as a 2-vCPU guest of
# hv-core under QEMU, next to rtos-demo (REQ-STD-05, REQ-STD-06).
hv_criterion_test(hvcore_linux
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvcore_linux.c
  LIBS hvqemu
  LABELS "integration;hvcore;qemu;linux"
  TIMEOUT 900)
target_compile_definitions(hvcore_linux PRIVATE LINUX_GUEST_DIR="${CMAKE_BINARY_DIR}/linux-guest")
add_dependencies(hvcore_linux linux-guest)
if(TARGET hv-core)
  add_dependencies(hvcore_linux hv-core)
endif()

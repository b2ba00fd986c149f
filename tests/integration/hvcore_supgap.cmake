# hvcore_supgap.cmake - the longest gap between two supervision passes of
# hv-core while the Linux kernel is loaded and booted, under QEMU -icount,
# against bench/supervision-ceilings.txt.
hv_criterion_test(hvcore_supgap
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvcore_supgap.c
  LIBS hvcore_mgmt_util hvqemu hvcore_host_internal
  LABELS "integration;hvcore;qemu;linux"
  TIMEOUT 900)
target_compile_definitions(hvcore_supgap PRIVATE LINUX_GUEST_DIR="${CMAKE_BINARY_DIR}/linux-guest")
add_dependencies(hvcore_supgap linux-guest)
if(TARGET hv-core)
  add_dependencies(hvcore_supgap hv-core)
endif()

# hvcore_fault.cmake - fault containment, inter-VM channels, the boot
# configuration and the boot self-test against the real hv-core under QEMU.
hv_criterion_test(hvcore_fault
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvcore_fault.c
  LIBS hvcore_mgmt_util
  LABELS "integration;hvcore;qemu"
  TIMEOUT 900)
if(TARGET hv-core)
  add_dependencies(hvcore_fault hv-core)
endif()

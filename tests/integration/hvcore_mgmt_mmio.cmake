# hvcore_mgmt_mmio.cmake - the trapped-MMIO transport of the management
# interface and the management VM (docs/mgmt-abi.md MGMT-210..215) against the
# real hv-core under QEMU, booted from hv-core/guests/boot-mgmt.dts.
hv_criterion_test(hvcore_mgmt_mmio
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvcore_mgmt_mmio.c
  LIBS hvcore_mgmt_util hvqemu
  LABELS "integration;hvcore;qemu"
  TIMEOUT 900)
if(TARGET hv-core)
  add_dependencies(hvcore_mgmt_mmio hv-core)
endif()

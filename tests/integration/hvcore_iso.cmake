# hvcore_iso.cmake - hv-core's isolation and image guarantees against a hostile
# client, against the real hv-core under QEMU (docs/mgmt-abi.md MGMT-300..315);
# some cases boot hvcore-test.bin, the same hypervisor with the test hooks.
hv_criterion_test(hvcore_iso
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvcore_iso.c
  LIBS hvcore_mgmt_util hvcore_host_internal
  LABELS "integration;hvcore;qemu"
  TIMEOUT 900)
if(TARGET hv-core)
  add_dependencies(hvcore_iso hv-core)
endif()

# hvcore_rtcheck.cmake - hv-core's run-time checks of its own configuration
# (REQ-SAF-04, docs/mgmt-abi.md MGMT-712): corruptions made through the debug
# path of hvcore-test.bin are caught and contained.
hv_criterion_test(hvcore_rtcheck
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvcore_rtcheck.c
  LIBS hvcore_mgmt_util hvcore_host_internal
  LABELS "integration;hvcore;qemu"
  TIMEOUT 600)
if(TARGET hv-core)
  add_dependencies(hvcore_rtcheck hv-core)
endif()

# hvcore_faulthist.cmake - the fault history (MGMT-330) and the fault policy
# stop-vcpu (VMCFG-330) against the real hv-core under QEMU.
hv_criterion_test(hvcore_faulthist
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvcore_faulthist.c
  LIBS hvcore_mgmt_util
  LABELS "integration;hvcore;qemu"
  TIMEOUT 900)
if(TARGET hv-core)
  add_dependencies(hvcore_faulthist hv-core)
endif()

# hvcore_admission.cmake - admission control (REQ-SAF-06, VMCFG-455) through the
# real register interface of hv-core under QEMU: every resource a safety VM
# holds from DEFINE, and the platform's limits, refused by name.
hv_criterion_test(hvcore_admission
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvcore_admission.c
  LIBS hvcore_mgmt_util
  LABELS "integration;hvcore;qemu"
  TIMEOUT 600)
if(TARGET hv-core)
  add_dependencies(hvcore_admission hv-core)
endif()

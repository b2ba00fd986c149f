# hvcore_safety.cmake - the vehicle state and the safety policy against the
# real hv-core under QEMU (docs/vm-config.md VMCFG-400..411,
# docs/mgmt-abi.md MGMT-400..405).
hv_criterion_test(hvcore_safety
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvcore_safety.c
  LIBS hvcore_mgmt_util
  LABELS "integration;hvcore;qemu"
  TIMEOUT 900)
if(TARGET hv-core)
  add_dependencies(hvcore_safety hv-core)
endif()

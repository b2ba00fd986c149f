# hvcore_ota.cmake - hv-core's non-volatile record (MGMT-600..603, 630/631)
# and the A/B slots with the trial boot it witnesses (MGMT-610..625), against
# the real hv-core under QEMU with a flash bank kept across QEMU runs.
hv_criterion_test(hvcore_ota
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvcore_ota.c
  LIBS hvcore_mgmt_util crypto
  LABELS "integration;hvcore;qemu;ota"
  TIMEOUT 900)
if(TARGET hv-core)
  add_dependencies(hvcore_ota hv-core)
endif()

# hvcore_msgfit.cmake - host test of how hv-core fits refusal messages into
# the 64-byte ret_msg (MGMT-121): hv-core's command decoder (mgmt_cmd.c)
# compiled for the host as is (hv-core/host.cmake), with the bounded formatter
# it uses.
include(${HV_SOURCE_DIR}/hv-core/host.cmake)
hv_criterion_test(hvcore_msgfit
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvcore_msgfit.c
  LIBS hvcore_host_internal
  LABELS "unit;hvcore")

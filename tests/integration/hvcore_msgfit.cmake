# hvcore_msgfit.cmake - host test of how hv-core fits refusal messages into
# the 64-byte ret_msg (MGMT-121): the command decoder (hv-core/core/mgmt_cmd.c)
# compiled for the host as is, with the bounded formatter it uses.
hv_criterion_test(hvcore_msgfit
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvcore_msgfit.c ${HV_SOURCE_DIR}/hv-core/core/mgmt_cmd.c
          ${HV_SOURCE_DIR}/hv-core/lib/fmt.c
  INCLUDES ${HV_SOURCE_DIR}/hv-core/core ${HV_SOURCE_DIR}/hv-core/lib ${HV_SOURCE_DIR}/hv-core/include
  LABELS "unit;hvcore")

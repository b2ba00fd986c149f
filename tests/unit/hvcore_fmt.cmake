# hvcore_fmt.cmake - host unit test of hv-core's bounded formatter (hv-core/lib/fmt.c),
# compiled for the host as is: it has no platform dependency.
hv_criterion_test(hvcore_fmt_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvcore_fmt_test.c ${HV_SOURCE_DIR}/hv-core/lib/fmt.c
  INCLUDES ${HV_SOURCE_DIR}/hv-core/lib
  LABELS "unit;hvcore")

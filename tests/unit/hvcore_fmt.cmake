# hvcore_fmt.cmake - host unit test of hv-core's bounded formatter (hv-core/lib/fmt.c),
# compiled for the host as is (hv-core/host.cmake): it has no platform dependency.
include(${HV_SOURCE_DIR}/hv-core/host.cmake)
hv_criterion_test(hvcore_fmt_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvcore_fmt_test.c
  LIBS hvcore_host_internal
  LABELS "unit;hvcore")

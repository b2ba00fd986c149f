# The test double of hv-core's side of the management region (hvcore_double.h):
# one library for every suite that tests a client of the region without QEMU.
# A test links it through hv_criterion_test(... DOUBLE), which also gives the
# test the ctest label "double": such a test never shows a requirement of
# hv-core (docs/requirements-trace.md names the real-QEMU test that does).
find_library(HV_DOUBLE_FDT_LIB fdt REQUIRED)
find_package(Threads REQUIRED)
add_library(hvcore_double STATIC ${CMAKE_CURRENT_LIST_DIR}/hvcore_double.c)
target_include_directories(hvcore_double PUBLIC ${CMAKE_CURRENT_LIST_DIR} ${CMAKE_SOURCE_DIR}/hv-core/include)
target_link_libraries(hvcore_double PUBLIC ${HV_DOUBLE_FDT_LIB} Threads::Threads)

# hvlink unit tests: the register transport against a fake management region
# (the test double of hv-core, tests/double/).
if(TARGET hvlink)
  find_library(HV_HOST_FDT_LIB fdt REQUIRED)
  hv_criterion_test(hvlink_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvlink_test.c
    LIBS hvlink ${HV_HOST_FDT_LIB} pthread
    LABELS unit
    DOUBLE)
endif()

# hvlink's command queue (bounded FIFO, deadlines, stopping) against the fake
# management region (hvlink_fakecore.c, a test double of hv-core's side).
if(TARGET hvlink)
  find_library(HV_HOST_FDT_LIB fdt REQUIRED)
  hv_criterion_test(hvlink_queue_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvlink_queue_test.c ${CMAKE_CURRENT_LIST_DIR}/hvlink_fakecore.c
    LIBS hvlink ${HV_HOST_FDT_LIB} pthread
    INCLUDES ${CMAKE_CURRENT_LIST_DIR}
    LABELS unit)
endif()

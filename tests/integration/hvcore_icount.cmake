# hvcore_icount.cmake - hv-core's trap path in instructions under QEMU -icount,
# checked against the ceilings recorded in bench/icount-ceilings.txt.
hv_criterion_test(hvcore_icount
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvcore_icount.c
  LIBS hvqemu
  LABELS "integration;hvcore;qemu"
  TIMEOUT 600)
if(TARGET hv-core)
  add_dependencies(hvcore_icount hv-core)
endif()

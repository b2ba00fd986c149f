# hvcore.cmake - hv-core integration tests: the real hv-core image under QEMU at
# EL2, observed through the management region in the shared guest RAM file.
# Also defines the hvqemu fixture library (tests/lib/hvqemu.h) other suites link.
add_library(hvqemu STATIC ${HV_SOURCE_DIR}/tests/lib/hvqemu.c)
target_include_directories(hvqemu PUBLIC ${HV_SOURCE_DIR}/tests/lib ${HV_SOURCE_DIR}/hv-core/include)
target_compile_definitions(hvqemu PRIVATE
  HV_SOURCE_DIR="${HV_SOURCE_DIR}" HV_CORE_OUT="${HV_CORE_OUT}")

hv_criterion_test(hvcore_boot
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvcore_boot.c
  LIBS hvqemu
  LABELS "integration;hvcore;qemu"
  TIMEOUT 300)
if(TARGET hv-core)
  add_dependencies(hvcore_boot hv-core)
endif()

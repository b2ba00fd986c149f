# hvcore_mgmt.cmake - the management command set against the real hv-core
# under QEMU (docs/mgmt-abi.md). vm-config blobs are compiled with dtc; the
# SHA-256 of staged images comes from hv-core's own portable sha256.c
# (hv-core/host.cmake).
include(${HV_SOURCE_DIR}/hv-core/host.cmake)
add_library(hvcore_mgmt_util STATIC ${CMAKE_CURRENT_LIST_DIR}/hvcore_mgmt_util.c)
target_include_directories(hvcore_mgmt_util PUBLIC ${CMAKE_CURRENT_LIST_DIR} ${HV_SOURCE_DIR}/tests/lib)
target_compile_definitions(hvcore_mgmt_util PRIVATE HV_CORE_OUT="${HV_CORE_OUT}")
target_link_libraries(hvcore_mgmt_util PUBLIC hvqemu PRIVATE hvcore_host_internal)

hv_criterion_test(hvcore_mgmt
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/hvcore_mgmt.c
  LIBS hvcore_mgmt_util
  LABELS "integration;hvcore;qemu"
  TIMEOUT 900)
if(TARGET hv-core)
  add_dependencies(hvcore_mgmt hv-core)
endif()

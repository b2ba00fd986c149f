# Unit tests of the guest device tree generator (docs/vm-config.md, VMCFG-090..097).
include(${CMAKE_CURRENT_LIST_DIR}/vmconfig_examples.cmake)
include(${HV_SOURCE_DIR}/hv-core/host.cmake)

hv_criterion_test(vmconfig_guest_fdt
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/guest_fdt_test.c ${CMAKE_CURRENT_LIST_DIR}/vmconfig_blob.c
  LIBS hvcore_host
  LABELS unit)
target_compile_definitions(vmconfig_guest_fdt PRIVATE
  VMCFG_EXAMPLES_DIR="${VMCFG_EXAMPLES_DIR}" DTC_EXECUTABLE="${DTC_EXECUTABLE}")
add_dependencies(vmconfig_guest_fdt vmconfig_examples)

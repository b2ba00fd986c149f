# Unit tests of the guest device tree generator (docs/vm-config.md, VMCFG-090..097).
include(${CMAKE_CURRENT_LIST_DIR}/vmconfig_examples.cmake)

hv_criterion_test(vmconfig_guest_fdt
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/guest_fdt_test.c ${CMAKE_CURRENT_LIST_DIR}/vmconfig_blob.c
          ${CMAKE_SOURCE_DIR}/hv-core/core/guest_fdt.c ${VMCFG_CORE_SOURCES}
  LIBS fdt
  INCLUDES ${CMAKE_SOURCE_DIR}/hv-core/core ${CMAKE_SOURCE_DIR}/hv-core/include
  LABELS unit)
target_compile_definitions(vmconfig_guest_fdt PRIVATE
  VMCFG_EXAMPLES_DIR="${VMCFG_EXAMPLES_DIR}" DTC_EXECUTABLE="${DTC_EXECUTABLE}")
add_dependencies(vmconfig_guest_fdt vmconfig_examples)

# Unit tests of the VM configuration parser/validator (docs/vm-config.md).
include(${CMAKE_CURRENT_LIST_DIR}/vmconfig_examples.cmake)

hv_criterion_test(vmconfig_unit
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/vmconfig_test.c ${CMAKE_CURRENT_LIST_DIR}/vmconfig_blob.c
          ${VMCFG_CORE_SOURCES}
  LIBS fdt
  INCLUDES ${CMAKE_SOURCE_DIR}/hv-core/core ${CMAKE_SOURCE_DIR}/hv-core/include
  LABELS unit)
target_compile_definitions(vmconfig_unit PRIVATE VMCFG_EXAMPLES_DIR="${VMCFG_EXAMPLES_DIR}")
add_dependencies(vmconfig_unit vmconfig_examples)

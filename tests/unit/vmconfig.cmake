# Unit tests of the VM configuration parser/validator (docs/vm-config.md).
include(${CMAKE_CURRENT_LIST_DIR}/vmconfig_examples.cmake)
include(${HV_SOURCE_DIR}/hv-core/host.cmake)

hv_criterion_test(vmconfig_unit
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/vmconfig_test.c ${CMAKE_CURRENT_LIST_DIR}/vmconfig_blob.c
  LIBS hvcore_host
  LABELS unit)
target_compile_definitions(vmconfig_unit PRIVATE VMCFG_EXAMPLES_DIR="${VMCFG_EXAMPLES_DIR}")
add_dependencies(vmconfig_unit vmconfig_examples)

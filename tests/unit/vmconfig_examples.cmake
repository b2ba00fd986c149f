# Compiles docs/examples/*.dts into <build>/examples/*.dtb with dtc, for the
# vm-config tests and the fuzzer's seed corpus. Included by the vm-config
# fragments; include_guard keeps it to one definition.
include_guard(GLOBAL)

find_program(DTC_EXECUTABLE dtc REQUIRED)
file(GLOB VMCFG_EXAMPLE_DTS ${CMAKE_SOURCE_DIR}/docs/examples/*.dts)
set(VMCFG_EXAMPLES_DIR ${CMAKE_BINARY_DIR}/examples)
set(VMCFG_EXAMPLE_DTBS "")
foreach(dts ${VMCFG_EXAMPLE_DTS})
  get_filename_component(stem ${dts} NAME_WE)
  set(dtb ${VMCFG_EXAMPLES_DIR}/${stem}.dtb)
  add_custom_command(OUTPUT ${dtb}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${VMCFG_EXAMPLES_DIR}
    COMMAND ${DTC_EXECUTABLE} -q -I dts -O dtb -o ${dtb} ${dts}
    DEPENDS ${dts}
    COMMENT "dtc ${stem}.dts")
  list(APPEND VMCFG_EXAMPLE_DTBS ${dtb})
endforeach()
add_custom_target(vmconfig_examples ALL DEPENDS ${VMCFG_EXAMPLE_DTBS})

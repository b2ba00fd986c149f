# libFuzzer target for the vm-config parser (tests/fuzz/fuzz_vmconfig.c). The
# main build uses gcc, so clang is invoked directly; the seed corpus is the
# compiled docs/examples. ctest runs it for a bounded number of inputs and a
# bounded time (a bound, not a timing assertion), so `make test` includes it.
include(${CMAKE_SOURCE_DIR}/tests/unit/vmconfig_examples.cmake)
include(${CMAKE_SOURCE_DIR}/hv-core/host.cmake)

include(${CMAKE_CURRENT_LIST_DIR}/clang_fuzzer.cmake)
set(FUZZ_VMCFG ${CMAKE_BINARY_DIR}/bin/fuzz_vmconfig)
set(FUZZ_VMCFG_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/fuzz_vmconfig.c ${HVCORE_VMCFG_SOURCES} ${HVCORE_FMT_SOURCES})
add_custom_command(OUTPUT ${FUZZ_VMCFG}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/bin
  COMMAND ${CLANG_EXECUTABLE} -std=gnu11 -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter
          -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
          ${HVCORE_HOST_INCLUDE_FLAGS}
          ${FUZZ_VMCFG_SOURCES} -lfdt -o ${FUZZ_VMCFG}
  DEPENDS ${FUZZ_VMCFG_SOURCES} ${HVCORE_HOST_HEADERS}
  COMMENT "clang libFuzzer fuzz_vmconfig")
add_custom_target(fuzz_vmconfig ALL DEPENDS ${FUZZ_VMCFG})

# the seed corpus is copied so the fuzzer's new inputs never land in the source tree
add_test(NAME vmconfig_fuzz
  COMMAND sh -c "d=$(mktemp -d) && cp ${VMCFG_EXAMPLES_DIR}/*.dtb \"$d\"/ && \
${FUZZ_VMCFG} -dict=${CMAKE_CURRENT_LIST_DIR}/vmconfig.dict -runs=200000 -max_total_time=20 -max_len=8192 -rss_limit_mb=1024 \"$d\"; \
rc=$?; rm -rf \"$d\"; exit $rc")
set_tests_properties(vmconfig_fuzz PROPERTIES TIMEOUT 120 LABELS "fuzz")

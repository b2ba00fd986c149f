# libFuzzer target for hv-core's management command decoder and the DEFINE
# configuration path (tests/fuzz/fuzz_mgmt.c), built for the host with clang
# (the main build uses gcc). Seeds: a DEFINE header (cmd 3, "define the rest")
# in front of each compiled docs/examples blob. ctest runs it for a bounded
# number of inputs and time (a bound, not a timing assertion).
include(${CMAKE_SOURCE_DIR}/tests/unit/vmconfig_examples.cmake)
include(${CMAKE_SOURCE_DIR}/hv-core/host.cmake)

include(${CMAKE_CURRENT_LIST_DIR}/clang_fuzzer.cmake)
set(FUZZ_MGMT ${CMAKE_BINARY_DIR}/bin/fuzz_mgmt)
set(FUZZ_MGMT_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/fuzz_mgmt.c
  ${HVCORE_MGMT_CMD_SOURCES} ${HVCORE_VMCFG_SOURCES} ${HVCORE_FMT_SOURCES})
add_custom_command(OUTPUT ${FUZZ_MGMT}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/bin
  COMMAND ${CLANG_EXECUTABLE} -std=gnu11 -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter
          -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
          ${HVCORE_HOST_INCLUDE_FLAGS}
          ${FUZZ_MGMT_SOURCES} -lfdt -o ${FUZZ_MGMT}
  DEPENDS ${FUZZ_MGMT_SOURCES} ${HVCORE_HOST_HEADERS}
  COMMENT "clang libFuzzer fuzz_mgmt")
add_custom_target(fuzz_mgmt ALL DEPENDS ${FUZZ_MGMT} vmconfig_examples)

# seeds are written to a fresh directory so new inputs never land in the source tree
add_test(NAME mgmt_fuzz
  COMMAND sh -c "d=$(mktemp -d) && for f in ${VMCFG_EXAMPLES_DIR}/*.dtb; do \
{ printf '\\003\\000\\001'; head -c 48 /dev/zero; cat \"$f\"; } > \"$d/$(basename \"$f\")\"; done && \
${FUZZ_MGMT} -dict=${CMAKE_CURRENT_LIST_DIR}/vmconfig.dict -runs=200000 -max_total_time=20 -max_len=8192 -rss_limit_mb=1024 \"$d\"; \
rc=$?; rm -rf \"$d\"; exit $rc")
set_tests_properties(mgmt_fuzz PROPERTIES TIMEOUT 120 LABELS "fuzz")

# libFuzzer target for hv-core's split-virtqueue walker (tests/fuzz/
# fuzz_virtqueue.c, docs/guest-abi.md GABI-486): what a misbehaving guest
# writes into its rings, against the code that reads them. Built for the host
# with clang; ctest runs it for a bounded number of inputs and a bounded time
# (a bound, not a timing assertion), so `make test` includes it.
include(${CMAKE_CURRENT_LIST_DIR}/clang_fuzzer.cmake)
include(${CMAKE_SOURCE_DIR}/hv-core/host.cmake)
set(FUZZ_VQ ${CMAKE_BINARY_DIR}/bin/fuzz_virtqueue)
set(FUZZ_VQ_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/fuzz_virtqueue.c ${HVCORE_VIRTQ_SOURCES})
add_custom_command(OUTPUT ${FUZZ_VQ}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/bin
  COMMAND ${CLANG_EXECUTABLE} -std=gnu11 -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter
          -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
          ${HVCORE_VIRTQ_INCLUDE_FLAGS}
          ${FUZZ_VQ_SOURCES} -o ${FUZZ_VQ}
  DEPENDS ${FUZZ_VQ_SOURCES} ${HVCORE_VIRTQ_HEADERS}
  COMMENT "clang libFuzzer fuzz_virtqueue")
add_custom_target(fuzz_virtqueue ALL DEPENDS ${FUZZ_VQ})

add_test(NAME virtqueue_fuzz
  COMMAND sh -c "d=$(mktemp -d) && \
${FUZZ_VQ} -runs=300000 -max_total_time=20 -max_len=4096 -rss_limit_mb=1024 \"$d\"; \
rc=$?; rm -rf \"$d\"; exit $rc")
set_tests_properties(virtqueue_fuzz PROPERTIES TIMEOUT 120 LABELS "fuzz")

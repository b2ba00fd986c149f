# clang with libFuzzer and the sanitizer runtimes, found once for the fuzz
# targets (the main build uses gcc, so clang is invoked directly). Missing, the
# configuration stops naming the package: the fuzzers are never dropped.
include_guard(GLOBAL)
hv_require_program(CLANG_EXECUTABLE clang "the fuzz targets are built with clang (clang)")
set(HV_FUZZ_PROBE ${CMAKE_BINARY_DIR}/CMakeFiles/hv_fuzz_probe.c)
file(WRITE ${HV_FUZZ_PROBE}
  "#include <stddef.h>\n#include <stdint.h>\n"
  "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\n"
  "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return (int)(n && d[0]) * 0; }\n")
execute_process(COMMAND ${CLANG_EXECUTABLE} -fsanitize=fuzzer,address,undefined ${HV_FUZZ_PROBE}
                        -o ${CMAKE_BINARY_DIR}/CMakeFiles/hv_fuzz_probe
                RESULT_VARIABLE HV_FUZZ_PROBE_RC OUTPUT_QUIET ERROR_VARIABLE HV_FUZZ_PROBE_ERR)
if(NOT HV_FUZZ_PROBE_RC EQUAL 0)
  message(FATAL_ERROR "${CLANG_EXECUTABLE} cannot link a libFuzzer target with ASan and UBSan "
                      "(libclang-rt-14-dev): ${HV_FUZZ_PROBE_ERR}"
                      "Install it with scripts/setup-deps.sh (make deps).")
endif()

# criterion-run.sh, the wrapper every Criterion program runs under (see
# hv_criterion_test in tests/CMakeLists.txt), is itself tested: a program with
# one skipped and one failed test must fail, one whose tests all skip must be
# reported skipped, and a sanitizer report fails even a passing summary. The
# two programs are built for this test only and are not tests themselves.
foreach(prog criterion_selftest_mixed criterion_selftest_skipped)
  add_executable(${prog} ${CMAKE_CURRENT_LIST_DIR}/${prog}.c)
  target_link_libraries(${prog} PRIVATE ${CRITERION_LIB})
endforeach()
add_test(NAME criterion_run_selftest
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/criterion-run-test.sh ${HV_CRITERION_RUN}
          $<TARGET_FILE:criterion_selftest_mixed> $<TARGET_FILE:criterion_selftest_skipped>)
set_tests_properties(criterion_run_selftest PROPERTIES LABELS unit TIMEOUT 60)

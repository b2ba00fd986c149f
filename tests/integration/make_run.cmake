# The `make run` path (scripts/run.sh), started and interrupted as a user would.
add_test(NAME make_run COMMAND bash ${HV_SOURCE_DIR}/tests/integration/make_run.sh
         ${HV_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(make_run PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77
                     LABELS "integration;qemu;linux")

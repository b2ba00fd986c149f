# The `make run` path (scripts/run.sh), started and interrupted as a user would.
add_test(NAME make_run COMMAND bash ${HV_SOURCE_DIR}/tests/integration/make_run.sh
         ${HV_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(make_run PROPERTIES TIMEOUT 300 LABELS "integration;qemu;linux")
# make_run.sh exits 77, naming what is missing, without an hv-core image or a
# Linux guest. That is a skip only in a build told not to make the image
# (HV_BUILD_CORE=OFF); in any other build it is a failure, never a silent skip.
if(NOT HV_BUILD_CORE)
  set_tests_properties(make_run PROPERTIES SKIP_RETURN_CODE 77)
endif()

# The management-interface conformance suite (REQ-STD-07, docs/conformance.md):
# hv-conformance (drives any implementation through the guest-RAM file), its
# unit test against an in-process test double, and the integration test that
# runs it against hv-core under QEMU through scripts/conformance.sh. Only the
# latter shows that hv-core conforms.
find_library(HVCONF_FDT_LIB fdt REQUIRED)
find_package(Threads REQUIRED)

set(HVCONF_DIR ${CMAKE_CURRENT_LIST_DIR})
add_library(hvconf STATIC
  ${HVCONF_DIR}/transport.c
  ${HVCONF_DIR}/vmview.c
  ${HVCONF_DIR}/runner.c
  ${HVCONF_DIR}/check_region.c
  ${HVCONF_DIR}/check_commands.c
  ${HVCONF_DIR}/check_records.c
  ${HVCONF_DIR}/check_guest.c
  ${HVCONF_DIR}/check_define.c
  ${HVCONF_DIR}/check_lifecycle.c
  ${HVCONF_DIR}/check_clauses.c
  ${HVCONF_DIR}/check_trapped.c
  ${HVCONF_DIR}/coverage.c
  ${HVCONF_DIR}/stress.c)
# relay_mbox.h: the mailbox of the trapped transport's relay VM
target_include_directories(hvconf PUBLIC ${HVCONF_DIR} ${CMAKE_SOURCE_DIR}/hv-core/include
  ${CMAKE_SOURCE_DIR}/hv-core/guests/mgmt-relay)
target_link_libraries(hvconf PUBLIC ${HVCONF_FDT_LIB})

add_executable(hv-conformance ${HVCONF_DIR}/main.c)
target_link_libraries(hv-conformance PRIVATE hvconf)
target_compile_definitions(hv-conformance PRIVATE HV_SOURCE_DIR="${CMAKE_SOURCE_DIR}")

# Unit test of the suite itself, against the test double of hv-core (conforming,
# and with one flaw at a time): shows the suite notices, not that hv-core conforms.
hv_criterion_test(conformance_selftest
  SOURCES ${HVCONF_DIR}/selftest.c
  LIBS hvconf
  LABELS unit conformance
  TIMEOUT 600
  DOUBLE)

# Integration: the real hv-core under QEMU. Fails when any clause fails; skipped
# (exit 77, naming why) only when this build was told not to make the hv-core
# image (HV_BUILD_CORE=OFF): otherwise a missing image fails it.
add_test(NAME conformance_hvcore
  COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/conformance.sh --build ${CMAKE_BINARY_DIR}
          -- --stress 400 --seed 20261121 --coverage)
set_tests_properties(conformance_hvcore PROPERTIES
  TIMEOUT 900
  LABELS "integration;conformance"
  FAIL_REGULAR_EXPRESSION "ERROR: (Address|Leak)Sanitizer|runtime error:"
  ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
if(NOT HV_BUILD_CORE)
  set_tests_properties(conformance_hvcore PROPERTIES SKIP_RETURN_CODE 77)
endif()

# The same suite with every command over hv-core's trapped register page
# (MGMT-112, MGMT-210..215): the management VM mgmt-relay performs each request
# the suite leaves in its mailbox with real trapped accesses; checks that can
# only run on the polled page are N/A with the reason.
add_test(NAME conformance_trapped
  COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/conformance.sh --build ${CMAKE_BINARY_DIR} --trapped
          -- --stress 400 --seed 20261206 --coverage)
set_tests_properties(conformance_trapped PROPERTIES
  TIMEOUT 900
  LABELS "integration;conformance"
  FAIL_REGULAR_EXPRESSION "ERROR: (Address|Leak)Sanitizer|runtime error:"
  ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
if(NOT HV_BUILD_CORE)
  set_tests_properties(conformance_trapped PROPERTIES SKIP_RETURN_CODE 77)
endif()
add_test(NAME conformance_cli_bad_transport COMMAND hv-conformance --ram-file x --transport mmio)
set_tests_properties(conformance_cli_bad_transport PROPERTIES
  PASS_REGULAR_EXPRESSION "--transport is polled or trapped, got 'mmio'" LABELS "unit;conformance")

# The suite's clause list (coverage.c) names exactly the clauses the documents
# define, so --coverage accounts for the whole specification.
add_test(NAME conformance_clause_list
  COMMAND bash ${HVCONF_DIR}/clause_list.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(conformance_clause_list PROPERTIES LABELS "unit;conformance")

# Bad command lines are refused with a message naming the problem (exit 2).
add_test(NAME conformance_cli_bad_number COMMAND hv-conformance --ram-file x --stress 12abc)
add_test(NAME conformance_cli_unknown_option COMMAND hv-conformance --ram-file x --frobnicate)
add_test(NAME conformance_cli_no_ram_file COMMAND hv-conformance --stress 5)
add_test(NAME conformance_cli_missing_value COMMAND hv-conformance --ram-file)
add_test(NAME conformance_cli_no_region COMMAND hv-conformance --ram-file /nonexistent/guest-ram)
set_tests_properties(conformance_cli_bad_number PROPERTIES
  PASS_REGULAR_EXPRESSION "--stress needs a non-negative number, got '12abc'" LABELS "unit;conformance")
set_tests_properties(conformance_cli_unknown_option PROPERTIES
  PASS_REGULAR_EXPRESSION "unknown option '--frobnicate'" LABELS "unit;conformance")
set_tests_properties(conformance_cli_no_ram_file PROPERTIES
  PASS_REGULAR_EXPRESSION "--ram-file is required" LABELS "unit;conformance")
set_tests_properties(conformance_cli_missing_value PROPERTIES
  PASS_REGULAR_EXPRESSION "--ram-file needs a value" LABELS "unit;conformance")
set_tests_properties(conformance_cli_no_region PROPERTIES
  PASS_REGULAR_EXPRESSION "cannot open '/nonexistent/guest-ram'" LABELS "unit;conformance")
add_test(NAME conformance_cli_region_outside_ram
  COMMAND hv-conformance --ram-file x --ram-base 0x41000000 --mgmt-base 0x40000000)
set_tests_properties(conformance_cli_region_outside_ram PROPERTIES
  PASS_REGULAR_EXPRESSION "management base 0x40000000 is not a page inside RAM at 0x41000000"
  LABELS "unit;conformance")
add_test(NAME conformance_cli_na_without_reason
  COMMAND hv-conformance --ram-file x --not-applicable MGMT-051)
set_tests_properties(conformance_cli_na_without_reason PROPERTIES
  PASS_REGULAR_EXPRESSION "--not-applicable needs CLAUSE=REASON, got 'MGMT-051'"
  LABELS "unit;conformance")

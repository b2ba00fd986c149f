# lint_duplicates: no copy-pasted block of 6 lines or more in the product code
# (jscpd, pinned, installed from the npm registry into the build tree once).
# Its tools are required: missing, the configuration stops naming them.
hv_require_program(HV_NPM npm "the copy-paste check installs jscpd with npm (npm)")
hv_require_program(HV_NODE node "the copy-paste check runs jscpd on Node.js (nodejs)")

add_test(NAME lint_duplicates
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/duplicates.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(lint_duplicates PROPERTIES LABELS lint TIMEOUT 600)

# lint_format: every tracked C file of the product and the tests is formatted
# as the repository's .clang-format says (it fails, saying so, without one).
hv_require_program(HV_CLANG_FORMAT clang-format "the format check runs clang-format (clang-format)")
hv_require_program(HV_GIT git "the format check reads the tracked files with git (git)")
add_test(NAME lint_format COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/format.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(lint_format PROPERTIES LABELS lint TIMEOUT 600)

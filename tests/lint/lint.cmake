# lint.cmake - checks of the source tree itself, run as ordinary tests.

# hv-core/core's folders include one another only in the order of the
# "# layers:" line of hv-core/CMakeLists.txt.
add_test(NAME hvcore_layers
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/hvcore_layers.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(hvcore_layers PROPERTIES LABELS "unit;lint;hvcore")

# ... and the check catches an include against the order: a copy of core/
# where vm/vm.c includes the management service's mgmt.h must fail.
add_test(NAME hvcore_layers_catches_upward_include
  COMMAND sh -c "d=$(mktemp -d) && mkdir -p \"$d/hv-core\" && \
cp -r \"$1/hv-core/core\" \"$1/hv-core/CMakeLists.txt\" \"$d/hv-core/\" && \
printf '#include \"mgmt.h\"\\n' >> \"$d/hv-core/core/vm/vm.c\" && \
bash \"$2\" \"$d\"; rc=$?; rm -rf \"$d\"; test $rc -eq 1"
    layers ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_LIST_DIR}/hvcore_layers.sh)
set_tests_properties(hvcore_layers_catches_upward_include PROPERTIES
  LABELS "unit;lint;hvcore"
  PASS_REGULAR_EXPRESSION "core/vm includes mgmt.h of core/mgmt")

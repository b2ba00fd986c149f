# hv-agent's read-write unix socket refuses a caller whose uid has no role
# (SO_PEERCRED). No hv-core is needed: the refusal comes before any command.
add_test(NAME agent_peercred
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/agent_peercred.sh
          $<TARGET_FILE:hv-agent> $<TARGET_FILE:hvctl>)
set_tests_properties(agent_peercred PROPERTIES TIMEOUT 120 LABELS agent
  FAIL_REGULAR_EXPRESSION "ERROR: (Address|Leak)Sanitizer|runtime error:")

# hv-agent's layering (agent/CMakeLists.txt): no module includes a module of
# its own layer or above it. agent_layers_selftest makes sure the check still
# notices an upward include, in a throwaway tree.
find_program(HV_LINT_SH sh REQUIRED)
add_test(NAME agent_layers
  COMMAND ${HV_LINT_SH} ${HV_SOURCE_DIR}/tests/lint/agent_layers.sh ${HV_SOURCE_DIR})
add_test(NAME agent_layers_selftest
  COMMAND ${HV_LINT_SH} -c [=[
t=$(mktemp -d) || exit 2
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/agent/common" "$t/agent/reconcile" "$t/agent/service"
echo '#include "status.h"' > "$t/agent/reconcile/ok.c"
: > "$t/agent/common/status.h"
"$0" "$1" "$t" > /dev/null || exit 1
echo '#include "agent.h"' > "$t/agent/reconcile/up.c"
: > "$t/agent/service/agent.h"
out=$("$0" "$1" "$t") && { echo "an upward include was not reported"; exit 1; }
case $out in *'reconcile/up.c'*'agent.h'*) echo "reported: $out" ;; *) echo "unexpected: $out"; exit 1 ;; esac
]=] ${HV_LINT_SH} ${HV_SOURCE_DIR}/tests/lint/agent_layers.sh)
set_tests_properties(agent_layers agent_layers_selftest PROPERTIES LABELS lint TIMEOUT 60)

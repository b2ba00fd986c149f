#!/bin/bash
# A caller whose uid maps to no role is refused on hv-agent's read-write unix
# socket, with a message naming the uid; a mapped uid gets through to the
# call (here: UNAVAILABLE, as no hv-core runs). The agent learns the uid from
# the connection itself (SO_PEERCRED), not from anything the client sends.
# Usage: agent_peercred.sh HV_AGENT HVCTL
set -u
agent=$1 hvctl=$2
dir=$(mktemp -d /tmp/hvpc-XXXXXX)
pid=
stop() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	pid=
}
trap 'stop; rm -rf "$dir"' EXIT
truncate -s 64M "$dir/guest-ram"
fail() { echo "FAIL: $*"; exit 1; }

# $1: extra agent options; waits until the socket answers.
start() {
	rm -f "$dir"/*.sock
	"$agent" --foreground --state-dir "$dir" --no-metrics "$@" >>"$dir/agent.log" 2>&1 &
	pid=$!
	for _ in $(seq 200); do
		[ -S "$dir/hv-agent.sock" ] && [ -S "$dir/hv-agent-ro.sock" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$dir/agent.log"
	fail "hv-agent did not start"
}

me=$(id -u)
other=$((me == 4242 ? 4243 : 4242))

start --unix-admin-uids "$other"
out=$("$hvctl" --connect "unix://$dir/hv-agent.sock" list 2>&1)
echo "unmapped uid on the read-write socket: $out"
case $out in
*"uid $me "*"has no role"*PERMISSION_DENIED*) ;;
*) fail "an unmapped uid was not refused: $out" ;;
esac
out=$("$hvctl" --connect "unix://$dir/hv-agent-ro.sock" list 2>&1)
echo "same uid on the read-only socket: $out"
case $out in
*PERMISSION_DENIED*) fail "read-only socket refused a read: $out" ;;
esac
stop

start --unix-admin-uids "$other,$me"
out=$("$hvctl" --connect "unix://$dir/hv-agent.sock" list 2>&1)
echo "mapped uid on the read-write socket: $out"
case $out in
*PERMISSION_DENIED*) fail "a mapped uid was refused: $out" ;;
esac
stop

out=$("$agent" --unix-admin-uids 0,x --state-dir "$dir" 2>&1)
case $out in
*"--unix-admin-uids: admin uid 'x' is not a decimal uid"*) ;;
*) fail "a bad uid list was not named: $out" ;;
esac
echo PASS

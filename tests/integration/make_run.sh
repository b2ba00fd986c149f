#!/usr/bin/env bash
# The `make run` path (scripts/run.sh) end to end: it boots hv-core with the RTOS and Linux
# guests, starts hv-agent with a development PKI, `hvctl list --all` shows both guests running,
# and an interrupt (what Ctrl-C sends) stops QEMU and hv-agent. Uses a fresh state directory
# and a free loopback port so it can run beside other tests.
# Usage: make_run.sh SOURCE_DIR BUILD_DIR
set -u
src=$1 build=$2
state=$(mktemp -d /tmp/hvrun-XXXXXX)
port=$(( 40000 + RANDOM % 20000 ))
run_pid=""
fail() { echo "FAIL: $*"; [ -f "$state/run.log" ] && tail -20 "$state/run.log"; exit 1; }
cleanup() {
  [ -n "$run_pid" ] && kill -INT -- -"$run_pid" 2>/dev/null
  sleep 1
  [ -f "$state/qemu.pid" ] && kill -KILL "$(cat "$state/qemu.pid")" 2>/dev/null
  [ -f "$state/hv-agent.pid" ] && kill -KILL "$(cat "$state/hv-agent.pid")" 2>/dev/null
  rm -rf "$state"
}
trap cleanup EXIT

[ -f "$build/hv-core-out/hvcore.bin" ] || { echo "SKIP: no hv-core image in $build"; exit 77; }
[ -f "$build/linux-guest/Image" ] || { echo "SKIP: no Linux guest in $build"; exit 77; }

cd "$src" || fail "no source dir"
# Its own process group, so the interrupt reaches run.sh and its children as Ctrl-C would.
setsid env BUILD="$build" STATE="$state" LISTEN="127.0.0.1:$port" bash scripts/run.sh \
  >"$state/run.log" 2>&1 &
run_pid=$!

hvctl() { "$build/bin/hvctl" --connect "unix://$state/hv-agent.sock" "$@"; }
ok=0
for _ in $(seq 1 600); do
  if out=$(hvctl list --all 2>/dev/null) && echo "$out" | grep -q "rtos-demo *running" &&
     echo "$out" | grep -q "linux *running"; then ok=1; break; fi
  kill -0 "$run_pid" 2>/dev/null || fail "run.sh exited early"
  sleep 0.2
done
[ $ok = 1 ] || fail "hvctl list --all never showed rtos-demo and linux running: $(hvctl list --all 2>&1)"
grep -q "The stack is up" "$state/run.log" || fail "run.sh did not print what to type next"
for f in ca.crt server.crt server.key admin.crt admin.key operator.crt viewer.crt; do
  [ -f "$state/pki/$f" ] || fail "development PKI lacks $f"
done
[ -S "$state/hv-agent-ro.sock" ] || fail "no read-only socket"
hb1=$(hvctl dominfo rtos-demo | awk '/^Heartbeat:/{print $2}')
sleep 1
hb2=$(hvctl dominfo rtos-demo | awk '/^Heartbeat:/{print $2}')
[ "${hb2:-0}" -gt "${hb1:-0}" ] || fail "rtos-demo heartbeat did not advance ($hb1 -> $hb2)"
qemu=$(cat "$state/qemu.pid")

kill -INT -- -"$run_pid"
for _ in $(seq 1 100); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$run_pid" 2>/dev/null && fail "run.sh did not stop on an interrupt"
wait "$run_pid"; rc=$?
run_pid=""
[ $rc = 0 ] || fail "run.sh exited $rc after an interrupt"
for _ in $(seq 1 50); do kill -0 "$qemu" 2>/dev/null || break; sleep 0.1; done
kill -0 "$qemu" 2>/dev/null && fail "QEMU still running after the interrupt"
[ -S "$state/hv-agent.sock" ] && fail "hv-agent socket left behind"
echo "make run path: ok"

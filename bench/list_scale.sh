#!/usr/bin/env bash
# list_scale.sh - ListVms through hv-agent with N defined VMs
# (docs/performance.md "Scale"). For each N it boots hv-core under QEMU with a
# boot configuration of N defined, stopped VMs (bench/scale_config.sh),
# starts hv-agent on a unix socket, waits until ListVms answers with all N,
# and runs hv-rpc-bench --list (one client, back to back) for the window,
# with hv-agent's CPU time per call from /proc. Wall times on a shared
# machine swing with its load: the script prints the load average beside
# each row, and the CPU time per call is the steadier figure.
#
#   bench/list_scale.sh [BUILD] [N...]     (default BUILD=build, N = 1 4 7)
#   SECONDS_PER_ROW=5 bench/list_scale.sh build 1 7
#
# N is at most 7 on this platform (bench/tick_scale.sh says why). Not part
# of `make test`. Stops every process it started; keeps its directory on
# failure.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
[ $# -gt 0 ] && shift
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1 4 7)
window=${SECONDS_PER_ROW:-3}
core="$build/hv-core-out"
bin="$build/bin"
for f in "$core/hvcore.bin" "$bin/hv-agent" "$bin/hv-rpc-bench"; do
  [ -x "$f" ] || [ -f "$f" ] || { echo "list_scale: $f not built" >&2; exit 1; }
done

dir=$(mktemp -d /tmp/hv-list-scale.XXXXXX)
ok=0
qpid= apid=
stop_all() {
  if [ -n "$apid" ]; then
    kill -TERM "$apid" 2>/dev/null || true
    wait "$apid" 2>/dev/null || true
    apid=
  fi
  if [ -n "$qpid" ]; then
    kill -TERM "$qpid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.1; done
    qpid=
  fi
}
cleanup() {
  stop_all
  if [ "$ok" = 1 ]; then rm -rf "$dir"; else echo "list_scale: logs kept in $dir" >&2; fi
}
trap cleanup EXIT

. "$root/bench/scale_config.sh"

for n in "${counts[@]}"; do
  run="$dir/n$n"
  mkdir -p "$run"
  scale_config "$n" >"$run/scale.dts"
  smp=$((n + 1))
  [ "$smp" -ge 4 ] || smp=4
  bash "$root/scripts/hv-qemu.sh" --dir "$run" --core "$core" --config "$run/scale.dts" --smp "$smp" >/dev/null
  qpid=$(cat "$run/qemu.pid")
  "$bin/hv-agent" --state-dir "$run" --foreground >>"$run/agent.log" 2>&1 &
  apid=$!
  for _ in $(seq 1 100); do
    [ -S "$run/hv-agent.sock" ] && break
    kill -0 "$apid" 2>/dev/null || { echo "list_scale: hv-agent exited: $(tail -1 "$run/agent.log")" >&2; exit 1; }
    sleep 0.1
  done
  ready=0
  for _ in $(seq 1 200); do
    if "$bin/hv-rpc-bench" --target "unix:$run/hv-agent.sock" --list --vm vm0 --expect "$n" --calls 1 \
      >/dev/null 2>"$run/probe.log"; then ready=1; break; fi
    sleep 0.3
  done
  [ "$ready" = 1 ] || { echo "list_scale: ListVms never held $n VMs: $(tail -1 "$run/probe.log")" >&2; exit 1; }
  load=$(cut -d' ' -f1 /proc/loadavg)
  line=$("$bin/hv-rpc-bench" --target "unix:$run/hv-agent.sock" --list --vm vm0 --expect "$n" \
    --clients 1 --seconds "$window" --server-pid "$apid")
  echo "vms=$n load=$load $line"
  stop_all
done
ok=1

#!/usr/bin/env bash
# profile_agent.sh - where hv-agent's time goes while it answers GetVm: boots
# hv-core under QEMU, starts hv-agent from the release tree bench/run.sh
# builds (build-bench/), loads it with hv-rpc-bench (CLIENTS clients over the
# unix socket) and samples hv-agent alone with `perf record -e cpu-clock`
# (Debian's linux-perf; a software clock, so it works in a VM without
# hardware counters). Prints hv-agent's CPU per call and the flat profile by
# shared object and by symbol. docs/performance.md says what it showed.
#
#   [AGENT=PATH] bench/profile_agent.sh [--frame] [--clients N] [--seconds S] [--keep DIR] [--agent-arg ARG]...
#   bench/profile_agent.sh --memory [--frame] [--pki DIR] [--seconds S] [--agent-arg ARG]...
#
# --frame makes the unix-socket clients use the local frame protocol instead
# of gRPC (docs/api.md "The local frame protocol").
#
# --memory measures instead where hv-agent's resident memory goes, as
# bench/run.sh counts it: the unix-socket cells (1, 8, 64 clients), then
# hv-agent's peak RSS (VmHWM) and its resident memory by kind of mapping
# (/proc/PID/smaps: heap and malloc arenas, thread stacks, libraries' data);
# with --pki DIR (ca.crt, server.*, viewer.* from `hvctl pki init`) also the
# mutual-TLS cells and the peak they add per connection.
#
# perf needs perf_event_paranoid <= 2 for a process of one's own (or root).
# Stops everything it started on every exit path.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$root/build-bench}
bin="$BUILD/bin"
# AGENT=PATH profiles another hv-agent binary (a build of an earlier commit).
agent=${AGENT:-$bin/hv-agent}
clients=1 seconds=5 keep="" agent_args=() memory=0 pki="" frame=()
while [ $# -gt 0 ]; do
  case $1 in
    --clients) clients=${2:?}; shift 2 ;;
    --seconds) seconds=${2:?}; shift 2 ;;
    --keep) keep=${2:?}; shift 2 ;;
    --agent-arg) agent_args+=("${2:?}"); shift 2 ;;
    --memory) memory=1; shift ;;
    --pki) pki=${2:?}; shift 2 ;;
    --frame) frame=(--frame); shift ;;
    *) echo "profile_agent: unknown argument '$1' (--frame, --clients N, --seconds S, --keep DIR, --agent-arg ARG, --memory, --pki DIR)" >&2; exit 2 ;;
  esac
done
[ "$memory" = 1 ] || command -v perf >/dev/null || { echo "profile_agent: perf not found (Debian package linux-perf)" >&2; exit 1; }
for f in hv-agent hv-rpc-bench; do
  [ -x "$bin/$f" ] || { echo "profile_agent: $bin/$f missing: run make bench once (or build it)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/hv-profile.XXXXXX)
agent_pid=""
cleanup() {
  local rc=$? p
  if [ -n "$agent_pid" ]; then kill -TERM "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
  if [ -f "$tmp/qemu.pid" ] && p=$(cat "$tmp/qemu.pid" 2>/dev/null); then
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  fi
  if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$tmp"/perf.data "$tmp"/*.log "$tmp"/*.txt "$keep"/ 2>/dev/null || true; fi
  if [ "$rc" -eq 0 ]; then rm -rf "$tmp"; else echo "profile_agent: logs kept in $tmp" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bash "$root/scripts/hv-qemu.sh" --dir "$tmp" --core "$BUILD/hv-core-out" >/dev/null
port=""
if [ -n "$pki" ]; then
  [ -f "$pki/ca.crt" ] || { echo "profile_agent: $pki has no ca.crt (hvctl pki init --dir DIR)" >&2; exit 1; }
  port=$((20000 + RANDOM % 30000))
  agent_args+=(--listen "127.0.0.1:$port" --tls-dir "$pki")
fi
"$agent" --state-dir "$tmp" --foreground "${agent_args[@]}" >"$tmp/agent.log" 2>&1 &
agent_pid=$!
ok=0
for _ in $(seq 1 200); do
  if [ -S "$tmp/hv-agent.sock" ] &&
     "$bin/hv-rpc-bench" --target "unix:$tmp/hv-agent.sock" --vm rtos-demo --calls 1 >/dev/null 2>&1; then
    ok=1; break
  fi
  kill -0 "$agent_pid" 2>/dev/null || break
  sleep 0.2
done
[ "$ok" = 1 ] || { tail -5 "$tmp/agent.log" >&2; echo "profile_agent: hv-agent never answered GetVm" >&2; exit 1; }

if [ "$memory" = 1 ]; then
  hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$agent_pid/status"; }
  # Resident KiB by kind of mapping. A thread's stack is the anonymous
  # mapping just above a one-page guard; a malloc arena (one per thread that
  # allocated, up to M_ARENA_MAX) is the anonymous part just below the
  # unused rest of its 64 MiB reservation; other anonymous memory is gRPC's
  # or large allocations.
  by_kind() {
    awk '
      function hex(s,   i, c, v) { v = 0; s = tolower(s)
        for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
        return v }
      /^[0-9a-f]+-[0-9a-f]+ / { n++; split($1, r, "-"); lo[n] = hex(r[1]); hi[n] = hex(r[2]); perms[n] = $2; name[n] = $6; next }
      /^Rss:/ { rss[n] = $2 } /^Private_Dirty:/ { dirty[n] = $2 }
      END {
        for (i = 1; i <= n; i++) {
          k = name[i]
          if (k == "") {
            k = "anonymous (gRPC, large allocations)"
            if (i > 1 && name[i-1] == "" && perms[i-1] == "---p" && hi[i-1] == lo[i] && hi[i-1] - lo[i-1] == 4096) k = "thread stacks"
            else if (i < n && name[i+1] == "" && perms[i+1] == "---p" && hi[i] == lo[i+1] && hi[i+1] - lo[i+1] > 4096) k = "malloc arenas of threads"
          } else if (k == "[heap]") k = "[heap] (main malloc arena)"
          else if (k ~ /\.so/) k = (perms[i] ~ /x/ ? "libraries: code" : "libraries: data, relocations, read-only")
          else if (k ~ /hv-agent$/) k = "hv-agent binary"
          tr[k] += rss[i]; td[k] += dirty[i]
        }
        for (k in tr) if (tr[k]) printf "  %7d KiB resident, %7d KiB private dirty: %s\n", tr[k], td[k], k
      }' "/proc/$agent_pid/smaps" | sort -rn
    echo "  threads: $(ls "/proc/$agent_pid/task" | wc -l)"
  }
  echo "hv-agent after start-up: VmHWM $(hwm) KiB"
  for n in 1 8 64; do
    "$bin/hv-rpc-bench" --target "unix:$tmp/hv-agent.sock" "${frame[@]}" --vm rtos-demo --clients "$n" \
      --seconds "$seconds" --server-pid "$agent_pid" >"$tmp/load.log" 2>&1 || { cat "$tmp/load.log" >&2; exit 1; }
    echo "unix, $n clients: VmHWM $(hwm) KiB ($(cat "$tmp/load.log"))"
  done
  unix_kb=$(hwm)
  echo "# hv-agent's resident memory after the unix-socket cells"
  by_kind
  if [ -n "$port" ]; then
    for n in 1 8 64; do
      "$bin/hv-rpc-bench" --target "127.0.0.1:$port" --tls-dir "$pki" --vm rtos-demo --clients "$n" \
        --seconds "$seconds" --server-pid "$agent_pid" >"$tmp/load.log" 2>&1 || { cat "$tmp/load.log" >&2; exit 1; }
      echo "mutual TLS, $n clients: VmHWM $(hwm) KiB ($(cat "$tmp/load.log"))"
    done
    awk -v a="$unix_kb" -v b="$(hwm)" 'BEGIN { printf "each mutual-TLS connection: %.0f KiB (peak after 64 TLS clients minus the peak before, / 64)\n", (b - a) / 64 }'
    echo "# hv-agent's resident memory after the mutual-TLS cells"
    by_kind
  fi
  exit 0
fi

# The load runs a little longer than the sampling, which starts after its warm-up.
"$bin/hv-rpc-bench" --target "unix:$tmp/hv-agent.sock" "${frame[@]}" --vm rtos-demo --clients "$clients" \
  --seconds "$((seconds + 4))" --warmup 0.5 --server-pid "$agent_pid" >"$tmp/load.log" 2>&1 &
load=$!
sleep 1
# PERF_RECORD_ARGS adds options, e.g. "--call-graph dwarf" to see callers.
# shellcheck disable=SC2086
# With 8 clients `perf record -p` failed now and then, without a message
# (hv-agent adds and retires RPC threads as calls back up): try again.
for try in 1 2 3; do
  perf record -q -e cpu-clock -F 4000 ${PERF_RECORD_ARGS:-} -p "$agent_pid" -o "$tmp/perf.data" -- sleep "$seconds" \
    >"$tmp/perf.log" 2>&1 && break
  [ "$try" -lt 3 ] || { cat "$tmp/perf.log" >&2; exit 1; }
done
# Then two seconds of counting: how often hv-agent's threads are switched in.
perf stat -e task-clock,context-switches,cpu-migrations -p "$agent_pid" -o "$tmp/stat.txt" -- sleep 2 \
  >/dev/null 2>&1 || true
wait "$load" || { cat "$tmp/load.log" >&2; exit 1; }

echo "load: $(cat "$tmp/load.log")"
calls_per_s=$(sed -n 's/.* cps=\([0-9]*\).*/\1/p' "$tmp/load.log")
grep -E 'task-clock|context-switches|cpu-migrations' "$tmp/stat.txt" | sed 's/^ */  /'
cs=$(awk '/context-switches/ { gsub(",", "", $1); print $1 }' "$tmp/stat.txt")
[ -n "$cs" ] && [ -n "$calls_per_s" ] && [ "$calls_per_s" -gt 0 ] &&
  awk -v cs="$cs" -v cps="$calls_per_s" 'BEGIN { printf "  %.2f context switches of hv-agent per call\n", cs / 2 / cps }'
echo
perf report -i "$tmp/perf.data" --stdio --sort dso >"$tmp/by-dso.txt" 2>/dev/null
perf report -i "$tmp/perf.data" --stdio --sort dso,sym >"$tmp/by-sym.txt" 2>/dev/null
echo "# hv-agent's samples by shared object"
# (awk, not grep | head: head's early exit failed the pipeline and the
# script, which then kept its directory as if something had gone wrong)
awk '!/^#/ && NF && ++n <= 15' "$tmp/by-dso.txt"
echo
echo "# hv-agent's samples by symbol (self)"
awk '!/^#/ && NF && ++n <= 40' "$tmp/by-sym.txt"

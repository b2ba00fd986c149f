#!/usr/bin/env bash
# bench/fleet.sh - the fleet link's scale on this machine (docs/fleet.md
# "Scale"): for each N in BENCH_FLEET_N (default "10 100 500"), hv-fleet-bench
# starts a Mosquitto broker and N hv-agents, each against its own instance of
# the hv-core TEST DOUBLE (no QEMU per vehicle: the figures are the broker's
# and the fleet link's, not hv-core's), sends one signed ListVms to every
# vehicle at once BENCH_FLEET_ROUNDS times (default 20) and prints one table
# row per N (also written to BUILD/fleet-results.md): memory of the broker
# and of the hv-agents (RSS, PSS, private), the idle CPU per vehicle measured
# over BENCH_FLEET_IDLE seconds (default 10) with all online and nothing
# asked, fan-out p50/p99, and the load average at the end. The hv-agents start
# BENCH_FLEET_STAGGER_MS apart (default 20). Release build without
# sanitizers in build-bench/, as bench/run.sh makes it. Asserts no timing.
#
# Every vehicle is an hv-agent. BENCH_FLEET_FULL_MAX=K (light mode) makes
# only the first K hv-agents and the rest link-only vehicles (the real fleet
# link in helper processes with a fixed ListVms answer, hv-fleet-bench --full).
# BENCH_FLEET_DOUBLE_NAP_US=200 gives the doubles the old fixed 200 us tick.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BUILD=${BUILD:-"$root/build-bench"}
JOBS=${JOBS:-2}
NS=${BENCH_FLEET_N:-"10 100 500"}
ROUNDS=${BENCH_FLEET_ROUNDS:-20}
FULL_MAX=${BENCH_FLEET_FULL_MAX:-100000}
IDLE=${BENCH_FLEET_IDLE:-10}
STAGGER=${BENCH_FLEET_STAGGER_MS:-20}
NAP=${BENCH_FLEET_DOUBLE_NAP_US:-20000}

mkdir -p "$BUILD"
cmake -S . -B "$BUILD" -G Ninja -DHV_SANITIZE=OFF -DCMAKE_BUILD_TYPE=Release \
  >"$BUILD/fleet-configure.log" 2>&1 ||
  { tail -20 "$BUILD/fleet-configure.log" >&2; echo "fleet.sh: configure failed" >&2; exit 1; }
grep -q '^HV_SANITIZE:BOOL=OFF$' "$BUILD/CMakeCache.txt" ||
  { echo "fleet.sh: $BUILD is configured with sanitizers; remove it" >&2; exit 1; }
cmake --build "$BUILD" -j "$JOBS" --target hv-agent hvctl hv-fleet-bench \
  >"$BUILD/fleet-build.log" 2>&1 ||
  { tail -30 "$BUILD/fleet-build.log" >&2; echo "fleet.sh: build failed" >&2; exit 1; }

# Each hv-agent keeps a few files and threads; 500 of them need room.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
work=$(mktemp -d /tmp/hvfleet-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
out="$BUILD/fleet-results.md"
{
  echo "Fleet link on $(nproc) CPUs, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo);"
  echo "vehicles are hv-agents against the hv-core TEST DOUBLE (+ link-only vehicles beyond $FULL_MAX); started ${STAGGER} ms apart; idle CPU over ${IDLE} s; doubles nap up to ${NAP} us idle; $ROUNDS fan-out rounds of one ListVms each."
  echo
  echo "| N | hv-agents + link-only | all online (s) | broker idle RSS (KiB) | broker RSS (KiB) | agent RSS (KiB) | agent PSS (KiB) | agent private (KiB) | all agents' PSS (MiB) | agent threads | idle CPU/agent (% of a CPU) | idle CPU/double (% of a CPU) | link-only RSS/vehicle (KiB) | fan-out p50 (ms) | fan-out p99 (ms) | replies missing | replies late | refused: expired | refused: other | replies not verified | load (1 min) |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
} | tee "$out"
for n in $NS; do
  full=$n
  [ "$n" -gt "$FULL_MAX" ] && full=$FULL_MAX
  "$BUILD/bin/hv-fleet-bench" --bin "$BUILD/bin" --dir "$work/n$n" --vehicles "$n" \
    --rounds "$ROUNDS" --full "$full" --idle "$IDLE" --stagger-ms "$STAGGER" \
    --double-nap-us "$NAP" 2>"$BUILD/fleet-n$n.log" | tee -a "$out"
  rm -rf "$work/n$n"
done

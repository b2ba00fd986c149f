#!/usr/bin/env bash
# bench/fleet.sh - the fleet link's scale on this machine (docs/fleet.md
# "Scale"): for each N in BENCH_FLEET_N (default "10 100 500"), hv-fleet-bench
# starts a Mosquitto broker and N hv-agents, each against its own instance of
# the hv-core TEST DOUBLE (no QEMU per vehicle: the figures are the broker's
# and the fleet link's, not hv-core's), sends one signed ListVms to every
# vehicle at once BENCH_FLEET_ROUNDS times (default 20) and prints one table
# row per N (also written to BUILD/fleet-results.md). Release build without
# sanitizers in build-bench/, as bench/run.sh makes it. Asserts no timing.
#
# Light mode: beyond BENCH_FLEET_FULL_MAX vehicles (default 10), only the
# first BENCH_FLEET_FULL_MAX are hv-agents with a double; the others are
# link-only vehicles (the real fleet link in the benchmark's process with a
# fixed ListVms answer, hv-fleet-bench --full): what 2 shared CPUs can run.
# BENCH_FLEET_FULL_MAX=100000 makes every vehicle an hv-agent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BUILD=${BUILD:-"$root/build-bench"}
JOBS=${JOBS:-2}
NS=${BENCH_FLEET_N:-"10 100 500"}
ROUNDS=${BENCH_FLEET_ROUNDS:-20}
FULL_MAX=${BENCH_FLEET_FULL_MAX:-10}

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
ulimit -n 65536 2>/dev/null || true
work=$(mktemp -d /tmp/hvfleet-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
out="$BUILD/fleet-results.md"
{
  echo "Fleet link on $(nproc) CPUs, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo);"
  echo "vehicles are hv-agents against the hv-core TEST DOUBLE (+ link-only vehicles beyond $FULL_MAX); $ROUNDS fan-out rounds of one ListVms each."
  echo
  echo "| N | hv-agents + link-only | all online (s) | broker idle RSS (KiB) | broker RSS (KiB) | agent 0 RSS (KiB) | mean agent RSS (KiB) | link-only RSS/vehicle (KiB) | fan-out p50 (ms) | fan-out p99 (ms) | replies missing | replies refused |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
} | tee "$out"
for n in $NS; do
  full=$n
  [ "$n" -gt "$FULL_MAX" ] && full=$FULL_MAX
  "$BUILD/bin/hv-fleet-bench" --bin "$BUILD/bin" --dir "$work/n$n" --vehicles "$n" \
    --rounds "$ROUNDS" --full "$full" 2>"$BUILD/fleet-n$n.log" | tee -a "$out"
  rm -rf "$work/n$n"
done

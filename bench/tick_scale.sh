#!/usr/bin/env bash
# tick_scale.sh - what hv-core's 10 ms service tick costs with N defined VMs
# (docs/performance.md "Scale"). For each N it boots hv-core under QEMU
# -icount shift=0,sleep=off with a boot configuration of N VMs, defined and
# not started (VM k: 1 vCPU on physical CPU k + 1, as MGMT-047 gives each
# physical CPU to one VM; 16 MiB at distinct physical addresses; the perf
# guest's image named), and counts with the QEMU plugin
# bench/policy_insn.c every instruction from the entry of mgmt_tick to the
# entry of mgmt_work (the whole tick: the supervision pass, every VM's status
# slot and vm_tick, OTA, safety, self-test, the command poll), callees
# included. Counts are deterministic; the script prints the smallest, the
# median and the largest tick of the first TICKS ticks after "ready".
#
#   bench/tick_scale.sh [BUILD] [N...]     (default BUILD=build, N = 1 4 7)
#   TICKS=50 bench/tick_scale.sh build 1 4 7
#
# N is at most HV_MAX_CPUS - 1 (hv-core/arch/arm64/hvconfig.h: 8 physical
# CPUs, CPU 0 serves): with one physical CPU per VM that, not HVM_MAX_VMS
# (16), is how many VMs this platform defines.
#
# Not part of `make test`. Stops every QEMU it started; keeps its directory
# on failure.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
[ $# -gt 0 ] && shift
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1 4 7)
ticks=${TICKS:-50}
core="$build/hv-core-out"
elf="$build/hv-core/hvcore.elf"
[ -f "$core/hvcore.bin" ] && [ -f "$elf" ] || { echo "tick_scale: build hv-core in $build first" >&2; exit 1; }
nm=aarch64-linux-gnu-nm
command -v "$nm" >/dev/null || { echo "tick_scale: $nm not found (binutils-aarch64-linux-gnu)" >&2; exit 1; }

dir=$(mktemp -d /tmp/hv-tick-scale.XXXXXX)
ok=0
qpid=
stop_qemu() {
  [ -n "$qpid" ] || return 0
  kill -TERM "$qpid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.1; done
  qpid=
}
cleanup() {
  stop_qemu
  if [ "$ok" = 1 ]; then rm -rf "$dir"; else echo "tick_scale: logs kept in $dir" >&2; fi
}
trap cleanup EXIT

addr() { "$nm" "$elf" | awk -v s="$1" '$3 == s && !f { print "0x" $1; f = 1 }'; }
a_tick=$(addr mgmt_tick)
a_work=$(addr mgmt_work)
[ -n "$a_tick" ] && [ -n "$a_work" ] || { echo "tick_scale: mgmt_tick/mgmt_work not in $elf" >&2; exit 1; }
cc -std=gnu11 -shared -fPIC -O2 -fvisibility=hidden -o "$dir/span.so" "$root/bench/policy_insn.c"

. "$root/bench/scale_config.sh" # scale_config N: N VMs, defined only

printf '%-6s %12s %12s %12s %14s\n' "VMs" "min" "median" "max" "per VM (median)"
first_med=
first_n=
for n in "${counts[@]}"; do
  run="$dir/n$n"
  mkdir -p "$run"
  scale_config "$n" >"$run/scale.dts"
  # the sentinel gate/back addresses are never executed: only whole ticks are counted
  smp=$((n + 1))
  [ "$smp" -ge 4 ] || smp=4
  bash "$root/scripts/hv-qemu.sh" --dir "$run" --core "$core" --config "$run/scale.dts" --smp "$smp" \
    --qemu-arg -icount --qemu-arg shift=0,sleep=off \
    --qemu-arg -plugin --qemu-arg "$dir/span.so,cmd=$a_tick,end=$a_work,gate=0x10,back=0x10-0x20,out=$run/ticks.txt" \
    >/dev/null
  qpid=$(cat "$run/qemu.pid")
  for _ in $(seq 1 1200); do
    [ -f "$run/ticks.txt" ] && [ "$(wc -l <"$run/ticks.txt")" -ge $((ticks + 5)) ] && break
    kill -0 "$qpid" 2>/dev/null || { echo "tick_scale: QEMU ended early (N=$n)" >&2; exit 1; }
    sleep 0.5
  done
  grep -q "ready: management region" "$run/serial.log" ||
    { echo "tick_scale: hv-core did not get ready with $n VMs" >&2; exit 1; }
  grep -q "ready: .*, $n VM(s)" "$run/serial.log" ||
    { echo "tick_scale: hv-core did not define $n VMs: $(grep 'ready:' "$run/serial.log")" >&2; exit 1; }
  stop_qemu
  # the ticks after the first few (boot-time self-test and slot first writes)
  line=$(sed -n "6,$((ticks + 5))p" "$run/ticks.txt" | sed 's/cmd_insn=\([0-9]*\).*/\1/' | sort -n |
    awk '{ v[NR] = $1 } END { printf "%d %d %d", v[1], v[int((NR + 1) / 2)], v[NR] }')
  read -r lo med hi <<<"$line"
  if [ -z "$first_med" ]; then first_med=$med; first_n=$n; fi
  per=-
  [ "$n" != "$first_n" ] && per=$(( (med - first_med) / (n - first_n) ))
  printf '%-6s %12s %12s %12s %14s\n' "$n" "$lo" "$med" "$hi" "$per"
done
echo "(instructions per service tick, $ticks ticks each; 'per VM' is the growth over the first row)"
ok=1

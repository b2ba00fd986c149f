#!/usr/bin/env bash
# trap_profile.sh - where hv-core's trap path spends its instructions: boots the
# "perf" guest (hv-core/guests/perf) under QEMU -icount shift=0,sleep=off with
# the instruction-count plugin bench/insn_profile.c, and prints the hv-core
# functions by instructions executed, divided by the guest's exits (5 batches
# of 1000 null hypercalls, MMIO reads, SGIs to itself, SPI set-pending writes
# and virtual timer interrupts, and 20,000 timer interrupts of the latency
# measure: 45,000 exits, 25,000 of them IRQ exits),
# beside the perf guest's own per-operation figures. docs/performance.md
# ("Hypervisor") explains the method.
#
#   bench/trap_profile.sh [BUILD]      (default BUILD=build; hv-core built there)
#
# Stops the QEMU it started on every exit path; keeps its directory on failure.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/perf_guest_lib.sh"
pg_init trap_profile "${1:-$root/build}"
pg_plugin insn_profile.c
pg_run "$root/hv-core/guests/perf.dts" "$dir/profile.txt" -icount shift=0,sleep=off
line=$(grep -o 'perf: .* ticks.*' "$dir/serial.log") || { echo "trap_profile: the perf guest did not report" >&2; exit 1; }

echo "$line"
"$nm" -n "$elf" >"$dir/syms.txt"
/usr/bin/python3 - "$dir/syms.txt" "$dir/profile.txt" 45000 <<'PY'
import bisect, sys
syms = []
for ln in open(sys.argv[1]):
    f = ln.split()
    if len(f) == 3 and f[1] in "tTwW":
        syms.append((int(f[0], 16), f[2]))
syms.sort()
addrs = [a for a, _ in syms]
exits = int(sys.argv[3])
per, total = {}, 0
for ln in open(sys.argv[2]):
    f = ln.split()
    if len(f) != 3 or f[0] != "insn_profile:":
        continue
    a, c = int(f[1], 16), int(f[2])
    i = bisect.bisect_right(addrs, a) - 1
    name = syms[i][1] if i >= 0 else "?"
    per[name] = per.get(name, 0) + c
    total += c
for name, c in sorted(per.items(), key=lambda kv: -kv[1]):
    if c / exits >= 0.5:
        print(f"{c / exits:10.1f}  {name}")
print(f"{total / exits:10.1f}  (all of hv-core, per exit)")
PY
[ -z "${TRAP_PROFILE_RAW:-}" ] || cp "$dir/profile.txt" "$TRAP_PROFILE_RAW"
pg_done

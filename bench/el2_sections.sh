#!/usr/bin/env bash
# el2_sections.sh - the term E of REQ-SAF-17's latency bound, measured: boots
# hv-core under QEMU with hv-core/guests/perf-load.dts (the "perf" guest as an
# ASIL-B VM alone on CPU 1 running its trap and virtual-timer measurements,
# while the QM VMs "flood" and "spin" misbehave on CPUs 2 and 3) and the
# plugin bench/el2_sections.c, and prints per CPU the longest stay in hv-core
# between two instructions of its guest, by the vector it entered through,
# with the function it ended in. QEMU runs its vCPUs in parallel (no
# -icount), so the QM VMs load the machine while the safety VM runs; the
# counts are instructions of each CPU's own, whatever the others do.
# docs/performance.md ("Virtual interrupt latency into a safety VM") says
# what it showed.
#
#   bench/el2_sections.sh [--granted] [BUILD]   (default BUILD=build; hv-core built there)
#
# --granted boots hv-core/guests/perf-load-granted.dts instead: flood's
# channel 0 towards perf is granted at the highest doorbell rate, so other
# CPUs make the safety VM's SPI pending under its vGIC lock (the term W).
#
# Stops the QEMU it started on every exit path; keeps its directory on failure.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/perf_guest_lib.sh"
config="$root/hv-core/guests/perf-load.dts"
if [ "${1:-}" = --granted ]; then
  config="$root/hv-core/guests/perf-load-granted.dts"
  shift
fi
pg_init el2_sections "${1:-$root/build}"
pg_plugin el2_sections.c
pg_run "$config" "$dir/sections.txt"
flood=$(grep -a -o 'db-flood: denied [0-9]*' "$dir/serial.log" | tail -1 || true)
spin=$(grep -a -c 'irq-spin: masking' "$dir/serial.log" || true)

echo "perf (ASIL-B, CPU 1): $(grep -a -o 'perf: freq.*' "$dir/serial.log" | head -1)"
echo "flood (QM, CPU 2): ${flood:-no report}; spin (QM, CPU 3): ${spin} VM(s) spinning with interrupts masked"
"$nm" -n "$elf" >"$dir/syms.txt"
/usr/bin/python3 - "$dir/syms.txt" "$dir/sections.txt" <<'PY'
import bisect, re, sys
syms = []
for ln in open(sys.argv[1]):
    p = ln.split()
    if len(p) == 3 and p[1] in "tTwW":
        syms.append((int(p[0], 16), p[2]))
syms.sort()
addrs = [a for a, _ in syms]
def name(a):
    i = bisect.bisect_right(addrs, a) - 1
    return "?" if i < 0 else (syms[i][1] if a == syms[i][0] else "%s+0x%x" % (syms[i][1], a - syms[i][0]))
vm = {"0": "(service CPU, no guest)", "1": "perf, ASIL-B", "2": "flood, QM", "3": "spin, QM"}
print("\n| CPU | VM | entered at | stays | mean (instructions) | longest | ended in |")
print("|---:|---|---|---:|---:|---:|---|")
head = {}
for ln in open(sys.argv[2]):
    m = re.match(r"el2_sections: cpu (\d+) sections (\d+) total (\d+) guest (\d+) open (\d+)", ln)
    if m:
        head[m.group(1)] = m.groups()
        continue
    m = re.match(r"el2_sections: cpu (\d+) start 0x([0-9a-f]+) count (\d+) longest (\d+) last 0x([0-9a-f]+) insns (\d+)", ln)
    if m:
        c, s, n, l, e, ins = m.groups()
        print("| %s | %s | `%s` | %s | %.0f | %s | `%s` |" % (c, vm.get(c, "?"), name(int(s, 16)), n, int(ins) / max(int(n), 1), l, name(int(e, 16))))
print()
for c, g in sorted(head.items()):
    print("CPU %s: %s instructions in hv-core, %s in its guest, %s in a stay still open at the end" % (c, g[2], g[3], g[4]))
PY
pg_done

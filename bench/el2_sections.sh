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
#   bench/el2_sections.sh [BUILD]      (default BUILD=build; hv-core built there)
#
# Stops the QEMU it started on every exit path; keeps its directory on failure.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
core="$build/hv-core-out"
elf=$(find "$build" -name hvcore.elf -print -quit 2>/dev/null || true)
[ -f "$core/hvcore.bin" ] || { echo "el2_sections: no hv-core in $core (build it first)" >&2; exit 1; }
[ -n "$elf" ] && [ -f "$elf" ] || { echo "el2_sections: no hvcore.elf under $build" >&2; exit 1; }
nm=aarch64-linux-gnu-nm
command -v "$nm" >/dev/null || { echo "el2_sections: $nm not found (binutils-aarch64-linux-gnu)" >&2; exit 1; }

dir=$(mktemp -d /tmp/hv-el2-sections.XXXXXX)
ok=0
cleanup() {
  local p
  if [ -f "$dir/qemu.pid" ] && p=$(cat "$dir/qemu.pid" 2>/dev/null); then
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  fi
  if [ "$ok" = 1 ]; then rm -rf "$dir"; else echo "el2_sections: logs kept in $dir" >&2; fi
}
trap cleanup EXIT

cc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$dir/el2.so" "$root/bench/el2_sections.c" -lpthread
bash "$root/scripts/hv-qemu.sh" --dir "$dir" --core "$core" --config "$root/hv-core/guests/perf-load.dts" \
  --qemu-arg -plugin --qemu-arg "$dir/el2.so" \
  --qemu-arg -d --qemu-arg plugin --qemu-arg -D --qemu-arg "$dir/sections.txt" >/dev/null
for _ in $(seq 1 600); do
  grep -q 'ticks, done' "$dir/serial.log" 2>/dev/null && break
  sleep 0.5
done
grep -q 'ticks, done' "$dir/serial.log" || { echo "el2_sections: the perf guest did not finish" >&2; exit 1; }
flood=$(grep -a -o 'db-flood: denied [0-9]*' "$dir/serial.log" | tail -1 || true)
spin=$(grep -a -c 'irq-spin: masking' "$dir/serial.log" || true)
# The plugin writes its lines when QEMU exits.
qpid=$(cat "$dir/qemu.pid")
kill -TERM "$qpid"
for _ in $(seq 1 100); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.1; done
rm -f "$dir/qemu.pid"

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
print("\n| CPU | VM | entered at | sections | longest (instructions) | ended in |")
print("|---:|---|---|---:|---:|---|")
head = {}
for ln in open(sys.argv[2]):
    m = re.match(r"el2_sections: cpu (\d+) sections (\d+) total (\d+) guest (\d+) open (\d+)", ln)
    if m:
        head[m.group(1)] = m.groups()
        continue
    m = re.match(r"el2_sections: cpu (\d+) start 0x([0-9a-f]+) count (\d+) longest (\d+) last 0x([0-9a-f]+)", ln)
    if m:
        c, s, n, l, e = m.groups()
        print("| %s | %s | `%s` | %s | %s | `%s` |" % (c, vm.get(c, "?"), name(int(s, 16)), n, l, name(int(e, 16))))
print()
for c, g in sorted(head.items()):
    print("CPU %s: %s instructions in hv-core, %s in its guest, %s in a stay still open at the end" % (c, g[2], g[3], g[4]))
PY
ok=1

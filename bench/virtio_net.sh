#!/usr/bin/env bash
# virtio_net.sh - inter-VM virtio-net figures (docs/performance.md "virtio-net
# between two VMs"): Debian's Linux guest of hv-core/guests/vms/linux-net.dtsi
# pings the bare-metal guest net-peer (net-peer.dtsi) over the virtio-net
# channel hv-core switches (docs/guest-abi.md GABI-493), both devices'
# frame-rate raised to 1000000 (VMCFG-850). The guest's /init, given
# hvtest.netbench=COUNT,SIZE,INTERVAL, sends COUNT pings of SIZE bytes
# INTERVAL seconds apart (busybox ping -i) and times them with /proc/uptime.
#
# 1. Throughput: N runs (TCG, no -icount), COUNT pings; printed per run and as
#    medians: round trips a second, frames a second (both ways) and Ethernet
#    bytes a second (both ways, SIZE + 42 bytes a frame), the guest's seconds
#    and the host's wall seconds of the whole run (boot included).
# 2. Unless --no-insn, the cost of a round trip in hv-core instructions: two
#    runs under -icount shift=0,sleep=off with the instruction-count plugin
#    (bench/insn_profile.c) over hv-core's text, one with ICOUNT pings of 56
#    bytes 10 ms apart and one with none (hvtest.netbench=0,...). Printed:
#      virtio_insn_per_rtt  hv-core's virtio code (core/virtio/), the extra
#                           of the ping run over the idle run, per round trip;
#      delta_insn_per_rtt   all of hv-core's extra instructions, per round
#                           trip (timer ticks of the longer run included: an
#                           upper bound);
#    and the ten hv-core functions with the largest extra per round trip.
#
# usage: bench/virtio_net.sh [-n N] [--count COUNT] [--size SIZE]
#                            [--interval SECONDS] [--icount-pings ICOUNT]
#                            [--cpu CPU] [--no-insn] [--timeout SECONDS] [--keep]
#   HV_BUILD_DIR  the build tree (default build): hv-core-out/, linux-guest/
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${HV_BUILD_DIR:-$top/build}
runs=3
count=500
size=1024
gap=0.002
ipings=200
cpu=cortex-a72
insn=1
limit=900
keep=0

NAME=virtio_net
# shellcheck source=bench/linux_guest_lib.sh
. "$top/bench/linux_guest_lib.sh"

while [ $# -gt 0 ]; do
	case $1 in
		-n) runs=${2:?}; shift 2 ;;
		--count) count=${2:?}; shift 2 ;;
		--size) size=${2:?}; shift 2 ;;
		--interval) gap=${2:?}; shift 2 ;;
		--icount-pings) ipings=${2:?}; shift 2 ;;
		--cpu) cpu=${2:?}; shift 2 ;;
		--no-insn) insn=0; shift ;;
		--timeout) limit=${2:?}; shift 2 ;;
		--keep) keep=1; shift ;;
		-h|--help) usage ;;
		*) echo "virtio_net: unknown argument '$1'" >&2; usage ;;
	esac
done
[[ $count =~ ^[1-9][0-9]*$ ]] || die "--count wants a positive number, got '$count'"
[[ $ipings =~ ^[1-9][0-9]*$ ]] || die "--icount-pings wants a positive number, got '$ipings'"
[[ $size =~ ^[0-9]+$ ]] && [ "$size" -le 1472 ] || die "--size wants 0..1472 (one frame), got '$size'"
[[ $gap =~ ^[0-9]*\.?[0-9]+$ ]] && awk -v g="$gap" 'BEGIN { exit !(g > 0) }' ||
	die "--interval wants seconds above 0, got '$gap'"
lg_setup
[ -f "$core/guests/net-peer.bin" ] || die "no $core/guests/net-peer.bin (build hv-core)"

# config NETBENCH OUT: linux-net.dtsi and net-peer.dtsi with the bench's
# command line and frame rate.
config() {
	{
		lg_config_head
		sed -e "s|hvtest.ping=10.0.0.2\";|hvtest.ping=10.0.0.2 hvtest.netbench=$1\";|" \
			-e 's|device = "net";|device = "net";\n\t\tframe-rate = <1000000>;|' \
			"$top/hv-core/guests/vms/linux-net.dtsi" "$top/hv-core/guests/vms/net-peer.dtsi"
		lg_config_tail
	} >"$2"
	grep -q "hvtest.netbench=$1" "$2" || die "linux-net.dtsi has no bootargs line to extend"
	[ "$(grep -c 'frame-rate = <1000000>' "$2")" = 2 ] || die "the net devices' frame rate was not set"
}

# run_hv NAME NETBENCH [QEMU args...]: boots hv-core with both VMs until the
# Linux guest reports, then stops it; prints the report line.
run_hv() {
	local d=$work/hv-$1 nb=$2 name=$1
	shift 2
	mkdir -p "$d"
	config "$nb" "$d/net.dts"
	lg_boot "$name" "$d/net.dts" "$@"
	lg_wait_for "$d/serial.log" 'hv-linux-guest: netbench done' "$(cat "$d/qemu.pid")" ||
		die "$name: the guest did not finish its pings (log $d/serial.log)"
	lg_stop_hv "$d" # QEMU writes the profile, if any, when it exits
	grep -a 'hv-linux-guest: netbench count=' "$d/serial.log" | head -1
}

# figures LINE WALL: round trips/s, frames/s, bytes/s, guest s, wall s
figures() {
	echo "$1" | sed -n 's/.*from=\([0-9.]*\) to=\([0-9.]*\) \([0-9]*\) packets transmitted, \([0-9]*\) packets received.*/\1 \2 \3 \4/p' |
		awk -v s="$size" -v w="$2" '{ t = $2 - $1; if (t <= 0 || $4 == 0) { print "- - - - " w " " $3 " " $4; exit }
			printf "%.1f %.1f %.0f %.2f %s %d %d\n", $4 / t, 2 * $4 / t, 2 * $4 * (s + 42) / t, t, w, $3, $4 }'
}


echo "virtio_net: kernel $(cat "$linux/kernel-release"), $runs runs of $count pings of $size bytes $gap s apart, -cpu $cpu, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
rt=() fr=() by=() gs=() ws=()
for ((i = 1; i <= runs; i++)); do
	t0=$(date +%s.%N)
	line=$(run_hv "tp-$i" "$count,$size,$gap")
	t1=$(date +%s.%N)
	read -r a b c g w tx rx < <(figures "$line" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')")
	echo "virtio_net: run $i: $tx sent $rx answered in $g s (guest), $w s wall: $a round trips/s, $b frames/s, $c bytes/s" >&2
	rt+=("$a") fr+=("$b") by+=("$c") gs+=("$g") ws+=("$w")
done
printf '%-22s %s\n' round_trips/s "$(printf '%s\n' "${rt[@]}" | lg_median)" \
	frames/s "$(printf '%s\n' "${fr[@]}" | lg_median)" \
	bytes/s "$(printf '%s\n' "${by[@]}" | lg_median)" \
	guest_s "$(printf '%s\n' "${gs[@]}" | lg_median)" \
	wall_s "$(printf '%s\n' "${ws[@]}" | lg_median)"

[ "$insn" = 1 ] || exit 0
lg_insn_setup
icount_run() { # NAME NETBENCH
	# shellcheck disable=SC2046 # the arguments are words
	run_hv "$1" "$2" $(lg_icount_args "$1")
}
lping=$(icount_run insn-ping "$ipings,56,0.01")
lidle=$(icount_run insn-idle "0,56,0.01")
echo "virtio_net: icount ping run: $lping" >&2
rx=$(echo "$lping" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
PYTHONPATH="$top/bench" /usr/bin/python3 - "$work/syms.txt" "$work/insn-ping-profile.txt" \
	"$work/insn-idle-profile.txt" "${rx:-0}" "$virtio_syms" <<'PY'
import sys
from insn_map import Symbols
syms = Symbols(sys.argv[1])
virtio = sys.argv[5].split()
def profile(path):
    return syms.profile(path, virtio)
t1, v1, p1 = profile(sys.argv[2])
t0, v0, p0 = profile(sys.argv[3])
n = int(sys.argv[4])
if n <= 0:
    sys.exit("virtio_net: the icount ping run got no answers")
print(f"round trips (answered pings): {n}; hv-core instructions: ping run {t1}, idle run {t0}; virtio code: {v1}, {v0}")
print(f"virtio_insn_per_rtt {(v1 - v0) / n:.0f}")
print(f"delta_insn_per_rtt {(t1 - t0) / n:.0f}")
delta = sorted(((p1.get(k, 0) - p0.get(k, 0), k) for k in set(p1) | set(p0)), reverse=True)
print("largest extra per round trip by hv-core function:")
for d, k in delta[:10]:
    print(f"  {d / n:10.0f}  {k}")
PY

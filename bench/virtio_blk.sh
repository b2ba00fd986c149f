#!/usr/bin/env bash
# virtio_blk.sh - virtio-blk figures of the Linux guest (docs/performance.md
# "virtio-blk"): sequential write and read throughput as the guest's own dd
# times it (hvtest.blkbench=MB in hv-core/guests/linux/init: MB MiB in 1 MiB
# blocks on the raw disk, the write flushed with fsync, the page cache dropped
# before the read, each timed with the guest's /proc/uptime), in two cases,
# alternated in one run:
#   direct  QEMU boots Debian's kernel itself (virt, direct kernel boot) with
#           QEMU's own virtio-blk-device on a raw file;
#   hv      the same kernel and initramfs as hv-core's `linux` VM of
#           hv-core/guests/vms/linux-blk.dtsi (2 vCPUs, 256 MiB), its disk
#           served by hv-blkback, which hv-agent starts (MGMT-865).
# Both: -cpu $CPU, the guest with 2 vCPUs, TCG. N rounds of each; the medians
# are printed.
#
# Then, unless --no-insn, the cost of one virtqueue notification through
# hv-core in instructions: two more hv runs under -icount shift=0,sleep=off
# with the instruction-count plugin (bench/insn_profile.c) over hv-core's
# text, one with hvtest.blkbench=MB and one with hvtest.blkbench=0 (same boot,
# no I/O); hvctl domstats gives each run's notifications (GET_VIRTIO). Printed:
#   virtio_insn_per_notify  instructions in hv-core's virtio code
#                           (hv-core/core/virtio/) per notification;
#   delta_insn_per_notify   all of hv-core's extra instructions of the dd run
#                           over the idle run, per extra notification (trap
#                           path, completion polling, interrupts and the
#                           timer ticks of the longer run included: an upper
#                           bound).
# Nothing here depends on how hv-core hands data to the backend: re-run it as
# it is after that changes.
#
# usage: bench/virtio_blk.sh [-n N] [--mb MB] [--cpu CPU] [--no-insn]
#                            [--timeout SECONDS] [--keep]
#   HV_BUILD_DIR  the build tree (default build): hv-core-out/, bin/, linux-guest/
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${HV_BUILD_DIR:-$top/build}
runs=3
mb=64
cpu=cortex-a72
insn=1
limit=900
keep=0

NAME=virtio_blk
# shellcheck source=bench/linux_guest_lib.sh
. "$top/bench/linux_guest_lib.sh"

while [ $# -gt 0 ]; do
	case $1 in
		-n) runs=${2:?}; shift 2 ;;
		--mb) mb=${2:?}; shift 2 ;;
		--cpu) cpu=${2:?}; shift 2 ;;
		--no-insn) insn=0; shift ;;
		--timeout) limit=${2:?}; shift 2 ;;
		--keep) keep=1; shift ;;
		-h|--help) usage ;;
		*) echo "virtio_blk: unknown argument '$1'" >&2; usage ;;
	esac
done
[[ $mb =~ ^[1-9][0-9]*$ ]] && [ "$mb" -le 192 ] || die "--mb wants 1..192, got '$mb'"
lg_setup
for b in hv-agent hvctl hv-blkback; do
	[ -x "$build/bin/$b" ] || die "no $build/bin/$b (cmake --build $build)"
done
ap=''
# called by lg_stop_hv before it stops hv-core
lg_stop_extra() {
	local d=$1 f p
	if [ -n "$ap" ]; then kill -TERM "$ap" 2>/dev/null || true; wait "$ap" 2>/dev/null || true; ap=; fi
	# hv-agent leaves its backends running by design (MGMT-867): end them
	for f in "$d"/blkback/vm*.pid; do
		[ -f "$f" ] && p=$(cat "$f") && kill -TERM "$p" 2>/dev/null || true
	done
}

# The hv case's boot configuration: linux-blk.dtsi with the bench's command
# line and a disk of 2 x MB.
config() { # BLKBENCH_MB OUT
	local disk
	disk=$(printf '0x%08x' $((mb * 2 * 1024 * 1024)))
	{
		lg_config_head
		sed -e "s|bootargs = \"console=ttyAMA0\";|bootargs = \"console=ttyAMA0 hvtest.blkbench=$1\";|" \
			-e "s|disk-size = <0x0 0x[0-9a-f]*>;|disk-size = <0x0 $disk>;|" \
			"$top/hv-core/guests/vms/linux-blk.dtsi"
		lg_config_tail
	} >"$2"
	grep -q "hvtest.blkbench=$1" "$2" || die "linux-blk.dtsi has no bootargs line to extend"
}

# MB/s (10^6 bytes a second) of /init's line "blkbench write|read mib=MB
# from=T0 to=T1" in LOG (T0, T1: the guest's /proc/uptime, 10 ms resolution).
rate() {
	sed -n "s/.*blkbench $2 mib=\([0-9]*\) from=\([0-9.]*\) to=\([0-9.]*\).*/\1 \2 \3/p" "$1" |
		head -1 | awk '{ if ($3 > $2) printf "%.1f\n", $1 * 1048576 / 1e6 / ($3 - $2); else print "-" }'
}

run_direct() { # I
	local log=$work/direct-$1.log disk=$work/direct.disk
	rm -f "$disk"
	truncate -s $((mb * 2))M "$disk"
	timeout -k 5 "$limit" qemu-system-aarch64 -M virt,gic-version=3 -cpu "$cpu" -smp 2 -m 256M \
		-nographic -nic none -no-reboot -kernel "$linux/Image" -initrd "$linux/initramfs.cpio.gz" \
		-append "console=ttyAMA0 hvtest.blkbench=$mb hvtest.poweroff=1" \
		-drive "file=$disk,if=none,format=raw,id=d0" -device virtio-blk-device,drive=d0 \
		</dev/null >"$log" 2>&1 || true
	grep -q 'blkbench done' "$log" || die "direct run $1: no figures (log $log)"
	echo "$(rate "$log" write) $(rate "$log" read)"
}

# run_hv_boot NAME BLKBENCH_MB [QEMU args...]: boots hv-core with the linux VM and
# hv-agent beside it; leaves hv-core running (stop_hv ends it).
run_hv_boot() {
	local d=$work/hv-$1 n=$2 name=$1
	shift 2
	mkdir -p "$d"
	config "$n" "$d/blk.dts"
	lg_boot "$name" "$d/blk.dts" "$@"
	"$build/bin/hv-agent" --state-dir "$d" --foreground --no-metrics --blkback "$build/bin/hv-blkback" \
		--cmd-timeout-ms 120000 >>"$d/hv-agent.log" 2>&1 &
	ap=$!
	lg_wait_for "$d/serial.log" 'hv-linux-guest: blkbench done' "$(cat "$d/qemu.pid")" ||
		die "$name: the guest did not finish its dd (log $d/serial.log, $d/hv-agent.log)"
}

run_hv() { # I
	local d=$work/hv-$1
	run_hv_boot "$1" "$mb"
	lg_stop_hv "$d"
	echo "$(rate "$d/serial.log" write) $(rate "$d/serial.log" read)"
}


echo "virtio_blk: kernel $(cat "$linux/kernel-release"), $runs rounds, $mb MiB, -cpu $cpu" >&2
dw=() dr=() hw=() hr=()
for ((i = 1; i <= runs; i++)); do
	read -r w r < <(run_direct "$i")
	dw+=("$w") dr+=("$r")
	echo "virtio_blk: round $i direct write $w MB/s read $r MB/s" >&2
	read -r w r < <(run_hv "$i")
	hw+=("$w") hr+=("$r")
	echo "virtio_blk: round $i hv     write $w MB/s read $r MB/s" >&2
done
printf '%-8s %14s %14s\n' case write_MB/s read_MB/s
printf '%-8s %14s %14s\n' direct "$(printf '%s\n' "${dw[@]}" | lg_median 2)" "$(printf '%s\n' "${dr[@]}" | lg_median 2)"
printf '%-8s %14s %14s\n' hv "$(printf '%s\n' "${hw[@]}" | lg_median 2)" "$(printf '%s\n' "${hr[@]}" | lg_median 2)"
# hv/direct of each round (the two ran back to back under the same load), median
ratios() { # HV... -- DIRECT...
	local -a hv=() dir=()
	while [ "$1" != -- ]; do hv+=("$1"); shift; done
	shift
	dir=("$@")
	for ((k = 0; k < ${#hv[@]}; k++)); do
		awk -v a="${hv[$k]}" -v b="${dir[$k]}" 'BEGIN { if (b + 0 > 0 && a != "-") printf "%.2f\n", a / b }'
	done | lg_median 2
}
printf '%-8s %14s %14s\n' hv/dir "$(ratios "${hw[@]}" -- "${dw[@]}")" "$(ratios "${hr[@]}" -- "${dr[@]}")"

[ "$insn" = 1 ] || exit 0
lg_insn_setup
# icount_run NAME MB: the profile and the VM's notifications.
icount_run() {
	local d=$work/hv-$1
	# shellcheck disable=SC2046 # the arguments are words
	run_hv_boot "$1" "$2" $(lg_icount_args "$1")
	"$build/bin/hvctl" --connect "unix://$d/hv-agent.sock" domstats linux --json >"$work/$1-stats.json" ||
		die "$1: hvctl domstats failed"
	lg_stop_hv "$d" # QEMU writes the profile when it exits
}
icount_run insn-dd "$mb"
icount_run insn-idle 0
PYTHONPATH="$top/bench" /usr/bin/python3 - "$work/syms.txt" "$work/insn-dd-profile.txt" \
	"$work/insn-idle-profile.txt" "$work/insn-dd-stats.json" "$work/insn-idle-stats.json" \
	"$virtio_syms" <<'PY'
import json, sys
from insn_map import Symbols
syms = Symbols(sys.argv[1])
virtio = sys.argv[6].split()
def profile(path):
    total, vio, _ = syms.profile(path, virtio)
    return total, vio
def counts(path):
    s = json.load(open(path))
    vm = s["vms"][0] if "vms" in s else s
    blk = [d for d in vm.get("virtio_devices", []) if d.get("type") == "blk"]
    return sum(d.get("notifies", 0) for d in blk), sum(d.get("requests", 0) for d in blk)
t1, v1 = profile(sys.argv[2])
t0, v0 = profile(sys.argv[3])
(n1, r1), (n0, r0) = counts(sys.argv[4]), counts(sys.argv[5])
if n1 <= n0 or r1 <= r0:
    sys.exit(f"virtio_blk: the dd run has {n1} notifications, the idle run {n0}")
print(f"notifications: dd run {n1}, idle run {n0}; requests: dd run {r1}, idle run {r0}")
print(f"virtio_insn_per_notify {v1 / n1:.0f}   (per request {v1 / r1:.0f})")
print(f"delta_insn_per_notify {(t1 - t0) / (n1 - n0):.0f}   (per request {(t1 - t0) / (r1 - r0):.0f})")
PY

#!/usr/bin/env bash
# linux_boot.sh - boot-time baseline of the Linux guest (docs/linux-guest.md).
# Boots Debian's arm64 kernel + our busybox initramfs N times and prints the median
# wall time from starting the command to the "hv-linux-guest: init reached" line;
# then, in one more run under -icount shift=0,sleep=off with the instruction-count
# plugin (bench/linux_boot_insn.c), the number of guest instructions executed until
# the first user-space instruction (/init starting) and in total until power-off.
#
# Two cases:
#   direct  QEMU boots the kernel itself (always measured; the baseline)
#   hv      the kernel under hv-core: --hv-cmd CMD, run with `bash -c CMD`. CMD must
#           boot $LINUX_IMAGE / $LINUX_INITRD with $LINUX_APPEND as the guest, copy the
#           guest's console to stdout and exit when the guest powers off. For the
#           instruction count, CMD adds $QEMU_EXTRA (unquoted) to its QEMU command
#           line; it is empty in the timed runs.
# With both cases the hv/direct ratios are printed.
#
# usage: bench/linux_boot.sh [-n N] [-o OUTDIR] [--cpu CPU] [--virt] [--hv-cmd CMD]
#                            [--no-insn] [--timeout SECONDS] [--keep-logs]
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=5
out=${HV_BUILD_DIR:-$top/build}/linux-guest
cpu=cortex-a57
machine=virt,gic-version=3
hv_cmd=
insn=1
limit=180
keep=0
marker='hv-linux-guest: init reached'

usage() { sed -n '/^# usage:/,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
die() { echo "linux_boot: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case $1 in
		-n) runs=${2:?}; shift 2 ;;
		-o) out=${2:?}; shift 2 ;;
		--cpu) cpu=${2:?}; shift 2 ;;
		--virt) machine=$machine,virtualization=on; shift ;;
		--hv-cmd) hv_cmd=${2:?}; shift 2 ;;
		--no-insn) insn=0; shift ;;
		--timeout) limit=${2:?}; shift 2 ;;
		--keep-logs) keep=1; shift ;;
		-h|--help) usage ;;
		*) echo "linux_boot: unknown argument '$1'" >&2; usage ;;
	esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "-n wants a positive number, got '$runs'"
[[ $limit =~ ^[1-9][0-9]*$ ]] || die "--timeout wants a positive number of seconds, got '$limit'"
command -v qemu-system-aarch64 >/dev/null || die "qemu-system-aarch64 not found (scripts/setup-deps.sh)"

"$top/hv-core/guests/linux/build.sh" "$out" >/dev/null
export LINUX_IMAGE=$out/Image LINUX_INITRD=$out/initramfs.cpio.gz
export LINUX_APPEND="console=ttyAMA0 hvtest.poweroff=1"
export QEMU_EXTRA=

work=$(mktemp -d "${TMPDIR:-/tmp}/linux_boot.XXXXXX")
child=
cleanup() {
	[ -n "$child" ] && kill -TERM "$child" 2>/dev/null
	if [ "$keep" = 1 ]; then echo "linux_boot: logs in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Expanded by bash -c at run time, so that $QEMU_EXTRA can differ between runs.
# shellcheck disable=SC2016
direct_cmd='qemu-system-aarch64 -M '$machine' -cpu '$cpu' -smp 2 -m 512M -nographic -nic none -no-reboot $QEMU_EXTRA -kernel "$LINUX_IMAGE" -initrd "$LINUX_INITRD" -append "$LINUX_APPEND"'

# run_once CMD LOG: runs CMD (bash -c), copies its output to LOG, prints the seconds
# from the start to the marker line, or nothing if the marker never came.
run_once() {
	local t0 t1='' line fd rc=0
	t0=$EPOCHREALTIME
	exec {fd}< <(exec timeout -k 5 "$limit" bash -c "$1" </dev/null 2>&1)
	child=$!
	while IFS= read -r -u "$fd" line; do
		printf '%s\n' "$line" >>"$2"
		if [ -z "$t1" ] && [[ $line == *"$marker"* ]]; then t1=$EPOCHREALTIME; fi
	done
	exec {fd}<&-
	wait "$child" || rc=$?
	child=
	[ "$rc" = 0 ] || echo "linux_boot: command exited with $rc (log $2)" >&2
	[ -n "$t1" ] && awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
	return 0
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; m = int((NR + 1) / 2); if (NR % 2) print v[m]; else printf "%.3f\n", (v[m] + v[m + 1]) / 2 }'; }

# measure NAME CMD: prints "NAME median_s first_user_insn total_insn" ("-" when unknown).
measure() {
	local name=$1 cmd=$2 i t times=() med first=- total=-
	for ((i = 1; i <= runs; i++)); do
		t=$(run_once "$cmd" "$work/$name-$i.log")
		[ -n "$t" ] || die "$name run $i did not reach /init within ${limit}s (log $work/$name-$i.log)"
		times+=("$t")
	done
	med=$(printf '%s\n' "${times[@]}" | median)
	echo "linux_boot: $name wall to /init: ${times[*]} s, median $med s" >&2
	if [ "$insn" = 1 ]; then
		QEMU_EXTRA="-icount shift=0,sleep=off -plugin $work/insn.so -d plugin -D $work/$name-insn.txt"
		t=$(run_once "$cmd" "$work/$name-icount.log")
		QEMU_EXTRA=
		[ -n "$t" ] || die "$name icount run did not reach /init (log $work/$name-icount.log)"
		first=$(sed -n 's/^linux_boot_insn: first_user_insn=//p' "$work/$name-insn.txt" 2>/dev/null || true)
		total=$(sed -n 's/^linux_boot_insn: total_insn=//p' "$work/$name-insn.txt" 2>/dev/null || true)
		echo "linux_boot: $name instructions to first user-space insn ${first:-?}, to power-off ${total:-?}" >&2
	fi
	echo "$name $med ${first:--} ${total:--}"
}

if [ "$insn" = 1 ]; then
	cc -std=gnu11 -shared -fPIC -O2 -Wall -Wextra -Werror -fvisibility=hidden \
		-o "$work/insn.so" "$top/bench/linux_boot_insn.c" || die "cannot build the instruction-count plugin"
fi

echo "linux_boot: kernel $(cat "$out/kernel-release"), $runs runs, -M $machine -cpu $cpu -smp 2 -m 512M" >&2
read -r _ d_med d_first d_total < <(measure direct "$direct_cmd")
printf '%-8s %12s %18s %18s\n' case wall_s insn_to_user insn_total
printf '%-8s %12s %18s %18s\n' direct "$d_med" "$d_first" "$d_total"
if [ -n "$hv_cmd" ]; then
	read -r _ h_med h_first h_total < <(measure hv "$hv_cmd")
	printf '%-8s %12s %18s %18s\n' hv "$h_med" "$h_first" "$h_total"
	ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b != "-") printf "%.2f", b / a; else printf "-" }'; }
	printf '%-8s %12s %18s %18s\n' hv/dir "$(ratio "$d_med" "$h_med")" \
		"$(ratio "$d_first" "$h_first")" "$(ratio "$d_total" "$h_total")"
fi

#!/usr/bin/env bash
# linux_boot_hv.sh - the "hv" case of bench/linux_boot.sh: Debian's kernel and
# the busybox initramfs ($LINUX_IMAGE, $LINUX_INITRD) as hv-core's built-in
# `linux` VM (2 vCPUs on physical CPUs 2-3, 256 MiB) under QEMU virt at EL2
# (-smp 4 -m 1G, no other VM). Copies hv-core's UART (hv-core's log and the
# guest's console lines) to stdout and ends QEMU once the guest prints
# "hv-linux-guest: init reached": its /init finds the cooperation page and
# would not power off by itself. $QEMU_EXTRA (unquoted) goes to QEMU, as
# linux_boot.sh expects. The kernel command line is the built-in VM's
# (console=ttyAMA0); $LINUX_APPEND is not used.
#
# usage: HV_BUILD_DIR=build bench/linux_boot.sh -n 5 --hv-cmd "bash bench/linux_boot_hv.sh"
#   HV_BUILD_DIR  build tree whose hv-core-out/ holds hvcore.bin (default build)
#   HV_CPU        QEMU CPU model (default cortex-a57, as linux_boot.sh's direct case)
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
core=${HV_BUILD_DIR:-$top/build}/hv-core-out
[ -f "$core/hvcore.bin" ] || { echo "linux_boot_hv: no $core/hvcore.bin (build hv-core)" >&2; exit 1; }
: "${LINUX_IMAGE:?linux_boot_hv: LINUX_IMAGE not set (run me through bench/linux_boot.sh)}"
[ -f "$LINUX_INITRD" ] || { echo "linux_boot_hv: no initramfs '$LINUX_INITRD'" >&2; exit 1; }
[ "$(dirname "$LINUX_IMAGE")" = "$(dirname "$LINUX_INITRD")" ] ||
	{ echo "linux_boot_hv: Image and initramfs must be in one directory" >&2; exit 1; }

d=$(mktemp -d "${TMPDIR:-/tmp}/hvboot.XXXXXX")
qp=
cleanup() {
	[ -n "$qp" ] && kill -TERM "$qp" 2>/dev/null && wait "$qp" 2>/dev/null
	rm -rf "$d"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

extra=()
for a in ${QEMU_EXTRA:-}; do extra+=(--qemu-arg "$a"); done
"$top/scripts/hv-qemu.sh" --dir "$d" --core "$core" --guest linux --linux "$(dirname "$LINUX_IMAGE")" \
	--cpu "${HV_CPU:-cortex-a57}" ${extra[@]+"${extra[@]}"} --foreground >/dev/null 2>&1 &
qp=$!
while [ ! -f "$d/serial.log" ]; do
	kill -0 "$qp" 2>/dev/null || { echo "linux_boot_hv: QEMU exited at start" >&2; exit 1; }
	sleep 0.05
done
while IFS= read -r l; do
	printf '%s\n' "$l"
	case $l in *"hv-linux-guest: init reached"*) break ;; esac
done < <(tail -n +1 -F --pid="$qp" "$d/serial.log" 2>/dev/null)
exit 0

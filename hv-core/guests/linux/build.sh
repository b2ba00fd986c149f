#!/usr/bin/env bash
# build.sh OUTDIR - builds the Linux guest artifacts from Debian's own arm64 packages:
#   OUTDIR/Image              the kernel as a raw arm64 Image (not compressed), so a
#                             hypervisor can load it as is (docs/linux-guest.md)
#   OUTDIR/initramfs.cpio.gz  newc cpio: busybox-static as /bin/busybox, the applet
#                             links /init uses, /init, /dev /proc /sys, /dev/console
#   OUTDIR/kernel-release     the kernel release string (e.g. 6.1.0-56-arm64)
# Packages come through scripts/fetch-arm64.sh into OUTDIR/arm64 (private apt state).
# Nothing is written to the source tree. Quick when the outputs are up to date.
set -euo pipefail

die() { echo "linux-guest build: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: build.sh OUTDIR"

here=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
top=$(cd "$here/../../.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
case "$out/" in "$here"/*) die "OUTDIR $out is inside the source tree";; esac

image=$out/Image
initrd=$out/initramfs.cpio.gz

# Up to date: both outputs exist and are newer than /init and this script.
if [ -s "$image" ] && [ -s "$initrd" ] &&
   [ "$initrd" -nt "$here/init" ] && [ "$initrd" -nt "$here/build.sh" ]; then
	exit 0
fi

for tool in cpio gzip dpkg apt-get; do
	command -v "$tool" >/dev/null || die "missing host tool '$tool' (scripts/setup-deps.sh installs it)"
done

"$top/scripts/fetch-arm64.sh" "$out/arm64" linux-image-arm64 busybox-static
root=$out/arm64/root

# Exactly one kernel is expected: fetch-arm64 unpacks the package linux-image-arm64
# currently depends on, but an older OUTDIR may still hold a previous one.
mapfile -t kernels < <(ls -t "$root"/boot/vmlinuz-* 2>/dev/null)
[ ${#kernels[@]} -ge 1 ] || die "no /boot/vmlinuz-* in $root (kernel package not unpacked?)"
vmlinuz=${kernels[0]}
release=${vmlinuz##*/vmlinuz-}

# Debian's arm64 vmlinuz has been shipped both as a gzip stream and as a plain Image
# (6.1.0-56: plain). Accept both, refuse anything else (e.g. an EFI zboot image).
magic=$(od -A n -t x1 -N 2 "$vmlinuz" | tr -d ' \n')
tmp=$image.tmp
case "$magic" in
	1f8b) gzip -dc "$vmlinuz" >"$tmp" ;;
	*)    cp "$vmlinuz" "$tmp" ;;
esac
# arm64 Image header: "ARMd" (0x644d5241 little-endian) at offset 0x38.
[ "$(od -A n -t x1 -j 56 -N 4 "$tmp" | tr -d ' \n')" = 41524d64 ] ||
	{ rm -f "$tmp"; die "$vmlinuz is not an arm64 Image (no ARMd magic at 0x38)"; }
mv "$tmp" "$image"
echo "$release" >"$out/kernel-release"

# The initramfs tree. Only the applets /init uses get links; busybox itself is static.
stage=$out/initramfs-root
rm -rf "$stage"
mkdir -p "$stage"/{bin,dev,proc,sys,tmp}
install -m 0755 "$root/bin/busybox" "$stage/bin/busybox"
applets="sh mount mkdir cat echo printf uname nproc od tr grep devmem sleep poweroff reboot sync dmesg ls insmod readlink basename ifconfig ping setsid cttyhack mke2fs dd"
for a in $applets; do ln -s busybox "$stage/bin/$a"; done
install -m 0755 "$here/init" "$stage/init"
# Debian's own VIRTIO drivers of the same kernel (docs/guest-abi.md GABI-480):
# the transport and the devices hv-core serves; /init loads them in this order.
mods=$root/lib/modules/$release/kernel
mkdir -p "$stage/lib/modules/$release"
for m in drivers/virtio/virtio_mmio.ko drivers/char/hw_random/virtio-rng.ko \
	drivers/char/virtio_console.ko net/core/failover.ko drivers/net/net_failover.ko \
	drivers/net/virtio_net.ko drivers/block/virtio_blk.ko lib/crc16.ko fs/mbcache.ko \
	fs/jbd2/jbd2.ko fs/ext4/ext4.ko crypto/crc32c_generic.ko; do
	[ -f "$mods/$m" ] || die "no $m in the kernel package of $release"
	install -m 0644 "$mods/$m" "$stage/lib/modules/$release/"
done

# The kernel opens /dev/console for init's stdio before /init can mount devtmpfs, so
# the node must be in the archive. Creating it needs root; fakeroot stands in for it.
pack() {
	cd "$1"
	mknod -m 600 dev/console c 5 1
	find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0 --reproducible | gzip -9n >"$2.tmp"
}
export -f pack
# shellcheck disable=SC2016 # $0 and $1 belong to the inner bash.
if [ "$(id -u)" = 0 ]; then
	bash -c 'set -euo pipefail; pack "$0" "$1"' "$stage" "$initrd"
elif command -v fakeroot >/dev/null; then
	fakeroot bash -c 'set -euo pipefail; pack "$0" "$1"' "$stage" "$initrd"
else
	die "creating /dev/console needs root or fakeroot (apt-get install fakeroot)"
fi
mv "$initrd.tmp" "$initrd"
echo "linux-guest: $image ($release), $initrd"

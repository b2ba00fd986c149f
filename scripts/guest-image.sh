#!/usr/bin/env bash
# guest-image.sh NAME --version V [--broken] -o OUT
#
# Writes a demo guest image that reports version V in its cooperation page's
# image_version (docs/guest-abi.md GABI-020), for trying an OTA update
# (docs/ota.md OTA-052). With --broken the image never confirms.
#
# NAME rtos-demo: OUT is a FILE, the built image (BUILD/hv-core-out/guests/
# NAME.bin, BUILD defaulting to ./build) with its identity block rewritten:
# the block begins with the marker "HVGUEST-IMAGEID\0" and holds the version
# (32 bytes, NUL-padded) and a flags word (bit 0: broken), see
# hv-core/guests/rtos/main.c. Broken: it reports V, beats its heartbeat for
# half a second, then stops it and sets health_code 0xB0.
#
# NAME linux: OUT is a DIR that receives Image (Debian's kernel of the
# linux-guest build, BUILD/linux-guest, unchanged) and initramfs.cpio.gz: the
# built initramfs followed by a second gzip'ed cpio archive (the kernel
# unpacks both) holding /etc/hv-image with the lines "version V" and
# "broken 0|1", which the guest's /init reports (docs/linux-guest.md).
# Broken: it reports V, beats twice, then stops and sets health_code 0xB0.
# A bundle of both: hvctl ota bundle ... linux=DIR/Image@V
# linux.initrd=DIR/initramfs.cpio.gz@V (docs/mgmt-abi.md MGMT-663).
#
# V follows docs/ota.md OTA-012 (1 to 4 dot-separated numbers, e.g. 2.0.0).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$root/build}

usage() {
  echo "usage: scripts/guest-image.sh NAME --version V [--broken] -o OUT" >&2
  echo "       NAME: rtos-demo (OUT: a file), linux (OUT: a directory)" >&2
  exit 2
}

name="" version="" broken=0 out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --version) [ $# -ge 2 ] || usage; version=$2; shift 2 ;;
    --version=*) version=${1#*=}; shift ;;
    --broken) broken=1; shift ;;
    -o|--out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
    --out=*) out=${1#*=}; shift ;;
    -h|--help) usage ;;
    -*) echo "guest-image.sh: unknown option '$1'" >&2; usage ;;
    *) [ -z "$name" ] || { echo "guest-image.sh: unexpected argument '$1'" >&2; usage; }
       name=$1; shift ;;
  esac
done
[ -n "$name" ] || { echo "guest-image.sh: NAME is required" >&2; usage; }
[ -n "$version" ] || { echo "guest-image.sh: --version V is required" >&2; usage; }
[ -n "$out" ] || { echo "guest-image.sh: -o OUT is required" >&2; usage; }
case "$name" in
  rtos-demo|linux) ;;
  *) echo "guest-image.sh: unknown guest '$name' (known: rtos-demo, linux)" >&2; exit 2 ;;
esac
if ! [[ "$version" =~ ^[0-9]{1,9}(\.[0-9]{1,9}){0,3}$ ]] || [ ${#version} -gt 31 ]; then
  echo "guest-image.sh: version '$version' is not 1 to 4 dot-separated numbers (e.g. 2.0.0)" >&2
  exit 2
fi
if [ "$name" = linux ]; then
  lg="$BUILD/linux-guest"
  for f in Image initramfs.cpio.gz; do
    [ -f "$lg/$f" ] || { echo "guest-image.sh: $lg/$f not found: build first (make build)" >&2; exit 1; }
  done
  command -v cpio >/dev/null || { echo "guest-image.sh: cpio is missing (scripts/setup-deps.sh installs it)" >&2; exit 1; }
  [ ! -e "$out" ] || [ -d "$out" ] || { echo "guest-image.sh: '$out' exists and is not a directory" >&2; exit 2; }
  mkdir -p "$out"
  out=$(cd "$out" && pwd)
  tmp=$(mktemp -d "$out/.guest-image.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/root/etc"
  printf 'version %s\nbroken %s\n' "$version" "$broken" >"$tmp/root/etc/hv-image"
  (cd "$tmp/root" && find etc | LC_ALL=C sort |
     cpio --quiet -o -H newc -R 0:0 --reproducible | gzip -9n >"$tmp/id.cpio.gz")
  cat "$lg/initramfs.cpio.gz" "$tmp/id.cpio.gz" >"$tmp/initramfs.cpio.gz"
  cp "$lg/Image" "$tmp/Image"
  mv "$tmp/Image" "$out/Image"
  mv "$tmp/initramfs.cpio.gz" "$out/initramfs.cpio.gz"
  rm -rf "$tmp"
  trap - EXIT
  echo "wrote $out/Image and $out/initramfs.cpio.gz: linux reporting version $version$([ $broken = 1 ] && echo ', broken: never confirms')"
  exit 0
fi
src="$BUILD/hv-core-out/guests/$name.bin"
[ -f "$src" ] || { echo "guest-image.sh: $src not found: build first (make build)" >&2; exit 1; }

tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT
python3 - "$src" "$tmp" "$version" "$broken" <<'PY'
import struct, sys
src, dst, version, broken = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
data = bytearray(open(src, "rb").read())
marker = b"HVGUEST-IMAGEID\0"
at = data.find(marker)
if at < 0 or data.find(marker, at + 1) >= 0:
    sys.exit(f"guest-image.sh: {src}: no single identity block (marker {marker!r})")
data[at + 16:at + 48] = version.encode().ljust(32, b"\0")
data[at + 48:at + 52] = struct.pack("<I", broken)
open(dst, "wb").write(data)
PY
mv "$tmp" "$out"
trap - EXIT
echo "wrote $out: $name reporting version $version$([ $broken = 1 ] && echo ', broken: never confirms')"

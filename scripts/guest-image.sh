#!/usr/bin/env bash
# guest-image.sh NAME --version V [--broken] -o FILE
#
# Writes a demo guest image that reports version V in its cooperation page's
# image_version (docs/guest-abi.md GABI-020), for trying an OTA update
# (docs/ota.md OTA-052). With --broken the image never confirms: it reports V,
# beats its heartbeat for half a second, then stops it and sets health_code
# 0xB0, so a trial boot of it fails.
#
# NAME: rtos-demo. The image is the built one (BUILD/hv-core-out/guests/
# NAME.bin, BUILD defaulting to ./build) with its identity block rewritten: the
# block begins with the marker "HVGUEST-IMAGEID\0" and holds the version (32
# bytes, NUL-padded) and a flags word (bit 0: broken), see
# hv-core/guests/rtos/main.c. V follows docs/ota.md OTA-012 (1 to 4
# dot-separated numbers, e.g. 2.0.0).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$root/build}

usage() {
  echo "usage: scripts/guest-image.sh NAME --version V [--broken] -o FILE" >&2
  echo "       NAME: rtos-demo" >&2
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
[ -n "$out" ] || { echo "guest-image.sh: -o FILE is required" >&2; usage; }
case "$name" in
  rtos-demo) ;;
  *) echo "guest-image.sh: unknown guest '$name' (known: rtos-demo)" >&2; exit 2 ;;
esac
if ! [[ "$version" =~ ^[0-9]{1,9}(\.[0-9]{1,9}){0,3}$ ]] || [ ${#version} -gt 31 ]; then
  echo "guest-image.sh: version '$version' is not 1 to 4 dot-separated numbers (e.g. 2.0.0)" >&2
  exit 2
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

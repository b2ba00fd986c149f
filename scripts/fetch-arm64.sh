#!/usr/bin/env bash
# fetch-arm64.sh OUTDIR PACKAGE...
# Downloads Debian arm64 .deb files into OUTDIR/debs with apt-get download, using
# a private apt state (architecture arm64, own lists and cache directories), and
# unpacks each into OUTDIR/root with dpkg -x. The host's apt state is never changed.
# A package named "linux-image-arm64" is resolved to the versioned kernel package
# it depends on. Prints nothing on success when everything is already present.
set -euo pipefail
out=$1; shift
mkdir -p "$out/lists/partial" "$out/cache/archives/partial" "$out/debs" "$out/root"
out=$(cd "$out" && pwd)
o=(-o APT::Architecture=arm64 -o APT::Architectures=arm64
   -o Dir::State::Lists="$out/lists" -o Dir::Cache="$out/cache"
   -o Dir::State::Status=/dev/null -o Debug::NoLocking=1 -o APT::Sandbox::User=root -q)

stamp="$out/.stamp-$(echo "$*" | tr ' /' '__')"
[ -f "$stamp" ] && exit 0

if ! ls "$out/lists/"*Packages* >/dev/null 2>&1; then
  apt-get "${o[@]}" update >/dev/null
fi

pkgs=()
for p in "$@"; do
  if [ "$p" = linux-image-arm64 ]; then
    p=$(apt-cache "${o[@]}" depends linux-image-arm64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
    [ -n "$p" ] || { echo "fetch-arm64: cannot resolve linux-image-arm64" >&2; exit 1; }
  fi
  pkgs+=("$p")
done

cd "$out/debs"
for p in "${pkgs[@]}"; do
  ls "${p}"_*_arm64.deb >/dev/null 2>&1 || ls "${p}"_*_all.deb >/dev/null 2>&1 || apt-get "${o[@]}" download "$p"
  for deb in "${p}"_*.deb; do dpkg -x "$deb" "$out/root"; done
done
touch "$stamp"

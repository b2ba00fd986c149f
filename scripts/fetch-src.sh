#!/usr/bin/env bash
# fetch-src.sh OUTDIR SOURCE-PACKAGE
# Downloads a Debian source package's upstream tarball with apt-get source
# --download-only, using a private apt state (its own sources list naming this
# system's Debian release, its own lists and cache), and unpacks it into
# OUTDIR/SOURCE-PACKAGE (the tarball's top directory stripped). The host's apt
# state is never changed. Prints nothing on success when it is already there.
set -euo pipefail
out=$1 pkg=$2
[ -f "$out/$pkg/.unpacked" ] && exit 0
mkdir -p "$out/lists/partial" "$out/cache/archives/partial" "$out/dl"
out=$(cd "$out" && pwd)
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
echo "deb-src http://deb.debian.org/debian $codename main" > "$out/sources.list"
o=(-o Dir::Etc::SourceList="$out/sources.list" -o Dir::Etc::SourceParts=/dev/null
   -o Dir::State::Lists="$out/lists" -o Dir::Cache="$out/cache"
   -o Debug::NoLocking=1 -o APT::Sandbox::User=root -q)
if ! ls "$out/lists/"*Sources* >/dev/null 2>&1; then
  apt-get "${o[@]}" update >/dev/null
fi
cd "$out/dl"
ls "${pkg}"_*.orig.tar.* >/dev/null 2>&1 || apt-get "${o[@]}" source --download-only "$pkg" >/dev/null
tarball=$(ls "${pkg}"_*.orig.tar.* | head -1)
rm -rf "$out/$pkg" && mkdir -p "$out/$pkg"
tar -xf "$tarball" -C "$out/$pkg" --strip-components=1
touch "$out/$pkg/.unpacked"

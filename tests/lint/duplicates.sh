#!/usr/bin/env bash
# duplicates.sh SOURCE_DIR BUILD_DIR - the copy-paste check of the product code:
# jscpd (from the npm registry, pinned, installed once into BUILD_DIR/tools and
# reused) over hv-core's core, arch, drivers and lib, hv-agent, the store and
# hvctl, C only. Fails, listing them, when any clone of 6 lines or more exists.
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: duplicates.sh SOURCE_DIR BUILD_DIR" >&2; exit 2; }
src=$1 build=$2
version=4.0.5
tools=$build/tools
jscpd=$tools/node_modules/.bin/jscpd

if [ ! -x "$jscpd" ] || [ "$("$jscpd" --version 2>/dev/null)" != "$version" ]; then
  command -v npm >/dev/null || { echo "duplicates: npm not found (nodejs, npm: scripts/setup-deps.sh)"; exit 1; }
  echo "duplicates: installing jscpd $version into $tools"
  mkdir -p "$tools"
  if ! npm install --prefix "$tools" --no-audit --no-fund --save-exact "jscpd@$version" > "$tools/npm.log" 2>&1; then
    cat "$tools/npm.log"
    echo "duplicates: FAILED: npm could not install jscpd $version (log above)"
    exit 1
  fi
fi

dirs=(hv-core/core hv-core/arch hv-core/drivers hv-core/lib agent store cli ota)
cd "$src" || exit 1
for d in "${dirs[@]}"; do
  [ -d "$d" ] || { echo "duplicates: FAILED: $src/$d does not exist"; exit 1; }
done
# exit status 3 means "clones found"; anything else non-zero is jscpd failing
NO_COLOR=1 FORCE_COLOR=0 "$jscpd" --min-lines 6 --format c --reporters console --exitCode 3 \
  --gitignore "${dirs[@]}"
rc=$?
case $rc in
  0) echo "duplicates: no clone of 6 lines or more in ${dirs[*]}"; exit 0 ;;
  3) echo "duplicates: FAILED: the clones listed above are copies of 6 lines or more; make each one function"; exit 1 ;;
  *) echo "duplicates: FAILED: jscpd exited $rc"; exit 1 ;;
esac

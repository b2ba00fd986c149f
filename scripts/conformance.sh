#!/usr/bin/env bash
# conformance.sh - run the management-interface conformance suite against hv-core:
# boot hv-core under QEMU (scripts/hv-qemu.sh) in a fresh temporary directory,
# run build/bin/hv-conformance against DIR/guest-ram, stop QEMU on every exit path.
#
#   scripts/conformance.sh [--build DIR] [--keep] [--trapped] [-- HV-CONFORMANCE-ARGS...]
#
# --build DIR   build tree holding bin/hv-conformance and hv-core-out/ (default: build,
#               or $BUILD)
# --keep        keep the temporary directory (serial.log, guest-ram) for inspection
# --trapped     also boot the management VM mgmt-relay and send the suite's commands
#               over hv-core's trapped register page through it (--transport trapped)
# Arguments after -- go to hv-conformance (default: --stress 200). Exit status is
# hv-conformance's: 0 all clauses pass, 1 a clause fails or is skipped, 2 no
# live region; 77 when the build tree has no hv-core image.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
keep=0
trapped=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=${2:?--build needs a directory}; shift 2 ;;
    --keep) keep=1; shift ;;
    --trapped) trapped=1; shift ;;
    --) shift; break ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "conformance.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || set -- --stress 200
[ -d "$build" ] || { echo "conformance.sh: build directory '$build' not found" >&2; exit 2; }
build=$(cd "$build" && pwd)

bin=$build/bin/hv-conformance
core=$build/hv-core-out
[ -x "$bin" ] || { echo "conformance.sh: $bin not found (build first)" >&2; exit 2; }
if [ ! -f "$core/hvcore.bin" ]; then
  echo "conformance.sh: no hv-core image in $core (configured with HV_BUILD_CORE=OFF?)" >&2
  exit 77
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/hv-conformance.XXXXXX")

stop_qemu() {
  local pid
  [ -f "$dir/qemu.pid" ] || return 0
  pid=$(cat "$dir/qemu.pid" 2>/dev/null) || return 0
  [ -n "$pid" ] || return 0
  # only the QEMU this run started: the pid file is ours, check the name as well
  if [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = qemu-system-aar ] ||
     [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = qemu-system-aarch64 ]; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$dir/qemu.pid"
}
cleanup() {
  stop_qemu
  if [ "$keep" = 1 ]; then echo "conformance.sh: kept $dir" >&2; else rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# rtos-demo runs and beats; bad-access faults on purpose, so the fault clauses
# (GABI-060, MGMT-160, MGMT-045 in CRASHED) have something to check; db-ring
# rings a doorbell it was not granted, for the rate limit of MGMT-051.
# With --trapped, mgmt-relay is the management VM the trapped transport goes through,
# on a fifth CPU of its own.
relay=() transport=()
if [ "$trapped" = 1 ]; then
  relay=(--smp 5 --guest mgmt-relay)
  transport=(--transport trapped)
fi
if ! "$root/scripts/hv-qemu.sh" --dir "$dir" --core "$core" --guest rtos-demo --guest bad-access \
     --guest db-ring "${relay[@]}"; then
  echo "conformance.sh: QEMU did not start" >&2
  exit 2
fi

"$bin" --ram-file "$dir/guest-ram" --examples "$root/docs/examples" "${transport[@]}" "$@"
rc=$?
if [ "$rc" != 0 ] && [ -f "$dir/serial.log" ]; then
  echo "--- last lines of hv-core's serial log ---" >&2
  tail -n 30 "$dir/serial.log" >&2
fi
exit "$rc"

#!/usr/bin/env bash
# criterion-run-test.sh WRAPPER MIXED SKIPPED - checks criterion-run.sh's
# verdicts: MIXED (one skipped and one failed test) must fail, SKIPPED (every
# test skipped) must be reported skipped (77); stand-in programs check that a
# sanitizer report fails a program whose summary says all passed, that a
# program with no summary fails, and that a pass beside a skip passes.
set -u
[ $# -eq 3 ] || { echo "usage: criterion-run-test.sh WRAPPER MIXED SKIPPED" >&2; exit 2; }
wrapper=$1 mixed=$2 skipped=$3
dir=$(mktemp -d "${TMPDIR:-/tmp}/criterion-run-test.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
bad=0

# stand_in NAME TEXT EXIT: a program that prints TEXT on stderr and exits EXIT
stand_in() {
  printf '#!/bin/sh\nprintf "%%s\\n" "%s" >&2\nexit %s\n' "$2" "$3" > "$dir/$1"
  chmod +x "$dir/$1"
}
pass_line='[====] Synthesis: Tested: 1 | Passing: 1 | Failing: 0 | Crashing: 0 '
stand_in leak "==1==ERROR: LeakSanitizer: detected memory leaks
$pass_line" 0
stand_in ubsan "x.c:3:5: runtime error: signed integer overflow
$pass_line" 0
stand_in nosummary "[RUN ] s::t" 0
stand_in pass_beside_skip "[SKIP] s::a: no image
[PASS] s::b: (0.00s)
$pass_line" 0
stand_in exit_nonzero "$pass_line" 1

expect() { # expect WANT PROGRAM
  local want=$1
  shift
  "$wrapper" "$@" > "$dir/out" 2>&1
  local got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL: criterion-run.sh $(basename "$1") exited $got, expected $want; its output:"
    sed 's/^/    /' "$dir/out"
    bad=1
  else
    echo "ok: $(basename "$1") -> $got ($(tail -n 1 "$dir/out"))"
  fi
}

expect 1 "$mixed" --jobs 1
expect 77 "$skipped" --jobs 1
expect 1 "$dir/leak"
expect 1 "$dir/ubsan"
expect 1 "$dir/nosummary"
expect 0 "$dir/pass_beside_skip"
expect 1 "$dir/exit_nonzero"
exit $bad

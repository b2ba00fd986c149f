#!/usr/bin/env bash
# criterion-run.sh PROGRAM [ARGS...] - runs one Criterion test program and turns
# its outcome into one ctest verdict, so that a skipped test never hides a
# failed one:
#   exit 1  any test failed or crashed, a sanitizer report appeared anywhere in
#           the output, the program exited non-zero, or it printed no summary;
#   exit 77 every test skipped and none failed (ctest's SKIP_RETURN_CODE);
#   exit 0  otherwise (the skipped tests, if any, are listed at the end).
# The program runs with --verbose=0 (what else it is given follows), the level
# at which Criterion prints a [SKIP] line per skipped test; its output is passed
# through unchanged.
set -u
[ $# -ge 1 ] || { echo "criterion-run: usage: criterion-run.sh PROGRAM [ARGS...]" >&2; exit 2; }
log=$(mktemp "${TMPDIR:-/tmp}/criterion-run.XXXXXX") || exit 1
trap 'rm -f "$log"' EXIT

prog=$1
shift
"$prog" --verbose=0 "$@" > >(tee -a "$log") 2> >(tee -a "$log" >&2)
rc=$?
wait # for the tee processes, so the log is complete

verdict() { echo "criterion-run: $1: $2" >&2; }
name=$(basename "$prog")
if grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log"; then
  verdict "$name" "FAILED: a sanitizer report (see above)"
  exit 1
fi
summary=$(grep -E 'Synthesis: Tested: [0-9]+ \| Passing: [0-9]+ \| Failing: [0-9]+ \| Crashing: [0-9]+' "$log" | tail -n 1)
if [ -z "$summary" ]; then
  verdict "$name" "FAILED: no Criterion summary line (exit status $rc)"
  exit 1
fi
read -r tested passing failing crashing < <(echo "$summary" |
  sed -E 's/.*Tested: ([0-9]+) \| Passing: ([0-9]+) \| Failing: ([0-9]+) \| Crashing: ([0-9]+).*/\1 \2 \3 \4/')
skipped=$(grep -c '^\[SKIP\]' "$log")
if [ "$failing" -ne 0 ] || [ "$crashing" -ne 0 ]; then
  verdict "$name" "FAILED: $failing failed, $crashing crashed, $passing passed, $skipped skipped"
  exit 1
fi
if [ "$rc" -ne 0 ]; then
  verdict "$name" "FAILED: exit status $rc with no failed test in the summary"
  exit 1
fi
if [ "$tested" -eq 0 ]; then
  if [ "$skipped" -gt 0 ]; then
    verdict "$name" "SKIPPED: all $skipped tests skipped"
    exit 77
  fi
  verdict "$name" "FAILED: no test ran"
  exit 1
fi
if [ "$skipped" -gt 0 ]; then
  verdict "$name" "passed: $passing passed, $skipped skipped:"
  grep '^\[SKIP\]' "$log" >&2
fi
exit 0

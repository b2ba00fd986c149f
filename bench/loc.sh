#!/usr/bin/env bash
# loc.sh - lines of code of hv-core, the hypervisor alone: its .c, .h and .S
# files under hv-core/ without the test guests (hv-core/guests/), counted
# without blank lines and without comment-only lines (C block and line
# comments; a line with code and a comment counts). For the comparison with
# other static partitioning hypervisors in docs/performance.md ("Hypervisor").
#
# usage: bench/loc.sh [--by-dir]
#   --by-dir  also print the count per top-level directory (arch, core, ...)
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
by_dir=0
case ${1:-} in
	--by-dir) by_dir=1 ;;
	"") ;;
	-h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "loc.sh: unknown argument '$1'" >&2; exit 2 ;;
esac

# code lines of one file: block comments removed across lines, // comments cut
count() {
	awk '
	{
		line = $0; out = ""
		while (length(line) > 0) {
			if (inc) {
				e = index(line, "*/")
				if (e == 0) { line = ""; break }
				line = substr(line, e + 2); inc = 0
			} else {
				b = index(line, "/*"); l = index(line, "//")
				if (l > 0 && (b == 0 || l < b)) { out = out substr(line, 1, l - 1); line = ""; break }
				if (b == 0) { out = out line; line = ""; break }
				out = out substr(line, 1, b - 1); line = substr(line, b + 2); inc = 1
			}
		}
		if (out ~ /[^ \t]/) n++
	}
	END { print n + 0 }' "$1"
}

mapfile -t files < <(cd "$top" && find hv-core -path hv-core/guests -prune -o -type f \
	\( -name '*.c' -o -name '*.h' -o -name '*.S' \) -print | sort)
[ ${#files[@]} -gt 0 ] || { echo "loc.sh: no hv-core sources under $top/hv-core" >&2; exit 1; }

total=0 physical=0
declare -A per_dir
for f in "${files[@]}"; do
	n=$(count "$top/$f")
	total=$((total + n))
	physical=$((physical + $(wc -l < "$top/$f")))
	d=$(echo "$f" | cut -d/ -f2)
	per_dir[$d]=$(( ${per_dir[$d]:-0} + n ))
done
if [ "$by_dir" = 1 ]; then
	for d in $(printf '%s\n' "${!per_dir[@]}" | sort); do
		printf '%-10s %6d\n' "$d" "${per_dir[$d]}"
	done
fi
printf 'hv-core: %d files, %d lines of code (%d lines with blanks and comments)\n' \
	"${#files[@]}" "$total" "$physical"

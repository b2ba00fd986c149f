#!/usr/bin/env bash
# hvcore_layers.sh SRC - checks that the folders of hv-core/core include one
# another only downwards, in the order of the "# layers:" line at the top of
# SRC/hv-core/CMakeLists.txt: a file may include the headers of its own folder
# and of the folders after its own, never of one before it. "core" stands for
# the files directly in hv-core/core (main.c). Headers outside hv-core/core
# (include/, arch/, drivers/, lib/) are not part of the order.
# Prints every include against the order and exits 1 when there is one.
set -uo pipefail
src=${1:?usage: hvcore_layers.sh <source dir>}
core=$src/hv-core/core
order=$(sed -n 's/^#[[:space:]]*layers:[[:space:]]*//p' "$src/hv-core/CMakeLists.txt")
if [ -z "$order" ]; then
	echo "hv-core/CMakeLists.txt has no '# layers:' line"
	exit 1
fi

declare -A rank home
fail=0
i=0
for layer in $order; do
	rank[$layer]=$i
	i=$((i + 1))
done

folder_of() { # path below $core -> its layer name
	local rel=${1#"$core"/}
	if [ "${rel%/*}" = "$rel" ]; then echo core; else echo "${rel%%/*}"; fi
}

for d in "$core"/*/; do
	name=$(basename "$d")
	if [ -z "${rank[$name]+x}" ]; then
		echo "hv-core/core/$name/ is not in the layer order"
		fail=1
	fi
done
while read -r h; do
	name=$(basename "$h")
	dir=$(folder_of "$h")
	if [ -n "${home[$name]+x}" ] && [ "${home[$name]}" != "$dir" ]; then
		echo "header $name is in both core/${home[$name]} and core/$dir"
		fail=1
	fi
	home[$name]=$dir
done < <(find "$core" -name '*.h' | sort)

while read -r f; do
	dir=$(folder_of "$f")
	while IFS=: read -r line text; do
		inc=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' <<<"$text")
		[ -n "$inc" ] || continue
		if [ "${inc#*/}" != "$inc" ]; then
			echo "${f#"$src"/}:$line: includes \"$inc\" by path; name the header alone"
			fail=1
			continue
		fi
		target=${home[$inc]:-}
		[ -n "$target" ] || continue # not a header of hv-core/core
		if [ -z "${rank[$dir]+x}" ] || [ "${rank[$target]}" -lt "${rank[$dir]}" ]; then
			echo "${f#"$src"/}:$line: core/$dir includes $inc of core/$target, which comes before it in the layers: $order"
			fail=1
		fi
	done < <(grep -n '^[[:space:]]*#[[:space:]]*include' "$f")
done < <(find "$core" -name '*.[chS]' | sort)

if [ "$fail" -eq 0 ]; then
	echo "hv-core/core follows its layers: $order"
fi
exit "$fail"

#!/bin/sh
# agent_layers.sh - hv-agent's modules include only their own headers and
# those of lower layers (the layering written at the top of
# agent/CMakeLists.txt). Prints every include that goes sideways or upward,
# and every directory of agent/ that has no layer yet; exits 1 if any.
#
# usage: agent_layers.sh [REPO_ROOT]      (default: two levels above this script)
set -eu

root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
agent=$root/agent
[ -d "$agent" ] || { echo "agent_layers: no agent/ under $root" >&2; exit 2; }

# The layer of a directory of agent/ ("." is agent/ itself: main.c).
layer_of() {
	case $1 in
	common) echo 0 ;;
	hvlink | rpc | auth | telemetry | blkback) echo 1 ;;
	outcome | storeglue | pki | fleet) echo 2 ;;
	events | reconcile) echo 3 ;;
	service) echo 4 ;;
	.) echo 5 ;;
	*) echo none ;;
	esac
}

bad=0
for dir in "$agent"/*/; do
	d=$(basename "$dir")
	if [ "$(layer_of "$d")" = none ]; then
		echo "agent/$d/ has no layer: add it to layer_of in tests/lint/agent_layers.sh and to agent/CMakeLists.txt"
		bad=1
	fi
done

# Every header of agent/ and the directory that owns it ("name dir" lines).
owners=$(cd "$agent" && find . -name '*.h' | sed 's|^\./||' | awk -F/ '{ d = NF > 1 ? $1 : "."; print $NF, d }')

for f in $(cd "$agent" && find . -name '*.[ch]' | sed 's|^\./||' | sort); do
	case $f in
	*/*) src=${f%%/*} ;;
	*) src=. ;;
	esac
	srank=$(layer_of "$src")
	[ "$srank" = none ] && continue
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$agent/$f"); do
		base=${inc##*/}
		dirs=$(printf '%s\n' "$owners" | awk -v h="$base" '$1 == h { print $2 }')
		[ -n "$dirs" ] || continue # not an agent header (store/, hv-core/include, proto)
		n=$(printf '%s\n' "$dirs" | wc -l)
		if [ "$n" -gt 1 ]; then
			echo "agent/$f includes \"$inc\", which more than one module has: $(echo $dirs)"
			bad=1
			continue
		fi
		[ "$dirs" = "$src" ] && continue
		drank=$(layer_of "$dirs")
		if [ "$drank" = none ] || [ "$drank" -ge "$srank" ]; then
			echo "agent/$f (layer $srank, $src) includes \"$inc\" of $dirs (layer $drank): only lower layers may be included"
			bad=1
		fi
	done
done
[ $bad -eq 0 ] && echo "agent_layers: every include of agent/ goes to a lower layer"
exit $bad

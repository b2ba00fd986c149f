#!/usr/bin/env bash
# format.sh SOURCE_DIR - every tracked C source and header of the product
# (hv-core, agent, store, cli, bench, ota) and of the tests is formatted as the
# repository's .clang-format says: clang-format --dry-run --Werror, which
# names each file and line that differs.
set -uo pipefail
[ $# -eq 1 ] || { echo "usage: format.sh SOURCE_DIR" >&2; exit 2; }
src=$1
cd "$src" || exit 1
if [ ! -f .clang-format ]; then
  echo "format: FAILED: $src/.clang-format does not exist; the format check needs the repository's style file"
  exit 1
fi
command -v clang-format >/dev/null || { echo "format: FAILED: clang-format not found (scripts/setup-deps.sh)"; exit 1; }
if ! files=$(git ls-files -- 'hv-core/*.[ch]' 'agent/*.[ch]' 'store/*.[ch]' 'cli/*.[ch]' 'bench/*.[ch]' 'ota/*.[ch]' \
                                'tests/*.[ch]'); then
  echo "format: FAILED: $src is not a git work tree; the check reads the tracked files"
  exit 1
fi
[ -n "$files" ] || { echo "format: FAILED: no tracked C files found in $src"; exit 1; }
n=$(echo "$files" | wc -l)
if echo "$files" | xargs clang-format --dry-run --Werror; then
  echo "format: $n files formatted as .clang-format says"
  exit 0
fi
echo "format: FAILED: the files above differ from .clang-format (clang-format -i FILE fixes one)"
exit 1

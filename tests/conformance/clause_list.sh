#!/usr/bin/env bash
# clause_list.sh - checks that the conformance suite's clause list
# (tests/conformance/coverage.c) names exactly the clauses the documents
# define: every clause of docs/mgmt-abi.md, written either as a bare bold id
# (**MGMT-nnn**) or as a bold id with its title (**MGMT-nnn Title.**), and
# every GABI-nnn of docs/guest-abi.md (section headings, bold clause ids and
# the hypercall table's clause column). A clause added to a document without
# a check or an N/A reason in the suite fails this test.
#
#   tests/conformance/clause_list.sh [SOURCE-DIR]
set -euo pipefail
src=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
docs=$( { grep -oE '\*\*MGMT-[0-9]{3}(\*\*| [^*]+\*\*)' "$src/docs/mgmt-abi.md"
          grep -oE '^## GABI-[0-9]{3}|\*\*GABI-[0-9]{3}\*\*|\| GABI-[0-9]{3} +\|' "$src/docs/guest-abi.md"
        } | grep -oE '(MGMT|GABI)-[0-9]{3}' | sort -u)
suite=$(grep -oE '^\s*\{ "(MGMT|GABI)-[0-9]{3}"' "$src/tests/conformance/coverage.c" |
        grep -oE '(MGMT|GABI)-[0-9]{3}' | sort -u)
missing=$(comm -23 <(echo "$docs") <(echo "$suite"))
extra=$(comm -13 <(echo "$docs") <(echo "$suite"))
if [ -n "$missing" ] || [ -n "$extra" ]; then
  [ -z "$missing" ] || echo "clause_list: in the documents, not in coverage.c:" $missing >&2
  [ -z "$extra" ] || echo "clause_list: in coverage.c, not in the documents:" $extra >&2
  exit 1
fi
echo "clause_list: $(echo "$docs" | wc -l) clauses, all accounted for"

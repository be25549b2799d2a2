#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SQUIB_NODISCARD (include/squib/export.h), as a consumer meets it:
#
#   tests/consumers/nodiscard/check.sh INCLUDEDIR
#
# For each compiler and language mode the header supports, status.c is
# compiled twice against INCLUDEDIR: with the status cast to (void), which
# must build without a single warning under -Wall -Wextra -Wpedantic
# -Werror, and with the status forgotten, which must warn exactly where the
# header promises it (and build quietly where it promises nothing, so that
# a change either way is noticed). A compiler or mode this machine lacks is
# skipped by name.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 INCLUDEDIR" >&2; exit 2; }
inc=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# compiler | language flags | does forgetting warn?
matrix=(
	"gcc|-x c -std=c11|no"
	"gcc|-x c -std=c2x|yes"
	"clang|-x c -std=c11|yes"
	"clang|-x c -std=c2x|yes"
	"g++|-x c++ -std=c++11|no"
	"g++|-x c++ -std=c++17|yes"
	"clang++|-x c++ -std=c++11|yes"
	"clang++|-x c++ -std=c++17|yes"
)
for row in "${matrix[@]}"; do
	IFS='|' read -r cc lang warns <<<"$row"
	read -ra flags <<<"$lang"
	name="$cc ${flags[*]:1}"
	if ! command -v "$cc" >/dev/null; then
		echo "SKIP $name: no $cc on this machine"
		continue
	fi
	if ! echo 'int x;' | "$cc" "${flags[@]}" -fsyntax-only - 2>/dev/null; then
		echo "SKIP $name: $cc has no such mode"
		continue
	fi
	strict=(-Wall -Wextra -Wpedantic -Werror -I "$inc" -c -o "$work/out.o")
	if ! "$cc" "${flags[@]}" "${strict[@]}" -DDISCARD "$here/status.c" >"$work/discard.log" 2>&1; then
		echo "FAIL $name: a (void) cast does not silence it:"
		sed 's/^/    /' "$work/discard.log"
		failures=$((failures + 1))
		continue
	fi
	"$cc" "${flags[@]}" -Wall -I "$inc" -c -o "$work/out.o" "$here/status.c" >"$work/forget.log" 2>&1 ||
		{ echo "FAIL $name: status.c does not build"; cat "$work/forget.log"; failures=$((failures + 1)); continue; }
	if grep -q 'unused-result' "$work/forget.log"; then got=yes; else got=no; fi
	if [ "$got" = "$warns" ]; then
		echo "ok   $name: (void) quiet, a forgotten status $([ "$warns" = yes ] && echo warns || echo "is not flagged (no attribute (void) could silence)")"
	else
		echo "FAIL $name: a forgotten status warns: $got, want $warns"
		sed 's/^/    /' "$work/forget.log"
		failures=$((failures + 1))
	fi
done
[ "$failures" -eq 0 ]

#!/usr/bin/env bash
# Self-test of the HTML reference's gate (docs/Doxyfile.in):
#
#   tests/docs/check-docs-html.sh SRC WORK
#
# Copies what a configure of SRC reads (CMakeLists.txt, cmake/, include/,
# lib/, docs/Doxyfile.in, scripts/gen-man.pl, squib-core.pc.in) into WORK
# (emptied), configures it with the tests, tools, bench and examples off,
# and builds the target docs-html twice: as copied it must pass; with the
# doc comment of squib_mem_read removed from include/squib/access.h it must
# fail, doxygen naming access.h and squib_mem_read as not documented.
# Cost: a configure and two doxygen runs, about 5 s.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 SRC WORK" >&2; exit 2; }
src=$1
work=$2
tree="$work/src"
build="$work/build"
fail() {
	echo "check-docs-html: $*" >&2
	exit 1
}
rm -rf "$work"
mkdir -p "$tree/docs" "$tree/scripts"
cp -R "$src/CMakeLists.txt" "$src/cmake" "$src/include" "$src/lib" "$src/squib-core.pc.in" "$tree/"
cp "$src/docs/Doxyfile.in" "$tree/docs/"
cp "$src/scripts/gen-man.pl" "$tree/scripts/"

cmake -S "$tree" -B "$build" -DBUILD_TESTING=OFF -DSQUIB_BUILD_TOOLS=OFF \
	-DSQUIB_BUILD_BENCH=OFF -DSQUIB_BUILD_EXAMPLES=OFF >"$work/configure.log" 2>&1 ||
	{ cat "$work/configure.log" >&2; fail "the copy does not configure"; }
cmake --build "$build" --target docs-html >"$work/pass.log" 2>&1 ||
	{ cat "$work/pass.log" >&2; fail "docs-html fails on the unmodified copy"; }
[ -f "$build/docs/html/index.html" ] || fail "docs-html passed but wrote no html/index.html"
echo "check-docs-html: docs-html passes on a copy of the headers"

perl -0777 -pi -e 's{/\*\*(?:(?!\*/).)*\*/\n(?=(?:SQUIB_\w+ )*\w+ \*?squib_mem_read\()}{}s or die' \
	"$tree/include/squib/access.h"
if cmake --build "$build" --target docs-html >"$work/fail.log" 2>&1; then
	cat "$work/fail.log" >&2
	fail "docs-html passed with squib_mem_read undocumented"
fi
grep -q 'access\.h:[0-9]*: .*squib_mem_read.* is not documented' "$work/fail.log" ||
	{ cat "$work/fail.log" >&2; fail "docs-html failed, but not naming access.h and squib_mem_read"; }
echo "check-docs-html: with one doc comment removed docs-html fails: $(grep -m1 'is not documented' "$work/fail.log")"

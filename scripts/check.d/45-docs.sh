#!/usr/bin/env bash
# The API documentation, generated from the header doc comments
# (docs/MANPAGES.md), as installed and as built:
#   - the release build (as stage 40 configures it, so after stage 10 or 40
#     only the pages are new) installed into a scratch prefix carries one
#     man3 page per name of lib/libsquibcore.map plus libsquibcore(3), each
#     found by `man -w` on that prefix alone, parsed by lexgrog, clean under
#     `mandoc -T lint -W warning` and `groff -man -ww` (tests/docs/check-man.sh);
#   - the HTML reference (target docs-html, doxygen) builds with no warning;
#   - the gates work: scripts/gen-man.pl fails naming file:line for a doc
#     comment removed, a map name no header declares and a SQUIB_API
#     function the map lacks, and squib_mem_read(3) holds its prototype and
#     @return text (tests/docs/check-gen-man.sh); docs-html fails on a copy
#     of the tree with one doc comment removed (tests/docs/check-docs-html.sh).
#
# Cost: about 5 s on 2 cores after stage 10 or 40 (the library is built
# already), about 12 s alone with JOBS=1, most of it compiling the library.
set -euo pipefail
dir="$SQUIB_CHECK_DIR/release"
work="$SQUIB_CHECK_DIR/docs"
prefix="$work/prefix"

cmake -S "$SQUIB_SRC" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSQUIB_WERROR=ON >/dev/null
grep -q '^SQUIB_BUILD_MANPAGES:BOOL=ON' "$dir/CMakeCache.txt" ||
	{ echo "45-docs: SQUIB_BUILD_MANPAGES is off in $dir (is perl installed?)" >&2; exit 1; }
# What `cmake --install` installs must exist: the same targets as stage 40,
# and the pages (part of ALL, not of the library, so named here).
targets=(squibcore squib-manpages)
grep -q '^SQUIB_BUILD_STATIC:BOOL=ON' "$dir/CMakeCache.txt" && targets+=(squibcore_static)
grep -q '^SQUIB_BUILD_TOOLS:BOOL=ON' "$dir/CMakeCache.txt" && targets+=(squib-mem)
cmake --build "$dir" -j "$JOBS" --target "${targets[@]}"
rm -rf "$work"
mkdir -p "$work"
cmake --install "$dir" --prefix "$prefix" >"$work/install.log"

echo "--- man3 pages, installed"
"$SQUIB_SRC/tests/docs/check-man.sh" "$prefix" "$SQUIB_SRC/lib/libsquibcore.map"

echo "--- HTML reference (doxygen $(doxygen --version))"
cmake --build "$dir" --target docs-html
[ -f "$dir/docs/html/index.html" ] || { echo "45-docs: docs-html wrote no html/index.html" >&2; exit 1; }
echo "45-docs: $dir/docs/html/index.html, no doxygen warning"

echo "--- the generator's gates"
"$SQUIB_SRC/tests/docs/check-gen-man.sh" "$SQUIB_SRC" "$dir/include/squib/version.h" "$work/gen-man"
echo "--- the reference's gate"
"$SQUIB_SRC/tests/docs/check-docs-html.sh" "$SQUIB_SRC" "$work/docs-html"

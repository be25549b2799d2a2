#!/usr/bin/env bash
# The consumers, against an INSTALLED tree: the release build (as stage 10
# configures it, so after stage 10 nothing is rebuilt) installed into a
# scratch prefix, then tests/consumers/run.sh: pkg-config (shared and
# static), the CMake package and its version rule, C++11, and the dlopen
# plugins natively and under valgrind. Also checks that the macOS exported
# symbols list generated from lib/libsquibcore.map names exactly what the
# Linux library exports.
#
# Cost: about 40 s on 2 cores (library build included), 20-30 s of it the
# two valgrind runs. They use valgrind's fair scheduler: without it the
# hosts' spinning workers starved the main thread, and the same runs took
# from 30 s to 7 minutes. Their work is bounded by SQUIB_VG_ROUNDS (default
# 100 plugin rounds) and SQUIB_VG_CYCLES (default 10 library load/unload
# cycles), their time by SQUIB_VG_TIMEOUT (default 300 s each, then the run
# is killed and the stage fails naming it).
set -euo pipefail
dir="$SQUIB_CHECK_DIR/release"
prefix="$SQUIB_CHECK_DIR/consumers/prefix"
work="$SQUIB_CHECK_DIR/consumers/work"

cmake -S "$SQUIB_SRC" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSQUIB_WERROR=ON >/dev/null
targets=(squibcore)
grep -q '^SQUIB_BUILD_STATIC:BOOL=ON' "$dir/CMakeCache.txt" && targets+=(squibcore_static)
grep -q '^SQUIB_BUILD_TOOLS:BOOL=ON' "$dir/CMakeCache.txt" && targets+=(squib-mem)
grep -q '^SQUIB_BUILD_MANPAGES:BOOL=ON' "$dir/CMakeCache.txt" && targets+=(squib-manpages)
cmake --build "$dir" -j "$JOBS" --target "${targets[@]}"
rm -rf "$prefix"
cmake --install "$dir" --prefix "$prefix" >/dev/null

version=$(sed -n 's/^[[:space:]]*VERSION[[:space:]]\+\([0-9.]\+\)$/\1/p' "$SQUIB_SRC/CMakeLists.txt" | head -n1)
[ -n "$version" ] || { echo "40-consumers: no project VERSION in CMakeLists.txt" >&2; exit 1; }

# The tools: in bin/ with their man pages, running against the installed
# library (their RPATH), not the build tree's.
if [ -e "$prefix/bin/squib-mem" ]; then
	tool_version=$("$prefix/bin/squib-mem" --version) ||
		{ echo "40-consumers: the installed squib-mem --version failed" >&2; exit 1; }
	[ "$(sed -n 2p <<<"$tool_version")" = "libsquibcore $version (built against $version)" ] ||
		{ echo "40-consumers: squib-mem --version says '$tool_version'" >&2; exit 1; }
	tool_libs=$(ldd "$prefix/bin/squib-mem")
	grep -q "libsquibcore.so.0 => $prefix/" <<<"$tool_libs" ||
		{ echo "40-consumers: squib-mem does not run with $prefix's library" >&2; exit 1; }
	[ -f "$prefix/share/man/man1/squib-mem.1" ] ||
		{ echo "40-consumers: no share/man/man1/squib-mem.1" >&2; exit 1; }
	echo "40-consumers: bin/squib-mem and its man page installed, running with $prefix's library"
fi

so=$(find "$prefix" -name libsquibcore.so.0 | head -n1)
# One source for both platforms: the Mach-O list (leading underscores) is
# the Linux library's dynamic exports, name for name.
cmake -DMAP="$SQUIB_SRC/lib/libsquibcore.map" -DOUT="$SQUIB_CHECK_DIR/consumers/exported" \
	-P "$SQUIB_SRC/cmake/SquibExportList.cmake"
if ! diff <(sed 's/^_//' "$SQUIB_CHECK_DIR/consumers/exported" | sort) \
	<(nm -D --defined-only "$so" | awk '{ print $3 }' |
		sed -n 's/@.*//; /^squib_/p' | sort); then
	echo "40-consumers: the macOS exported symbols list differs from the ELF exports" >&2
	exit 1
fi

"$SQUIB_SRC/tests/consumers/run.sh" "$prefix" "$work" "$version"

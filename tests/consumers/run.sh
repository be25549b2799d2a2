#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Proves every way of consuming libsquibcore against an INSTALLED tree:
#
#   1. pkg-config: a C program built with only `pkg-config --cflags --libs`
#      (C99 and C11), and fully static with `pkg-config --static`, also one
#      that defines its own functions named like the library's internals;
#      libdir, includedir and the version of the .pc file.
#   2. CMake: find_package(squib-core 0.2 CONFIG) from a separate project
#      (squib::core and squib::core_static); 0.1 and 0.2 are accepted, the
#      next minor and 1.0 refused.
#   3. C++11: the headers from g++ and clang++, -Wpedantic -Werror; and
#      SQUIB_NODISCARD in each compiler and language mode (nodiscard/):
#      a (void) cast is quiet everywhere, a forgotten status warns where
#      the header promises it.
#   4. dlopen: two backend plugins that dlopen libsquibcore.so.0 and bind
#      each function with dlvsym() at its version node of
#      lib/libsquibcore.map (SQUIB_CORE_0.2, ...), loaded and unloaded by a host
#      that links the library and by one that dlopens it itself (so it
#      really unloads); both natively and under valgrind.
#
#   tests/consumers/run.sh PREFIX WORKDIR [VERSION]
#
# PREFIX is where `cmake --install` put the library, or /usr for a system
# install (stage 47: the Debian packages, with SQUIB_VALGRIND=0); WORKDIR
# receives the builds (emptied first); VERSION (default 0.3.0) is the
# version expected.
# Environment: CC, CXX (default cc, c++), SQUIB_VALGRIND=0 skips valgrind,
# SQUIB_VG_ROUNDS (100) and SQUIB_VG_CYCLES (10) bound the valgrind runs'
# work, SQUIB_VG_TIMEOUT (300 seconds) each one's time: a run still going
# then is killed and fails, naming itself.
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 PREFIX WORKDIR [VERSION]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
prefix=$(realpath "$1")
work=$(realpath -m "$2")
version=${3:-0.3.0}
CC=${CC:-cc}
CXX=${CXX:-c++}
vg_rounds=${SQUIB_VG_ROUNDS:-100}
vg_cycles=${SQUIB_VG_CYCLES:-10}
vg_timeout=${SQUIB_VG_TIMEOUT:-300}

# pkg-config output is split on blanks; squib-core.pc does not escape them.
case "$prefix$work" in *[[:space:]]*)
	echo "consumers: '$prefix' or '$work' contains a blank" >&2; exit 2 ;;
esac

rm -rf "$work"
mkdir -p "$work"
start=$SECONDS
step() { printf -- '--> [%3ds] %s\n' $((SECONDS - start)) "$*"; }
die() { echo "consumers: FAILED: $*" >&2; exit 1; }
# Runs a consumer and checks it printed "squib-core VERSION".
expect_version_output() {
	local out
	out=$("$@") || die "$* exited with $?"
	[ "$out" = "squib-core $version" ] || die "$* printed '$out', want 'squib-core $version'"
}

cflags_strict=(-O2 -g -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
	-Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Werror)

# --- 1. pkg-config ------------------------------------------------------
step "pkg-config: squib-core.pc of $prefix"
pc=$(find "$prefix" -path '*/pkgconfig/squib-core.pc' | head -n1)
[ -n "$pc" ] || die "no lib*/pkgconfig/squib-core.pc under $prefix"
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
libdir_expected=$(dirname "$(dirname "$pc")")
pcv() { pkg-config "$@" squib-core; }

[ "$(pcv --modversion)" = "$version" ] || die "modversion $(pcv --modversion), want $version"
pcv --exists "squib-core >= ${version%.*}" || die "pkg-config version comparison"
pcv --validate >/dev/null 2>&1 || pcv --print-errors --validate || die "squib-core.pc is invalid"
libdir=$(pcv --variable=libdir)
includedir=$(pcv --variable=includedir)
[ "$(pcv --variable=prefix)" = "$prefix" ] || die "prefix=$(pcv --variable=prefix), want $prefix"
[ "$libdir" = "$libdir_expected" ] || die "libdir=$libdir, want $libdir_expected"
[ "$includedir" = "$prefix/include" ] || die "includedir=$includedir, want $prefix/include"
[ -f "$includedir/squib/core.h" ] || die "no squib/core.h in includedir $includedir"
[ -e "$libdir/libsquibcore.so.0" ] || die "no libsquibcore.so.0 in libdir $libdir"
[ -f "$libdir/libsquibcore.a" ] || die "no libsquibcore.a in libdir $libdir"
echo "    libdir=$libdir includedir=$includedir"
echo "    --libs: $(pcv --libs)   --static --libs: $(pcv --static --libs)"

# Whether the path ldd printed is libdir's libsquibcore.so.0, compared as
# files: on a merged-/usr system (PREFIX /usr) the loader names the copy in
# /usr/lib/ARCH by its /lib/ARCH path, the first its cache lists.
is_installed_lib() {
	[ -n "$1" ] && [ "$(realpath -e "$1")" = "$(realpath -e "$libdir/libsquibcore.so.0")" ]
}

read -ra pc_shared <<<"$(pcv --cflags --libs)"
read -ra pc_static <<<"$(pcv --static --cflags --libs)"

for std in c99 c11; do
	step "pkg-config: C program, -std=$std, shared"
	"$CC" -std=$std "${cflags_strict[@]}" -o "$work/pc-$std" "$here/pkgconfig/main.c" \
		"${pc_shared[@]}"
	# The installed library, not the build tree's nor a system copy.
	resolved=$(LD_LIBRARY_PATH="$libdir" ldd "$work/pc-$std" | awk '$1 == "libsquibcore.so.0" { print $3 }')
	is_installed_lib "$resolved" || die "pc-$std resolves libsquibcore.so.0 to '$resolved'"
	LD_LIBRARY_PATH="$libdir" expect_version_output "$work/pc-$std"
done

# Only what pkg-config says, plus -static so that nothing but libsquibcore.a
# can satisfy -lsquibcore: the link fails if Libs.private misses a library.
step "pkg-config: C program, static (--static, Libs.private)"
"$CC" -static -std=c11 "${cflags_strict[@]}" -o "$work/pc-static" "$here/pkgconfig/main.c" \
	"${pc_static[@]}"
# grep >/dev/null, never grep -q, after a pipe: under pipefail -q's early
# exit can kill readelf with SIGPIPE, and the check would pass unseen.
if readelf -d "$work/pc-static" 2>/dev/null | grep 'NEEDED.*libsquibcore' >/dev/null; then
	die "pc-static still needs libsquibcore.so"
fi
(unset LD_LIBRARY_PATH; expect_version_output "$work/pc-static")

# Only the API is global in libsquibcore.a (cmake/SquibStaticArchive.cmake):
# a program's own functions named like the library's internals neither
# clash at link time nor capture the library's calls.
step "pkg-config: static program defining table_free, table_search, squib_fail, squib_host_alloc"
"$CC" -static -std=c11 "${cflags_strict[@]}" -pthread -o "$work/static-clash" \
	"$here/static/clash.c" "${pc_static[@]}" ||
	die "a program defining names internal to libsquibcore does not link statically with it"
(unset LD_LIBRARY_PATH; expect_version_output "$work/static-clash")

# --- 2. CMake package ---------------------------------------------------
step "CMake: find_package(squib-core 0.2 CONFIG) from a separate project"
cmake -S "$here/cmake" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_C_COMPILER="$CC" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$work/cmake.log" 2>&1 ||
	{ cat "$work/cmake.log"; die "the CMake consumer does not configure"; }
grep -F -- "-- squib-core $version from $libdir/cmake/squib-core" "$work/cmake.log" >/dev/null ||
	{ cat "$work/cmake.log"; die "find_package found another squib-core"; }
cmake --build "$work/cmake" >"$work/cmake-build.log" 2>&1 ||
	{ cat "$work/cmake-build.log"; die "the CMake consumer does not build"; }
resolved=$(ldd "$work/cmake/consumer_shared" | awk '$1 == "libsquibcore.so.0" { print $3 }')
is_installed_lib "$resolved" || die "consumer_shared resolves libsquibcore.so.0 to '$resolved'"
if readelf -d "$work/cmake/consumer_static" | grep 'NEEDED.*libsquibcore' >/dev/null; then
	die "consumer_static (squib::core_static) needs libsquibcore.so"
fi
expect_version_output "$work/cmake/consumer_shared"
expect_version_output "$work/cmake/consumer_static"

# SameMajorVersion: an older request of the same major is served (a program
# written for 0.1 or 0.2 builds against any later 0.x), a newer one or
# another major is refused.
for want in 0.1 0.2; do
	step "CMake: find_package(squib-core $want) must be accepted"
	cmake -S "$here/cmake" -B "$work/cmake-$want" -DCMAKE_PREFIX_PATH="$prefix" \
		-DSQUIB_WANT_VERSION="$want" >"$work/cmake-$want.log" 2>&1 ||
		{ cat "$work/cmake-$want.log"; die "find_package(squib-core $want) refused $version"; }
done
next_minor=$(awk -F. '{ print $1 "." $2 + 1 }' <<<"$version")
for want in "$next_minor" 1.0 "${version%.*}.99"; do
	step "CMake: find_package(squib-core $want) must be refused"
	if cmake -S "$here/cmake" -B "$work/cmake-$want" -DCMAKE_PREFIX_PATH="$prefix" \
		-DSQUIB_WANT_VERSION="$want" >"$work/cmake-$want.log" 2>&1; then
		die "find_package(squib-core $want) accepted version $version"
	fi
	grep -q "compatible with requested version \"$want\"" "$work/cmake-$want.log" ||
		{ cat "$work/cmake-$want.log"; die "find_package($want) failed for another reason"; }
done

# --- 3. C++ -------------------------------------------------------------
compilers=("$CXX")
command -v clang++ >/dev/null && [ "$CXX" != clang++ ] && compilers+=(clang++)
for cxx in "${compilers[@]}"; do
	for std in c++11 c++20; do
		step "C++: $cxx -std=$std -Wall -Wextra -Wpedantic -Werror"
		"$cxx" -std=$std -O2 -Wall -Wextra -Wpedantic -Werror -o "$work/cxx" \
			"$here/cxx/main.cpp" "${pc_shared[@]}"
		LD_LIBRARY_PATH="$libdir" expect_version_output "$work/cxx"
	done
done

step "SQUIB_NODISCARD: (void) is quiet, a forgotten status warns where promised"
"$here/nodiscard/check.sh" "$includedir" | sed 's/^/    /'
[ "${PIPESTATUS[0]}" -eq 0 ] || die "SQUIB_NODISCARD does not behave as include/squib/export.h says"

# --- 4. dlopen + dlvsym -------------------------------------------------
step "dlopen: the plugins bind every symbol the library exports"
# squib_api.h's table against the installed library: a function added to
# the map but not to the table, or at another node (or the reverse), fails
# here. The versions are the nodes of the map, however many it has.
exported=$(nm -D --defined-only "$libdir/libsquibcore.so.0" |
	awk '$3 ~ /^squib_/ { print $3 }' | sort)
map="$here/../../lib/libsquibcore.map"
map_nodes=$(bash "$here/../../scripts/map-nodes.sh" "$map" | awk '{ print $1 }' | sort -u) ||
	die "no version nodes in $map"
versions=$(printf '%s\n' "$exported" | sed -n 's/^[^@]*@@\{0,1\}//p' | sort -u)
[ "$versions" = "$map_nodes" ] ||
	die "exported symbol versions $(paste -sd' ' <<<"$versions") are not the nodes $(paste -sd' ' <<<"$map_nodes") of $map"
bound=$(sed -n 's/^\s*X(\(squib_[a-z0-9_]*\), "\([A-Za-z0-9_.]*\)")\s*\\\?$/\1@@\2/p' \
	"$here/dlopen/squib_api.h" | sort)
diff <(printf '%s\n' "$exported") <(printf '%s\n' "$bound") ||
	die "tests/consumers/dlopen/squib_api.h's X(name, node) and the library's name@@node exports differ"
echo "    $(wc -l <<<"$bound") functions bound at their nodes: $(paste -sd' ' <<<"$map_nodes")"

step "dlopen: build plugin_a.so, plugin_b.so, host-linked, host-dlopen"
read -ra pc_cflags <<<"$(pcv --cflags)"
for p in a b; do
	"$CC" -std=c11 "${cflags_strict[@]}" -fPIC -shared -o "$work/plugin_$p.so" \
		"$here/dlopen/plugin_$p.c" "${pc_cflags[@]}"
done
# The plugins do not link the library: they find it by SONAME at run time.
if readelf -d "$work/plugin_a.so" "$work/plugin_b.so" | grep 'NEEDED.*libsquibcore' >/dev/null; then
	die "a plugin links libsquibcore instead of dlopening it"
fi
"$CC" -std=c11 "${cflags_strict[@]}" -pthread -DHOST_LINKED=1 -o "$work/host-linked" \
	"$here/dlopen/host.c" "${pc_shared[@]}"
"$CC" -std=c11 "${cflags_strict[@]}" -pthread -DHOST_LINKED=0 -o "$work/host-dlopen" \
	"$here/dlopen/host.c" "${pc_cflags[@]}" -ldl
if readelf -d "$work/host-dlopen" | grep 'NEEDED.*libsquibcore' >/dev/null; then
	die "host-dlopen links libsquibcore"
fi

lib_path="$libdir/libsquibcore.so.0"
step "dlopen: host-linked, 200 plugin rounds"
LD_LIBRARY_PATH="$libdir" "$work/host-linked" "$work/plugin_a.so" "$work/plugin_b.so" 200
step "dlopen: host-dlopen, 20 library load/unload cycles x 10 rounds"
# No LD_LIBRARY_PATH: the plugins' dlopen("libsquibcore.so.0") must find the
# copy the host loaded by path, by its SONAME.
env -u LD_LIBRARY_PATH "$work/host-dlopen" "$work/plugin_a.so" "$work/plugin_b.so" 10 \
	"$lib_path" 20

if [ "${SQUIB_VALGRIND:-1}" != 0 ]; then
	command -v valgrind >/dev/null || die "valgrind is not installed (SQUIB_VALGRIND=0 skips it)"
	# --fair-sched=yes: valgrind runs one thread at a time, and its default
	# lock lets the host's spinning worker threads starve the main thread
	# for minutes (a run of the dlopen host took 424 s on a fresh 2-vCPU
	# machine; fair, four rounds took 1.4 s). The time limit, not luck,
	# then bounds what is left.
	# shellcheck disable=SC2054 # the commas belong to valgrind's options
	vg=(valgrind -q --fair-sched=yes --leak-check=full --error-exitcode=1
		--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect)
	# vg_run WHAT COMMAND...: COMMAND under valgrind, killed after
	# $vg_timeout seconds.
	vg_run() {
		local what=$1 rc=0 began=$SECONDS
		shift
		timeout --signal=KILL "$vg_timeout" "$@" || rc=$?
		if [ $rc -eq 137 ] && [ $((SECONDS - began)) -ge "$vg_timeout" ]; then
			die "valgrind: $what still running after ${vg_timeout}s, killed" \
				"(SQUIB_VG_TIMEOUT raises the limit)"
		fi
		[ $rc -eq 0 ] || die "valgrind: $what exited with $rc"
	}
	step "valgrind: host-linked, $vg_rounds plugin rounds"
	vg_run "host-linked, $vg_rounds plugin rounds" env LD_LIBRARY_PATH="$libdir" \
		"${vg[@]}" "$work/host-linked" "$work/plugin_a.so" "$work/plugin_b.so" "$vg_rounds"
	step "valgrind: host-dlopen, $vg_cycles cycles x 5 rounds"
	vg_run "host-dlopen, $vg_cycles cycles x 5 rounds" env -u LD_LIBRARY_PATH \
		"${vg[@]}" "$work/host-dlopen" "$work/plugin_a.so" "$work/plugin_b.so" 5 \
		"$lib_path" "$vg_cycles"
fi

step "every consumer passed"

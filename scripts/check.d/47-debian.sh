#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian packages of debian/ and the release tarball of scripts/dist.sh
# (docs/PACKAGING.md):
#
#   1. symbols: debian/libsquibcore0.symbols lists each global name of
#      lib/libsquibcore.map at its node, and each node itself, with the
#      version X.Y.0 of node SQUIB_CORE_X.Y, and nothing else.
#   2. dist.sh, on a clean clone of HEAD: the tarball holds exactly HEAD's
#      files under squib-core-VERSION/ but the export-ignore ones (debian/),
#      owner 0/0, HEAD's date, no .git;
#      two runs give the same bytes, and --dirty gives them too; with an
#      untracked file dist.sh refuses, and --dirty packs it.
#   3. build: the tarball of the working tree (dist.sh --dirty, the files of
#      `git ls-files -co --exclude-standard`, so uncommitted work is tested)
#      extracted into a scratch dir, with debian/ of the working tree added,
#      is built as Debian builds an upstream tarball (so the tarball is
#      proven to configure, build and pass `ctest -L unit`): dpkg-source -b
#      with it as the .orig.tar.xz, then
#      dpkg-buildpackage -us -uc -b, which configures, builds, runs
#      `ctest -L unit` and fails on any symbols file mismatch (level 4).
#   4. lintian on the .changes and the .dsc: no error, and no warning but
#      those of the allowlist below, each with its reason.
#   5. contents (dpkg-deb -c): every file the install made is in the one
#      package it belongs to, nothing else is in any, the symlinks point
#      where they must; the .pc and the CMake package name the multiarch
#      libdir, and find_package() works on the packages' files unpacked
#      elsewhere.
#   6. DESTDIR: `cmake --install` of that build (configured with prefix /usr)
#      with DESTDIR=scratch puts every file under scratch/usr and nothing
#      anywhere else, and no installed .pc, .cmake or header names the
#      scratch or build directory.
#   7. system install, as root with dpkg only: the three packages installed,
#      /usr/bin/squib-mem and its man page, tests/consumers/run.sh /usr
#      (valgrind off: stage 40 runs it), and the packages purged again in
#      every case (trap). Not root, or no dpkg: said by name, skipped, and
#      the stage passes. Without dpkg-buildpackage, 3-7 give way to a plain
#      configure, build and `ctest -L unit` of the extracted tarball.
#
# Cost: about 80 s on 2 cores (61-94 s measured), 45-55 s of it
# dpkg-buildpackage (its ctest -L unit ~25 s), lintian ~10 s, the tarball
# checks ~5 s, the consumers ~8 s.
set -euo pipefail
stage=47-debian
w="$SQUIB_CHECK_DIR/debian"
say() { echo "$stage: $*"; }
die() { echo "$stage: FAILED: $*" >&2; exit 1; }
pkgs=(libsquibcore0 libsquibcore-dev squib-mem)

# Lintian warnings that are expected, each with the reason it is not fixed.
declare -A lintian_allow=(
	[initial-upload-closes-no-bugs]="the packages are built from the upstream tree, not uploaded to Debian: there is no ITP bug to close (a real first upload would close its ITP in debian/changelog)"
)

version=$(sed -n 's/^[[:space:]]*VERSION[[:space:]]\+\([0-9.]\+\)$/\1/p' "$SQUIB_SRC/CMakeLists.txt" | head -n1)
[ -n "$version" ] || die "no project VERSION in CMakeLists.txt"
name="squib-core-$version"
rm -rf "$w"
mkdir -p "$w"

# --- 1. the symbols file and the map ----------------------------------
symbols="$SQUIB_SRC/debian/libsquibcore0.symbols"
map="$SQUIB_SRC/lib/libsquibcore.map"
[ -f "$symbols" ] || die "no debian/libsquibcore0.symbols"
[ "$(head -n1 "$symbols")" = "libsquibcore.so.0 libsquibcore0 #MINVER#" ] ||
	die "debian/libsquibcore0.symbols does not start with 'libsquibcore.so.0 libsquibcore0 #MINVER#'"
# Node SQUIB_CORE_X.Y is first released in X.Y.0 (a patch release adds no
# symbol, docs/ABI.md), so each line's version follows from its node.
bash "$SQUIB_SRC/scripts/map-nodes.sh" "$map" |
	awk '{ v = $1; sub(/^SQUIB_CORE_/, "", v); v = v ".0"
		print $1 "@" $1 " " v; print $2 "@" $1 " " v }' | LC_ALL=C sort -u >"$w/symbols.want"
# Every line after the first: a symbol line (one blank, NAME@NODE VERSION),
# a field (* Name: value) or a comment; anything else is reported.
awk 'NR > 1 && !/^\* [A-Za-z-]+: / && !/^#/ && !/^ [A-Za-z0-9_.]+@[A-Za-z0-9_.]+ [0-9][0-9A-Za-z.~+-]*$/ {
	print "    line " NR ": " $0; bad = 1 } END { exit bad }' "$symbols" ||
	die "debian/libsquibcore0.symbols has lines of another form (above)"
sed -n 's/^ //p' "$symbols" | LC_ALL=C sort >"$w/symbols.have"
if ! diff -u "$w/symbols.want" "$w/symbols.have" >"$w/symbols.diff"; then
	sed -n '3,$p' "$w/symbols.diff" >&2
	die "debian/libsquibcore0.symbols and lib/libsquibcore.map differ (- map, + symbols file):" \
		"a new function needs the line ' name@NODE X.Y.0' (docs/PACKAGING.md)"
fi
say "symbols file: $(grep -c '^ squib_' "$symbols") functions and $(grep -c '^ SQUIB_' "$symbols") nodes, as in the map"

# --- 2. dist.sh on a clean clone of HEAD -------------------------------
dist="$SQUIB_SRC/scripts/dist.sh"
git clone -q "$SQUIB_SRC" "$w/clone"
mkdir "$w/dist1" "$w/dist2" "$w/dist3"
"$dist" --src "$w/clone" --out "$w/dist1" >/dev/null
"$dist" --src "$w/clone" --out "$w/dist2" >/dev/null
"$dist" --dirty --src "$w/clone" --out "$w/dist3" >/dev/null
clone_version=$(sed -n 's/^[[:space:]]*VERSION[[:space:]]\+\([0-9.]\+\)$/\1/p' "$w/clone/CMakeLists.txt" | head -n1)
tarball="$w/dist1/squib-core-$clone_version.tar.xz"
[ -f "$tarball" ] || die "dist.sh wrote no $(basename "$tarball")"
cmp "$tarball" "$w/dist2/squib-core-$clone_version.tar.xz" ||
	die "two runs of dist.sh on the same commit gave different tarballs"
cmp "$tarball" "$w/dist3/squib-core-$clone_version.tar.xz" ||
	die "dist.sh --dirty on a clean tree differs from dist.sh"
tar -tJf "$tarball" | LC_ALL=C sort >"$w/dist.list"
if grep -v "^squib-core-$clone_version/" "$w/dist.list" >&2; then
	die "tarball entries outside squib-core-$clone_version/ (above)"
fi
grep -E '(^|/)\.git(/|$)' "$w/dist.list" >&2 && die "the tarball holds .git"
grep -q "^squib-core-$clone_version/debian/" "$w/dist.list" && die "the tarball holds debian/"
git -C "$w/clone" ls-files | git -C "$w/clone" check-attr --stdin export-ignore |
	sed -n 's/: export-ignore: unspecified$//p' | LC_ALL=C sort >"$w/dist.want"
diff "$w/dist.want" <(sed -n "s|^squib-core-$clone_version/||; /\/$/d; /./p" "$w/dist.list") >&2 ||
	die "the tarball's files are not HEAD's but the export-ignore ones (< HEAD, > tarball)"
commit_date=$(date -u -d "@$(git -C "$w/clone" log -1 --format=%ct)" '+%Y-%m-%d %H:%M:%S')
tar --numeric-owner --full-time --utc -tvJf "$tarball" |
	awk -v d="$commit_date" '$2 != "0/0" || ($4 " " $5) != d { print; bad = 1 } END { exit bad }' >&2 ||
	die "tarball entries not owned 0/0 or not dated $commit_date, HEAD's commit (above)"
touch "$w/clone/untracked-file"
if "$dist" --src "$w/clone" --out "$w/dist2" >"$w/dist-refused.log" 2>&1; then
	die "dist.sh packed a tree with an untracked file without --dirty"
fi
"$dist" --dirty --src "$w/clone" --out "$w/dist2" >/dev/null
tar -tJf "$w/dist2/squib-core-$clone_version.tar.xz" | grep -qx "squib-core-$clone_version/untracked-file" ||
	die "dist.sh --dirty left an untracked file out"
say "dist.sh: $(basename "$tarball"), $(grep -vc '/$' "$w/dist.list") files, reproducible, owner 0/0, dated $commit_date; refuses an unclean tree without --dirty"

# --- 3. the packages, built from the working tree's tarball -------------
tarball=$("$dist" --dirty --src "$SQUIB_SRC" --out "$w")
tar -xJf "$tarball" -C "$w"
src="$w/$name"
[ ! -e "$src/debian" ] || die "the tarball holds debian/"
(cd "$SQUIB_SRC" && git ls-files -co --exclude-standard -z -- debian |
	tar -c --null -T - -f -) | tar -x -C "$src" -f -

if ! command -v dpkg-buildpackage >/dev/null; then
	say "no dpkg-buildpackage: SKIPPED building the packages, lintian, their contents, the DESTDIR check and the system install"
	cmake -S "$src" -B "$w/tarball-build" -DSQUIB_BUILD_BENCH=OFF -DSQUIB_BUILD_EXAMPLES=OFF >"$w/tarball-build.log"
	cmake --build "$w/tarball-build" -j "$JOBS" >>"$w/tarball-build.log" ||
		{ tail -n 50 "$w/tarball-build.log"; die "the tarball does not build"; }
	ctest --test-dir "$w/tarball-build" -L unit -j "$JOBS" --output-on-failure >"$w/tarball-ctest.log" ||
		{ tail -n 80 "$w/tarball-ctest.log"; die "ctest -L unit fails in the tarball's build"; }
	say "the tarball configures, builds and passes ctest -L unit ($(grep -o '[0-9]*% tests passed.*' "$w/tarball-ctest.log"))"
	exit 0
fi

deb_version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
[ "${deb_version%-*}" = "$version" ] ||
	die "debian/changelog is at $deb_version, the project at $version: add a debian/changelog entry $version-1"
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)

cp "$tarball" "$w/squib-core_$version.orig.tar.xz"
(cd "$src" && dpkg-source -b .) >"$w/dpkg-source.log" 2>&1 ||
	{ cat "$w/dpkg-source.log"; die "dpkg-source -b failed"; }
dsc="$w/squib-core_$deb_version.dsc"
build_start=$SECONDS
(cd "$src" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }parallel=$JOBS" \
	dpkg-buildpackage -us -uc -b) >"$w/build.log" 2>&1 ||
	{ tail -n 80 "$w/build.log"; die "dpkg-buildpackage failed (log: $w/build.log)"; }
changes="$w/squib-core_${deb_version}_$arch.changes"
tests=$(grep -o '[0-9]*% tests passed.*out of [0-9]*' "$w/build.log" || true)
case " ${DEB_BUILD_OPTIONS:-} " in
*" nocheck "*) tests="not run (nocheck)" ;;
*) [ -n "$tests" ] || die "dh_auto_test ran no ctest suite (log: $w/build.log)" ;;
esac
say "dpkg-buildpackage -us -uc -b: $deb_version in $((SECONDS - build_start))s; ctest -L unit: $tests"
deb() { echo "$w/${1}_${deb_version}_$arch.deb"; }
for p in "${pkgs[@]}"; do [ -f "$(deb "$p")" ] || die "no $(basename "$(deb "$p")")"; done

# --- 4. lintian ----------------------------------------------------------
if ! command -v lintian >/dev/null; then
	die "lintian is not installed (scripts/install-deps.sh installs it)"
fi
lintian_rc=0
lintian -I --pedantic --fail-on none "$changes" "$dsc" >"$w/lintian.log" 2>"$w/lintian.err" || lintian_rc=$?
[ $lintian_rc -eq 0 ] || { cat "$w/lintian.log" "$w/lintian.err"; die "lintian exited with $lintian_rc"; }
sed 's/^/    /' "$w/lintian.log"
lintian_bad=0
declare -A lintian_seen=()
while read -r level _ tag _; do
	case $level in
	E:) echo "$stage: lintian error: $tag" >&2; lintian_bad=1 ;;
	W:)
		if [ -n "${lintian_allow[$tag]:-}" ]; then
			lintian_seen[$tag]=1
		else
			echo "$stage: lintian warning not in the allowlist: $tag" >&2
			lintian_bad=1
		fi
		;;
	esac
done < <(sed -En 's/^([EW]): ([^ :]+)( source| \(source\))?: ([^ ]+).*/\1: \2 \4/p' "$w/lintian.log")
[ $lintian_bad -eq 0 ] || die "lintian: fix the tags above, or allowlist a warning in $stage with its reason"
for tag in "${!lintian_allow[@]}"; do
	if [ -n "${lintian_seen[$tag]:-}" ]; then
		say "lintian: allowed warning $tag: ${lintian_allow[$tag]}"
	else
		say "lintian: allowlisted $tag no longer reported: remove it from the allowlist"
	fi
done
say "lintian: no error, no other warning ($(grep -c '^[IP]:' "$w/lintian.log" || true) info/pedantic tags, shown above)"

# --- 5. the packages' contents ------------------------------------------
# package_of PATH: the package a path installed under /usr belongs in.
package_of() {
	case $1 in
	"usr/lib/$ma/libsquibcore.so.0" | "usr/lib/$ma/libsquibcore.so.0."*) echo libsquibcore0 ;;
	usr/include/squib/*.h | "usr/lib/$ma/libsquibcore.so" | "usr/lib/$ma/libsquibcore.a" | \
		"usr/lib/$ma/pkgconfig/squib-core.pc" | "usr/lib/$ma/cmake/squib-core/"*.cmake | \
		usr/share/man/man3/*.3) echo libsquibcore-dev ;;
	usr/bin/squib-mem | usr/share/man/man1/squib-mem.1) echo squib-mem ;;
	usr/share/doc/*/*)
		local d=${1#usr/share/doc/}
		echo "${d%%/*}"
		;;
	*) echo "(none)" ;;
	esac
}
: >"$w/contents"
for p in "${pkgs[@]}"; do
	# Paths without the leading ./ and the man pages' .gz; directories left out.
	dpkg-deb -c "$(deb "$p")" | awk -v p="$p" '$6 !~ /\/$/ { if ($7 == "->") print p, substr($6, 3), $8; else print p, substr($6, 3) }' |
		sed 's|^\([^ ]* usr/share/man/[^ ]*\)\.gz|\1|' >>"$w/contents"
done
contents_bad=0
while read -r p path _; do
	want=$(package_of "$path")
	if [ "$want" != "$p" ]; then
		echo "$stage: $p holds $path, which belongs in $want" >&2
		contents_bad=1
	fi
done <"$w/contents"
# Every file the install made is packaged (a new installed file needs a
# line in debian/*.install and in package_of above).
(cd "$src/debian/tmp" && find . ! -type d | sed 's|^\./||') | LC_ALL=C sort >"$w/installed"
[ -s "$w/installed" ] || die "debian/tmp of the build is empty"
while read -r path; do
	want=$(package_of "$path")
	grep -qxF "$want $path" <(awk '{ print $1, $2 }' "$w/contents") || {
		echo "$stage: installed $path is not in package $want" >&2
		contents_bad=1
	}
done <"$w/installed"
for need in "libsquibcore0 usr/lib/$ma/libsquibcore.so.0 libsquibcore.so.$version" \
	"libsquibcore0 usr/lib/$ma/libsquibcore.so.$version" \
	"libsquibcore-dev usr/lib/$ma/libsquibcore.so libsquibcore.so.0" \
	"libsquibcore-dev usr/lib/$ma/libsquibcore.a" \
	"libsquibcore-dev usr/lib/$ma/pkgconfig/squib-core.pc" \
	"libsquibcore-dev usr/lib/$ma/cmake/squib-core/squib-coreConfig.cmake" \
	"libsquibcore-dev usr/lib/$ma/cmake/squib-core/squib-coreConfigVersion.cmake" \
	"libsquibcore-dev usr/lib/$ma/cmake/squib-core/squib-core-targets.cmake" \
	"libsquibcore-dev usr/include/squib/core.h" \
	"libsquibcore-dev usr/include/squib/version.h" \
	"squib-mem usr/bin/squib-mem" \
	"squib-mem usr/share/man/man1/squib-mem.1"; do
	grep -qxF "$need" "$w/contents" || {
		echo "$stage: missing: $need" >&2
		contents_bad=1
	}
done
for h in "$SQUIB_SRC"/include/squib/*.h; do
	grep -qxF "libsquibcore-dev usr/include/squib/$(basename "$h")" "$w/contents" || {
		echo "$stage: libsquibcore-dev lacks the header $(basename "$h")" >&2
		contents_bad=1
	}
done
[ $contents_bad -eq 0 ] || die "the packages' contents are wrong (above)"
man3=$(grep -c '^libsquibcore-dev usr/share/man/man3/' "$w/contents" || true)
say "contents: $(wc -l <"$w/contents") files, each in its package; libsquibcore-dev has $man3 man3 pages"

# The multiarch paths, on the packages' files unpacked elsewhere: the .pc
# names them, and the CMake package (relative to its own location) finds
# its libraries there.
mkdir "$w/unpacked"
for p in libsquibcore0 libsquibcore-dev; do dpkg-deb -x "$(deb "$p")" "$w/unpacked"; done
pc="$w/unpacked/usr/lib/$ma/pkgconfig/squib-core.pc"
grep -qx 'prefix=/usr' "$pc" || die "squib-core.pc: $(grep '^prefix=' "$pc"), want prefix=/usr"
grep -qxF "libdir=\${prefix}/lib/$ma" "$pc" || die "squib-core.pc: $(grep '^libdir=' "$pc"), want \${prefix}/lib/$ma"
grep -qF "\${_IMPORT_PREFIX}/lib/$ma/libsquibcore.so.$version" "$w/unpacked/usr/lib/$ma/cmake/squib-core/"squib-core-targets-*.cmake ||
	die "the CMake package does not import lib/$ma/libsquibcore.so.$version"
cmake -S "$SQUIB_SRC/tests/consumers/cmake" -B "$w/unpacked-cmake" -DCMAKE_PREFIX_PATH="$w/unpacked/usr" \
	-DCMAKE_FIND_USE_CMAKE_SYSTEM_PATH=OFF >"$w/unpacked-cmake.log" 2>&1 ||
	{ cat "$w/unpacked-cmake.log"; die "find_package(squib-core) fails on the unpacked packages"; }
grep -qF -- "-- squib-core $version from $w/unpacked/usr/lib/$ma/cmake/squib-core" "$w/unpacked-cmake.log" ||
	{ cat "$w/unpacked-cmake.log"; die "find_package(squib-core) found another copy"; }
say "multiarch: squib-core.pc names \${prefix}/lib/$ma, the CMake package lib/$ma/cmake/squib-core works unpacked elsewhere"

# --- 6. cmake --install with DESTDIR ------------------------------------
obj="$src/obj-$(dpkg-architecture -qDEB_HOST_GNU_TYPE)"
grep -qx 'CMAKE_INSTALL_PREFIX:PATH=/usr' "$obj/CMakeCache.txt" || die "the package build is not configured with prefix /usr"
# Before the system install of 7, so a file written to / is seen.
# pkg_present PACKAGE: dpkg knows it in any state but not-installed.
pkg_present() {
	local status
	command -v dpkg-query >/dev/null || return 1
	status=$(dpkg-query -W -f '${Status}' "$1" 2>/dev/null) || return 1
	[ -n "$status" ] && [ "${status##* }" != not-installed ]
}
for p in "${pkgs[@]}"; do
	if pkg_present "$p"; then
		[ "$(id -u)" -eq 0 ] || die "$p is installed on this machine (not by this stage: it runs as root only)"
		say "$p is installed, left by an earlier run: purging it"
		dpkg --purge "${pkgs[@]}" >"$w/purge-leftover.log" 2>&1 || { cat "$w/purge-leftover.log"; die "cannot purge $p"; }
		break
	fi
done
destdir="$w/destdir"
DESTDIR="$destdir" cmake --install "$obj" >"$w/destdir.log"
# Every file reported, and the manifest, under $destdir/usr.
if sed -n 's/^-- \(Installing\|Up-to-date\): //p' "$w/destdir.log" | grep -v "^$destdir/usr/" >&2; then
	die "cmake --install with DESTDIR wrote outside DESTDIR/usr (above)"
fi
# The manifest names the files as installed, without DESTDIR.
if grep -v "^/usr/" "$obj/install_manifest.txt" >&2; then
	die "install_manifest.txt names files outside /usr (above)"
fi
top=$(find "$destdir" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | paste -sd' ')
[ "$top" = usr ] || die "DESTDIR holds $top, not only usr"
leaked=0
while read -r f; do
	if [ ! -e "$destdir$f" ] && [ ! -L "$destdir$f" ]; then
		echo "$stage: $f is not in DESTDIR" >&2
		leaked=1
	fi
	if [ -e "$f" ] || [ -L "$f" ]; then
		echo "$stage: $f exists outside DESTDIR" >&2
		leaked=1
	fi
done <"$obj/install_manifest.txt"
[ $leaked -eq 0 ] || die "cmake --install with DESTDIR also wrote to / (above)"
diff <(cd "$destdir" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort) "$w/installed" >&2 ||
	die "DESTDIR=$destdir and dh's debian/tmp hold different files (< DESTDIR, > debian/tmp)"
if grep -rlF -e "$destdir" -e "$w" "$destdir" --include='*.pc' --include='*.cmake' --include='*.h' >&2; then
	die "installed files name the scratch or build directory (above)"
fi
grep -qx 'prefix=/usr' "$destdir/usr/lib/$ma/pkgconfig/squib-core.pc" ||
	die "DESTDIR's squib-core.pc says $(grep '^prefix=' "$destdir/usr/lib/$ma/pkgconfig/squib-core.pc")"
say "DESTDIR: $(wc -l <"$obj/install_manifest.txt") files under DESTDIR/usr only, none outside, .pc and .cmake name /usr"

# --- 7. the packages installed on this machine ------------------------
if [ "$(id -u)" -ne 0 ]; then
	say "not root: SKIPPED installing the packages and running tests/consumers/run.sh against /usr"
	exit 0
fi
if ! command -v dpkg >/dev/null; then
	say "no dpkg: SKIPPED installing the packages and running tests/consumers/run.sh against /usr"
	exit 0
fi
# dpkg_wait ARGS...: dpkg, waiting while another dpkg or apt holds its lock.
dpkg_wait() {
	local i
	for i in $(seq 60); do
		if dpkg "$@" </dev/null >>"$w/dpkg.log" 2>&1; then return 0; fi
		tail -n 3 "$w/dpkg.log" | grep -q 'lock' || return 1
		[ "$i" -eq 1 ] && say "dpkg is locked by another process: waiting"
		sleep 5
	done
	return 1
}
installed=0
purge() {
	[ $installed -eq 1 ] || return 0
	installed=0
	if dpkg_wait --purge "${pkgs[@]}"; then
		echo "$stage: packages purged"
	else
		tail -n 20 "$w/dpkg.log" >&2
		echo "$stage: FAILED to purge ${pkgs[*]}: run dpkg --purge ${pkgs[*]}" >&2
		exit 1
	fi
}
trap purge EXIT
trap 'exit 130' INT TERM HUP
installed=1
dpkg_wait -i "$(deb libsquibcore0)" "$(deb libsquibcore-dev)" "$(deb squib-mem)" ||
	{ tail -n 30 "$w/dpkg.log"; die "dpkg -i of the packages failed"; }
say "installed ${pkgs[*]} $deb_version"

tool_version=$(/usr/bin/squib-mem --version) || die "/usr/bin/squib-mem --version failed"
[ "$(sed -n 2p <<<"$tool_version")" = "libsquibcore $version (built against $version)" ] ||
	die "/usr/bin/squib-mem --version says '$tool_version'"
if readelf -d /usr/bin/squib-mem | grep -E 'RPATH|RUNPATH' >&2; then
	die "/usr/bin/squib-mem has an RPATH (above)"
fi
tool_lib=$(ldd /usr/bin/squib-mem | awk '$1 == "libsquibcore.so.0" { print $3 }')
{ [ -n "$tool_lib" ] && [ "$(realpath "$tool_lib")" = "/usr/lib/$ma/libsquibcore.so.$version" ]; } ||
	die "/usr/bin/squib-mem loads libsquibcore.so.0 from '$tool_lib'"
if command -v man >/dev/null; then
	[ "$(man -w squib-mem)" = /usr/share/man/man1/squib-mem.1.gz ] || die "man -w squib-mem says '$(man -w squib-mem)'"
fi
say "/usr/bin/squib-mem runs with /usr/lib/$ma/libsquibcore.so.$version, no RPATH; man squib-mem finds its page"

SQUIB_VALGRIND=0 "$SQUIB_SRC/tests/consumers/run.sh" /usr "$w/consumers" "$version" ||
	die "tests/consumers/run.sh /usr failed with the packages installed"

purge
for p in "${pkgs[@]}"; do
	if pkg_present "$p"; then
		die "$p is still installed after the purge"
	fi
done
if [ -e /usr/include/squib ] || [ -e "/usr/lib/$ma/libsquibcore.so.0" ]; then
	die "files of the packages are left after the purge"
fi
say "purged; nothing of them left"

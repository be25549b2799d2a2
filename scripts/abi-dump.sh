#!/usr/bin/env bash
# Builds libsquibcore for ABI analysis and dumps its public ABI twice: with
# abi-dumper (for abi-compliance-checker) and with abidw (libabigail XML, for
# abidiff). docs/ABI.md says when and how to use it; abi/README.md describes
# the files.
#
#   scripts/abi-dump.sh [--src DIR] [--build DIR] [--out DIR] [--stem NAME]
#   scripts/abi-dump.sh --reference [--force]
#
#   --src DIR    source tree to build (default: this checkout)
#   --build DIR  scratch build directory (default: $SRC/build-abi-dump)
#   --out DIR    where to write NAME.abi.dump and NAME.abi.xml (default: the
#                build directory)
#   --stem NAME  file name stem (default: squib-core-VERSION)
#   --reference  write the release references into $SRC/abi/ (release time
#                only; refuses to overwrite an existing reference unless
#                --force)
#
# The build is the shared library alone, gcc, -g -gdwarf-4 -Og, no
# sanitizer: abi-dumper needs unoptimised-enough DWARF (and reads DWARF 5
# badly), and the references in abi/ were made exactly so. Neither dump holds
# an absolute path, so a dump made in one checkout compares cleanly with one
# made in another.
#
# Exit status: 0 dumped, 2 usage, build or tool error.
set -euo pipefail

die() {
	echo "abi-dump: $*" >&2
	exit 2
}

here="$(cd "$(dirname "$0")/.." && pwd)"
src="$here"
build=
out=
stem=
reference=0
force=0
while [ $# -gt 0 ]; do
	case "$1" in
	--src) src="$(cd "${2:?}" && pwd)" && shift ;;
	--build) build="${2:?}" && shift ;;
	--out) out="${2:?}" && shift ;;
	--stem) stem="${2:?}" && shift ;;
	--reference) reference=1 ;;
	--force) force=1 ;;
	-h | --help)
		sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
	shift
done

for tool in cmake "${SQUIB_ABI_CC:-gcc}" abi-dumper abidw; do
	command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh installs it)"
done

build="${build:-$src/build-abi-dump}"
mkdir -p "$build"
build="$(cd "$build" && pwd)"

# A fixed compiler and fixed flags, whatever CC/CFLAGS the caller exported:
# the comparison is only meaningful between dumps made the same way.
cflags="-g -gdwarf-4 -Og -fno-eliminate-unused-debug-types"
env -u CFLAGS -u LDFLAGS -u CPPFLAGS cmake -S "$src" -B "$build" \
	-DCMAKE_C_COMPILER="${SQUIB_ABI_CC:-gcc}" \
	-DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS= -DCMAKE_C_FLAGS_DEBUG="$cflags" \
	-DSQUIB_SANITIZE= -DSQUIB_WERROR=OFF -DBUILD_TESTING=OFF \
	-DSQUIB_BUILD_STATIC=OFF -DSQUIB_BUILD_BENCH=OFF -DSQUIB_BUILD_EXAMPLES=OFF \
	-DSQUIB_BUILD_MANPAGES=OFF \
	>"$build/abi-configure.log" 2>&1 ||
	{
		cat "$build/abi-configure.log" >&2
		die "configuring $src failed"
	}
cmake --build "$build" --target squibcore -j "${JOBS:-2}" >"$build/abi-build.log" 2>&1 ||
	{
		cat "$build/abi-build.log" >&2
		die "building $src failed"
	}

# The real file, libsquibcore.so.X.Y.Z: the one whose SONAME consumers record.
lib="$(find "$build/lib" -maxdepth 1 -type f -name 'libsquibcore.so.*' | sort | tail -n 1)"
[ -n "$lib" ] || die "no libsquibcore.so.* in $build/lib"
version_h="$build/include/squib/version.h"
version="$(sed -n 's/^#define SQUIB_CORE_VERSION_STRING "\(.*\)"$/\1/p' "$version_h")"
[ -n "$version" ] || die "no SQUIB_CORE_VERSION_STRING in $version_h"

# The public headers are include/squib/*.h plus the generated version.h.
# abi-dumper matches headers by file name, so one flat directory holding them
# all is its filter.
pub="$build/abi-public-headers"
rm -rf "$pub"
mkdir -p "$pub"
cp "$src"/include/squib/*.h "$version_h" "$pub/"

if [ $reference -eq 1 ]; then
	out="$src/abi"
	stem="${stem:-squib-core-$version}"
	if [ $force -eq 0 ] && [ -e "$out/$stem.abi.dump" ]; then
		die "$out/$stem.abi.dump exists; references are made once per release (--force to redo it)"
	fi
fi
out="${out:-$build}"
stem="${stem:-squib-core-$version}"
mkdir -p "$out"

abi-dumper "$lib" -o "$out/$stem.abi.dump" -lver "$version" \
	-public-headers "$pub" -quiet >"$build/abi-dumper.log" 2>&1 ||
	{
		cat "$build/abi-dumper.log" >&2
		die "abi-dumper failed on $lib"
	}

# abidw compares declaration paths from the DWARF with the header paths, so
# it gets the real directories. --short-locs, --no-comp-dir-path and
# --no-corpus-path keep every absolute path out of the XML; hash type ids
# keep it stable when unrelated types come and go.
abidw --headers-dir "$src/include/squib" --header-file "$version_h" \
	--drop-private-types --exported-interfaces-only \
	--no-corpus-path --no-comp-dir-path --short-locs --type-id-style hash \
	--out-file "$out/$stem.abi.xml" "$lib" ||
	die "abidw failed on $lib"

for f in "$out/$stem.abi.dump" "$out/$stem.abi.xml"; do
	if grep -q -e "$src" -e "$build" "$f"; then
		die "$f names an absolute path of this checkout"
	fi
done

echo "abi-dump: $out/$stem.abi.dump"
echo "abi-dump: $out/$stem.abi.xml"

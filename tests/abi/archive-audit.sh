#!/usr/bin/env bash
# Symbol audit of a built libsquibcore.a (ctest: abi-archive-audit). The
# static library must not put internal names into a program's namespace, or
# a program defining its own table_free or squib_fail fails to link with it.
# Asserts:
#
#  1. the global symbols the archive defines are exactly the names of the
#     version script, all of its nodes (scripts/map-nodes.sh): no internal
#     function or variable is global, none of the API is missing;
#  2. no symbol the archive defines locally is also referenced as undefined
#     (an internal reference left for the program's link to resolve, which
#     a program's own symbol of that name would then capture), and no
#     squib_ name is undefined at all.
#
#   archive-audit.sh ARCHIVE MAP
#
#   ARCHIVE  the built libsquibcore.a
#   MAP      lib/libsquibcore.map
set -euo pipefail

if [ $# -ne 2 ]; then
	sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
fi
archive="$1" map="$2"
for f in "$archive" "$map"; do [ -f "$f" ] || {
	echo "archive-audit: no $f" >&2
	exit 2
}; done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
	echo "archive-audit: FAIL: $*" >&2
	failures=$((failures + 1))
}
indent() { sed 's/^/    /' "$@" >&2; }

# nm -P: "name type value size" per symbol; upper-case types are global
# (or weak: W, V), lower-case local, U undefined. Member headers
# ("libsquibcore.a[x.o]:") have no type.
nm -P "$archive" >"$tmp/nm"
awk 'NF >= 2 && $2 ~ /^[A-TV-Z]$/ { print $1 }' "$tmp/nm" | sort -u >"$tmp/global"
awk 'NF >= 2 && $2 ~ /^[a-tv-z]$/ { print $1 }' "$tmp/nm" | sort -u >"$tmp/local"
awk 'NF >= 2 && $2 == "U" { print $1 }' "$tmp/nm" | sort -u >"$tmp/undefined"
bash "$(dirname "$0")/../../scripts/map-nodes.sh" "$map" | awk '{ print $2 }' |
	sort -u >"$tmp/map" || true
[ -s "$tmp/map" ] || fail "no global name in $map"

# --- 1. Exactly the API is global.
m="$(basename "$map")"
comm -23 "$tmp/global" "$tmp/map" >"$tmp/extra"
comm -13 "$tmp/global" "$tmp/map" >"$tmp/missing"
if [ -s "$tmp/extra" ]; then
	fail "global in $(basename "$archive") but not in $m (internal names a program can clash with):"
	indent "$tmp/extra"
fi
if [ -s "$tmp/missing" ]; then
	fail "in $m but not defined globally by $(basename "$archive"):"
	indent "$tmp/missing"
fi

# --- 2. Internal references resolved inside the archive.
comm -12 "$tmp/local" "$tmp/undefined" >"$tmp/dangling"
grep '^squib_' "$tmp/undefined" >>"$tmp/dangling" || true
if [ -s "$tmp/dangling" ]; then
	fail "referenced but left undefined, for the program's link to resolve:"
	sort -u "$tmp/dangling" | indent
fi

if [ $failures -ne 0 ]; then
	echo "archive-audit: $failures failure(s); cmake/SquibStaticArchive.cmake makes the" \
		"internal symbols local" >&2
	exit 1
fi
echo "archive-audit: $(basename "$archive") defines $(wc -l <"$tmp/global") global symbols," \
	"exactly the names of $m; $(wc -l <"$tmp/local") internal symbols, all local"

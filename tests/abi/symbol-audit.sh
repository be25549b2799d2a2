#!/usr/bin/env bash
# Symbol audit of a built libsquibcore (ctest: abi-symbol-audit). Asserts:
#
#  1. exported dynamic symbols == names of the version script
#     == functions declared SQUIB_API in the public headers (and version.h.in):
#     none missing, none extra, and nothing but squib_ names exported;
#  2. every exported symbol carries, as its default version (@@), the node the
#     version script lists it in, and the library defines exactly the nodes
#     of the script (plus its SONAME base);
#  3. every node released in a reference of abi/ holds exactly the names it
#     was released with: nothing removed, moved, or added late;
#  4. the SONAME is the expected one, the one the references were made with.
#
#   symbol-audit.sh LIB MAP INCLUDE_DIR SONAME [REFERENCE_DIR]
#
#   LIB            the built shared object (the real file or a link to it)
#   MAP            lib/libsquibcore.map
#   INCLUDE_DIR    include/squib (its *.h and *.h.in are read)
#   SONAME         e.g. libsquibcore.so.0
#   REFERENCE_DIR  abi/ (its squib-core-*.abi.xml); check 3 is skipped
#                  without it
set -euo pipefail

if [ $# -lt 4 ]; then
	sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
fi
lib="$1" map="$2" incdir="$3" soname="$4" refdir="${5:-}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
	echo "symbol-audit: FAIL: $*" >&2
	failures=$((failures + 1))
}
# Prints the lines of file $1 missing from file $2, indented.
missing() { comm -23 "$1" "$2" | sed 's/^/    /'; }
# Fails with message $3 when file $1 has lines that file $2 lacks.
subset() {
	if [ -n "$(comm -23 "$1" "$2")" ]; then
		fail "$3"
		missing "$1" "$2" >&2
	fi
}

for f in "$lib" "$map"; do [ -f "$f" ] || {
	echo "symbol-audit: no $f" >&2
	exit 2
}; done

# --- What the library exports: name@@version (or name@version, or name).
# Version definitions show up as absolute symbols named after their node.
nm -D --defined-only --with-symbol-versions "$lib" >"$tmp/nm"
awk '$2 != "A" { print $3 }' "$tmp/nm" | sort >"$tmp/exported-versioned"
awk '$2 == "A" { print $3 }' "$tmp/nm" | sort >"$tmp/abs"
sed 's/@.*//' "$tmp/exported-versioned" | sort -u >"$tmp/exported"

# --- What the version script lists: "node name" lines, global parts only
# (scripts/map-nodes.sh, the parser every check of the map shares).
bash "$(dirname "$0")/../../scripts/map-nodes.sh" "$map" >"$tmp/map-pairs" || true
awk '{ print $2 }' "$tmp/map-pairs" | sort -u >"$tmp/map"
awk '{ print $1 }' "$tmp/map-pairs" | sort -u >"$tmp/map-nodes"
awk '{ print $2 "@@" $1 }' "$tmp/map-pairs" | sort >"$tmp/map-versioned"
[ -s "$tmp/map" ] || fail "no global name in $map"

# --- What the headers declare SQUIB_API: comments and preprocessor lines
# dropped, then the first squib_ name followed by "(" after each SQUIB_API.
headers=("$incdir"/*.h "$incdir"/*.h.in)
perl -0777 -ne '
	s{/\*.*?\*/}{ }gs; s{//[^\n]*}{}g; s{^[ \t]*#(?:[^\n]*\\\n)*[^\n]*}{}gm;
	print "$1\n" while /\bSQUIB_API\b[^;{}]*?\b(squib_[A-Za-z0-9_]+)\s*\(/gs;
' "${headers[@]}" | sort -u >"$tmp/headers"
[ -s "$tmp/headers" ] || fail "no SQUIB_API declaration in $incdir"

# --- 1. Three lists, one set.
m="$(basename "$map")"
subset "$tmp/exported" "$tmp/map" "exported but not in $m:"
subset "$tmp/map" "$tmp/exported" "in $m but not exported:"
subset "$tmp/headers" "$tmp/map" "declared SQUIB_API but not in $m:"
subset "$tmp/map" "$tmp/headers" "in $m but declared SQUIB_API in no public header:"
if grep -v '^squib_' "$tmp/exported" >"$tmp/foreign"; then
	fail "exported names without the squib_ prefix:"
	sed 's/^/    /' "$tmp/foreign" >&2
fi

# --- 2. Versions: each symbol in its node, as the default version.
if ! cmp -s "$tmp/exported-versioned" "$tmp/map-versioned"; then
	fail "exported symbol versions differ from the nodes of $m (- expected, + built):"
	diff "$tmp/map-versioned" "$tmp/exported-versioned" | grep '^[<>]' |
		sed 's/^</    -/; s/^>/    +/' >&2 || true
fi
readelf -V -W "$lib" | awk '/^Version definition section/ { d = 1; next }
	/^Version (needs|symbols) section/ { d = 0 }
	d && /Name:/ && !/Flags: BASE/ { for (i = 1; i <= NF; i++) if ($i == "Name:") print $(i + 1) }' |
	sort -u >"$tmp/defs-nodes"
if ! cmp -s "$tmp/defs-nodes" "$tmp/map-nodes"; then
	fail "version nodes defined by the library differ from $m:"
	diff "$tmp/map-nodes" "$tmp/defs-nodes" | grep '^[<>]' |
		sed 's/^</    -/; s/^>/    +/' >&2 || true
fi
subset "$tmp/abs" "$tmp/map-nodes" "absolute symbols other than the version nodes are exported:"

# --- 3. Released nodes are frozen.
if [ -n "$refdir" ]; then
	shopt -s nullglob
	refs=("$refdir"/squib-core-*.abi.xml)
	[ ${#refs[@]} -gt 0 ] || fail "no squib-core-*.abi.xml in $refdir"
	for ref in "${refs[@]}"; do
		ref_soname="$(sed -n "s/^<abi-corpus .*soname='\([^']*\)'.*/\1/p" "$ref" | head -n 1)"
		[ "$ref_soname" = "$soname" ] ||
			fail "$(basename "$ref") was released as $ref_soname, not $soname (docs/ABI.md: the SONAME moves only with new references)"
		sed -n "s/^ *<elf-symbol name='\([^']*\)' version='\([^']*\)' is-default-version='yes'.*/\1@@\2/p" \
			"$ref" | sort -u >"$tmp/ref"
		sed 's/.*@@//' "$tmp/ref" | sort -u >"$tmp/ref-nodes"
		awk -F'@@' 'NR == FNR { node[$0] = 1; next } NF == 2 && ($2 in node)' \
			"$tmp/ref-nodes" "$tmp/exported-versioned" | sort -u >"$tmp/now"
		if ! cmp -s "$tmp/ref" "$tmp/now"; then
			fail "released nodes $(paste -sd' ' "$tmp/ref-nodes") changed since $(basename "$ref") (- released, + built):"
			diff "$tmp/ref" "$tmp/now" | grep '^[<>]' |
				sed 's/^</    -/; s/^>/    +/' >&2 || true
		fi
	done
fi

# --- 4. SONAME.
got_soname="$(readelf -d -W "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
[ "$got_soname" = "$soname" ] || fail "SONAME is '$got_soname', expected '$soname'"

if [ $failures -ne 0 ]; then
	echo "symbol-audit: $failures failure(s); docs/ABI.md says how a symbol is added" >&2
	exit 1
fi
echo "symbol-audit: $(wc -l <"$tmp/exported") symbols, all in the version script and" \
	"declared SQUIB_API, in nodes: $(paste -sd' ' "$tmp/map-nodes"); SONAME $soname"

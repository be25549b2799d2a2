#!/usr/bin/env bash
# The installed shared library carries the hardening a distribution expects
# (Debian's hardening=+all and more), checked on the ELF file itself:
#   - position-independent shared object (ET_DYN, every unit built -fPIC, no
#     TEXTREL), full RELRO (GNU_RELRO + BIND_NOW), non-executable stack;
#   - stack protector: every unit built -fstack-protector-strong (DWARF
#     producer) and __stack_chk_fail referenced;
#   - _FORTIFY_SOURCE: the formatting calls are the checked __*_chk variants
#     and no unchecked variant of a fortifiable function is imported (memcpy
#     with a size only known at run time legitimately stays memcpy);
#   - exports: exactly the names of lib/libsquibcore.map, all squib_*,
#     each versioned @@ the node the map lists it in, and no other absolute
#     symbol than those nodes -- the test-only fault injector included
#     nowhere.
# Cost: one release build of the library alone (~15 s on 2 cores).
set -euo pipefail
dir="$SQUIB_CHECK_DIR/hardening"
prefix="$dir/prefix"
cmake -S "$SQUIB_SRC" -B "$dir/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSQUIB_WERROR=ON \
	-DBUILD_TESTING=OFF -DSQUIB_BUILD_BENCH=OFF -DSQUIB_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$dir/build" -j "$JOBS" >/dev/null
rm -rf "$prefix"
cmake --install "$dir/build" --prefix "$prefix" >/dev/null

so=$(find "$prefix" -name 'libsquibcore.so.0.*' -type f | head -n 1)
[ -n "$so" ] || { echo "80-hardening: no libsquibcore.so.0.* installed" >&2; exit 1; }
echo "checking $so"

failed=0
check() { # check NAME COMMAND...: runs COMMAND, prints ok or FAIL
	local name=$1
	shift
	if "$@"; then
		echo "  ok   $name"
	else
		echo "  FAIL $name"
		failed=1
	fi
}

header=$(readelf -hW "$so")
segments=$(readelf -lW "$so")
dynamic=$(readelf -dW "$so")
dynsyms=$(readelf --dyn-syms -W "$so")
producers=$(readelf --debug-dump=info "$so" 2>/dev/null | grep -A1 'DW_AT_producer' |
	grep -o 'GNU C[^"]*\|clang version[^"]*' || true)
imports=$(awk '$7 == "UND" && $8 != "" { sub(/@.*/, "", $8); print $8 }' <<<"$dynsyms" | sort -u)

check "ELF type is DYN (shared object)" grep -q 'Type:[[:space:]]*DYN' <<<"$header"
check "SONAME is libsquibcore.so.0" grep -q 'Library soname: \[libsquibcore.so.0\]' <<<"$dynamic"
check "no TEXTREL (position-independent code)" \
	bash -c '! grep -q "TEXTREL" <<<"$1"' _ "$dynamic"
check "GNU_RELRO segment" grep -q '^[[:space:]]*GNU_RELRO' <<<"$segments"
check "BIND_NOW (full RELRO)" grep -Eq '\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW' <<<"$dynamic"
check "GNU_STACK present and not executable" \
	grep -Eq '^[[:space:]]*GNU_STACK([[:space:]]+0x[0-9a-f]+){5}[[:space:]]+RW[[:space:]]' \
	<<<"$segments"
check "debug info names the compile flags" test -n "$producers"
every_unit() { # every_unit FLAG: each compilation unit's producer has FLAG
	! grep -v -q -- "$1" <<<"$producers"
}
check "every unit built with -fPIC" every_unit '-fPIC'
check "every unit built with -fstack-protector-strong" every_unit '-fstack-protector-strong'
check "__stack_chk_fail referenced" grep -qx '__stack_chk_fail' <<<"$imports"
check "fortified calls (__*_chk) referenced" grep -q '^__.*_chk$' <<<"$imports"
# Unchecked functions that have a fortified variant the compiler would have
# chosen had it known the object size; none of them may remain.
unfortified=$(grep -Ex '(v?s?n?printf|v?fprintf|strn?cpy|strn?cat|stpn?cpy|memmove|memset|gets|read|fgets|realpath|getcwd|wc.*)' \
	<<<"$imports" || true)
check "no unchecked printf/str*/mem* variant imported${unfortified:+ (found: $(tr "\n" " " <<<"$unfortified"))}" \
	test -z "$unfortified"

# Exports: the defined dynamic symbols against the version script, whose
# "node name" lines scripts/map-nodes.sh gives (as many nodes as it has).
exported=$(awk '$1 ~ /^[0-9]+:$/ && $7 != "UND" && $8 ~ /@/ { print $8 }' <<<"$dynsyms" | sort)
map_pairs=$(bash "$SQUIB_SRC/scripts/map-nodes.sh" "$SQUIB_SRC/lib/libsquibcore.map")
expected=$(awk '{ print $2 "@@" $1 }' <<<"$map_pairs" | sort)
nodes=$(awk '{ print $1 }' <<<"$map_pairs" | sort -u)
# Each version node is itself an ABS symbol named after it; anything else
# without a version is an unversioned export.
others=$(awk 'NR == FNR { node[$1] = 1; next }
	$1 ~ /^[0-9]+:$/ && $7 != "UND" && $8 != "" && $8 !~ /@/ && !($8 in node) { print $8 }' \
	<(echo "$nodes") <(echo "$dynsyms") || true)
check "exports only squib_* names" bash -c '! grep -v "^squib_" <<<"$1" | grep -q .' _ "$exported"
check "no unversioned exports${others:+ (found: $(tr "\n" " " <<<"$others"))}" test -z "$others"
check "exports exactly lib/libsquibcore.map ($(wc -l <<<"$expected") names, each @@ its node of $(paste -sd' ' <<<"$nodes"))" \
	test "$exported" = "$expected"
if [ "$exported" != "$expected" ]; then
	diff <(echo "$expected") <(echo "$exported") | sed 's/^/    /' || true
fi

# Informational: what Debian's own checker says, when devscripts is there.
if command -v hardening-check >/dev/null; then
	echo "hardening-check (informational):"
	hardening-check "$so" | sed 's/^/  /' || true
fi
if [ $failed -ne 0 ]; then
	echo "80-hardening: the installed library lacks the hardening above" >&2
	exit 1
fi

#!/usr/bin/env bash
# Self-test of scripts/gen-man.pl, on copies of the real headers and map:
#
#   tests/docs/check-gen-man.sh SRC VERSION_H WORK
#
# SRC is the source tree, VERSION_H the squib/version.h a build configured
# (BUILD/include/squib/version.h), WORK a scratch directory (emptied).
#   1. The real inputs generate one page per name of the map plus
#      libsquibcore.3, and the rendered page of squib_mem_read holds its
#      prototype and, under RETURN VALUE, its @return text, both read from
#      include/squib/access.h here with a reader of their own.
#   2. access.h with the doc comment of squib_mem_read removed: the
#      generator fails, naming access.h, the line of the declaration and the
#      function, and writes no page.
#   3. The map with a name that no header declares: it fails naming the
#      map's line.
#   4. The map without squib_mem_read: it fails naming access.h's line.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 SRC VERSION_H WORK" >&2; exit 2; }
src=$1
version_h=$2
work=$3
gen="$src/scripts/gen-man.pl"
rm -rf "$work"
mkdir -p "$work/include/squib"
cp "$src"/include/squib/*.h "$version_h" "$work/include/squib/"
cp "$src/lib/libsquibcore.map" "$work/libsquibcore.map"
headers() { printf '%s\n' "$work"/include/squib/*.h; }

fail() {
	echo "check-gen-man: $*" >&2
	exit 1
}
# run OUTDIR MAP: the generator on the copies; its stderr in $work/stderr.
run() {
	mapfile -t hs < <(headers)
	perl "$gen" --map "$2" --outdir "$1" --version 0.0.0 --date 2000-01-01 "${hs[@]}" \
		2>"$work/stderr"
}

# 1. The real inputs.
run "$work/ok" "$work/libsquibcore.map" || { cat "$work/stderr" >&2; fail "the real headers fail"; }
names=$("$src/scripts/map-nodes.sh" "$work/libsquibcore.map" | wc -l)
want=$((names + 1))
got=$(find "$work/ok" -name '*.3' | wc -l)
[ "$got" -eq "$want" ] || fail "$got pages for $want names (map and libsquibcore)"
# The prototype and the @return text as access.h has them, whitespace and
# @p markup aside.
proto=$(perl -0777 -ne 'm{((?:SQUIB_\w+ )*\w+ \*?squib_mem_read\([^;]*\);)} or die;
	($_ = $1) =~ s/\bSQUIB_(?:API|NODISCARD)\b ?//g; s/\s+/ /g; print' "$src/include/squib/access.h")
ret=$(perl -0777 -ne 'm{\@return\s+((?:(?!\*/).)*?)\s*\*/\s*(?:SQUIB_\w+ )*\w+ \*?squib_mem_read\(}s or die;
	($_ = $1) =~ s/^\s*\*\s*//mg; s/\@p\s+//g; s/\s+/ /g; print' "$src/include/squib/access.h")
page=$(groff -man -Tascii -P-c -P-b -P-u -rHY=0 -rLL=200n "$work/ok/squib_mem_read.3" | tr -s ' \n' '  ')
grep -qF -- "$proto" <<<"$page" || fail "the page of squib_mem_read lacks its prototype '$proto'"
grep -qF -- "RETURN VALUE $ret" <<<"$page" ||
	fail "the page of squib_mem_read lacks its @return text under RETURN VALUE: '$ret'"
echo "check-gen-man: $got pages; squib_mem_read(3) has its prototype and its @return text"

# 2. One doc comment removed: squib_mem_read's, the /** ... */ right before it.
cp "$src/include/squib/access.h" "$work/access.h.orig"
perl -0777 -pi -e 's{/\*\*(?:(?!\*/).)*\*/\n(?=(?:SQUIB_\w+ )*\w+ \*?squib_mem_read\()}{}s or die' \
	"$work/include/squib/access.h"
line=$(grep -n 'squib_mem_read(' "$work/include/squib/access.h" | head -n1 | cut -d: -f1)
if run "$work/undoc" "$work/libsquibcore.map"; then
	fail "an undocumented squib_mem_read did not fail the generator"
fi
grep -q "access\.h:$line: squib_mem_read has no doc comment" "$work/stderr" ||
	fail "the failure does not name access.h:$line and squib_mem_read: $(cat "$work/stderr")"
[ -z "$(find "$work/undoc" -name '*.3' 2>/dev/null)" ] || fail "a failed run wrote pages"
echo "check-gen-man: a missing doc comment fails: $(head -n1 "$work/stderr")"
cp "$work/access.h.orig" "$work/include/squib/access.h"

# 3. A name of the map that no header declares.
perl -pi -e 's/^(\s*)squib_mem_load;/$1squib_mem_load;\n$1squib_mem_no_such_function;/' \
	"$work/libsquibcore.map"
line=$(grep -n 'squib_mem_no_such_function' "$work/libsquibcore.map" | cut -d: -f1)
if run "$work/extra" "$work/libsquibcore.map"; then
	fail "a map name no header declares did not fail the generator"
fi
grep -q "libsquibcore\.map:$line: squib_mem_no_such_function is declared in no public header" \
	"$work/stderr" || fail "the failure does not name the map's line $line: $(cat "$work/stderr")"
echo "check-gen-man: an undeclared map name fails: $(head -n1 "$work/stderr")"
cp "$src/lib/libsquibcore.map" "$work/libsquibcore.map"

# 4. A SQUIB_API function the map does not list.
perl -ni -e 'print unless /^\s*squib_mem_read;/' "$work/libsquibcore.map"
line=$(grep -n 'squib_mem_read(' "$work/include/squib/access.h" | head -n1 | cut -d: -f1)
if run "$work/unlisted" "$work/libsquibcore.map"; then
	fail "a SQUIB_API function missing from the map did not fail the generator"
fi
grep -q "access\.h:$line: squib_mem_read is declared SQUIB_API but .* does not list it" \
	"$work/stderr" || fail "the failure does not name access.h:$line: $(cat "$work/stderr")"
echo "check-gen-man: a function missing from the map fails: $(head -n1 "$work/stderr")"

#!/usr/bin/env bash
# The installed man3 pages of libsquibcore, checked as a user meets them:
#
#   tests/docs/check-man.sh PREFIX MAP
#
# For every name of MAP (lib/libsquibcore.map, every node) and for the
# overview libsquibcore: `man -w` with only PREFIX/share/man as its path
# (-M, and MANPATH set to it, so no page of the system is consulted) finds
# PREFIX/share/man/man3/NAME.3; lexgrog parses its NAME line; mandoc -T lint
# at level warning reports nothing; groff -man -ww renders it without a
# word. Also fails on a page in man3 that the map does not explain. Prints
# one line per problem and fails when there is any.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 PREFIX MAP" >&2; exit 2; }
prefix=$1
map=$2
mandir="$prefix/share/man"
here=$(cd "$(dirname "$0")" && pwd)
nodes="$here/../../scripts/map-nodes.sh"

[ -d "$mandir/man3" ] || { echo "check-man: no $mandir/man3" >&2; exit 1; }
mapfile -t names < <("$nodes" "$map" | awk '{ print $2 }')
names+=(libsquibcore)

failed=0
fail() {
	echo "check-man: $*" >&2
	failed=1
}
export MANPATH="$mandir"
unset MANOPT MANSECT
for name in "${names[@]}"; do
	want="$mandir/man3/$name.3"
	if ! found=$(man -w -M "$mandir" 3 "$name" 2>&1); then
		fail "$name: man -w finds no page ($found)"
		continue
	fi
	if [ "$(readlink -f "$found")" != "$(readlink -f "$want")" ]; then
		fail "$name: man -w finds $found, not $want"
		continue
	fi
	if ! whatis=$(lexgrog "$want" 2>&1) || ! grep -q "\"$name - ." <<<"$whatis"; then
		fail "$name: lexgrog cannot parse the NAME section: $whatis"
	fi
	# mandoc's exit status is 2 for a warning; its words are the report.
	if ! lint=$(mandoc -T lint -W warning "$want" 2>&1) || [ -n "$lint" ]; then
		fail "$name: mandoc -T lint -W warning:"$'\n'"$lint"
	fi
	if ! render=$(groff -man -Tutf8 -ww -z "$want" 2>&1) || [ -n "$render" ]; then
		fail "$name: groff -man -ww:"$'\n'"$render"
	fi
done

# Nothing else in man3: a page of a name the map lost would be stale.
declare -A known=()
for name in "${names[@]}"; do known[$name.3]=1; done
for page in "$mandir"/man3/*; do
	[ -n "${known[$(basename "$page")]:-}" ] || fail "$page: no name of $map has this page"
done

if [ $failed -ne 0 ]; then
	exit 1
fi
echo "check-man: ${#names[@]} pages in $mandir/man3 found by man -w, parsed by lexgrog, clean under mandoc -T lint -W warning and groff -ww"

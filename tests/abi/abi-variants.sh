#!/usr/bin/env bash
# Proves that scripts/abi-check.sh bites: builds deliberately broken copies
# of libsquibcore and asserts that each one is reported incompatible with
# the release references of abi/ (a check's verdict is incompatible when it
# is so against any reference), and that pure additions and private
# changes are reported compatible with all of them. Reports stay in
# WORK/NAME/check/reports.
#
#   tests/abi/abi-variants.sh [--src DIR] [--work DIR] [--jobs N] [NAME...]
#
#   --src DIR   tree to copy (default: this checkout); never modified
#   --work DIR  scratch directory (default: $SRC/build-abi-variants)
#   --jobs N    variants checked at once (default 2, at most 2)
#   NAME...     only these variants (default: all; see the table below)
#
# Each variant is a copy of the source tree (build directories and .git
# left out) patched with sed/perl; a patch that no longer applies is an
# error, never a silent pass. Exit status 0 when every variant got the
# expected verdict from both tools.
# The perl patches below use $1 and $2 of perl, not of the shell.
# shellcheck disable=SC2016
set -euo pipefail

here="$(cd "$(dirname "$0")/../.." && pwd)"
src="$here"
work=
jobs=2
only=()
while [ $# -gt 0 ]; do
	case "$1" in
	--src) src="$(cd "${2:?}" && pwd)" && shift ;;
	--work) work="${2:?}" && shift ;;
	--jobs) jobs="${2:?}" && shift ;;
	-h | --help)
		sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	-*)
		echo "abi-variants: unknown option '$1'" >&2
		exit 2
		;;
	*) only+=("$1") ;;
	esac
	shift
done
[ "$jobs" -ge 1 ] && [ "$jobs" -le 2 ] || jobs=2
work="${work:-$src/build-abi-variants}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
# A scratch directory inside the tree must not be copied into itself.
inside=
case "$work/" in "$src"/*) inside="${work#"$src"/}" ;; esac

# name | abi-compliance-checker | abidiff | nodes | symbol audit | the patch
#
# abi-check.sh must exit 1 when any of its three checks (acc, abidiff, nodes)
# says incompatible, 0 otherwise; the symbol audit (symbol-audit.sh, the
# ctest abi-symbol-audit) is run on the same build. Every column is asserted,
# blind spots included, so that a check that starts or stops seeing
# something is noticed:
# - abi-compliance-checker 2.3 ignores symbol versions when the new library
#   has none at all (unversioned);
# - abidiff reports a member appended to a size-first struct, which is
#   allowed, until a reviewed abi/squib-core-VER.abidiff.suppr says so
#   (append); such a suppression (0.3 appended to squib_region_info_t, for
#   the 0.2.0 reference) hides every change to that struct, which is why
#   the 0.3.0 reference, which needs none, is compared too: it is abidiff's
#   view of field-order and field-size (docs/ABI.md);
# - neither tool objects to a name added to an already released node
#   (late-addition), nor sees a function declared SQUIB_API that the version
#   script forgot and so hides (not-in-map): the nodes check and the audit do.
# The newest reference is 0.3.0: late-addition-0.3 and removed-0.3 break
# only it, so they fail unless it is compared.
variants=(
	"removed|incompatible|incompatible|incompatible|fail|squib_range_end renamed squib_range_end_addr (0.2 name gone)"
	"param-type|incompatible|incompatible|compatible|pass|squib_mem_remove_region slot uint32_t -> uint64_t"
	"removed-0.3|incompatible|incompatible|incompatible|fail|squib_mem_save renamed squib_mem_save_to (0.3 name gone)"
	"field-order|incompatible|incompatible|compatible|pass|squib_region_info_t: slot and prot swapped (abidiff: seen against 0.3.0)"
	"field-size|incompatible|incompatible|compatible|pass|squib_region_info_t: slot uint32_t -> uint64_t (abidiff: seen against 0.3.0)"
	"status-value|incompatible|incompatible|compatible|pass|SQUIB_E_NOT_FOUND -6 -> -13"
	"node-moved|incompatible|incompatible|incompatible|fail|squib_mem_read_u8 moved to the next node"
	"unversioned|compatible|incompatible|incompatible|fail|no version script: every symbol unversioned"
	"late-addition|compatible|compatible|incompatible|fail|new squib_range_is_empty put in the released node SQUIB_CORE_0.2"
	"late-addition-0.3|compatible|compatible|incompatible|fail|new squib_range_is_empty put in the released node SQUIB_CORE_0.3"
	"not-in-map|compatible|compatible|compatible|fail|new squib_range_is_empty declared SQUIB_API but left out of the map"
	"append|compatible|incompatible|compatible|pass|squib_region_info_t: one more member appended (no reviewed suppression against 0.3.0)"
	"addition|compatible|compatible|compatible|pass|new squib_range_is_empty in the next node, inheriting the newest"
	"private|compatible|compatible|compatible|pass|a member added to the private struct squib_mem"
)

# Runs a patch command on one file and fails unless the file changed.
edit() {
	local file="$1"
	shift
	local before
	before="$(cksum <"$file")"
	"$@" "$file"
	if [ "$(cksum <"$file")" = "$before" ]; then
		echo "abi-variants: patch '$*' did not change $file" >&2
		return 1
	fi
}

# A new public function: declared in range.h, defined in range.c.
add_function() {
	local d="$1"
	edit "$d"/include/squib/range.h sed -i '/^SQUIB_END_DECLS/i\
/** Tells whether the range is empty (size 0). Since 0.3. */\
SQUIB_API bool squib_range_is_empty(squib_range_t range);\
' || return 1
	printf '\nbool squib_range_is_empty(squib_range_t range)\n{\n\treturn range.size == 0;\n}\n' \
		>>"$d"/lib/range.c
}

# The node of the newest release reference in abi/ (SQUIB_CORE_0.3 for
# 0.3.0) and the one after it (SQUIB_CORE_0.4), where additions go.
newest_ref="$(find "$here/abi" -maxdepth 1 -name 'squib-core-*.abi.xml' -printf '%f\n' |
	sed 's/^squib-core-\(.*\)\.abi\.xml$/\1/' | sort -V | tail -n 1)"
[ -n "$newest_ref" ] || { echo "abi-variants: no reference in $here/abi" >&2; exit 2; }
released_node="SQUIB_CORE_$(echo "$newest_ref" | cut -d. -f1,2)"
next_node="SQUIB_CORE_$(echo "$newest_ref" | awk -F. '{ print $1 "." $2 + 1 }')"

# Puts a name into the version script's next node: into the one the map
# already has (an unreleased node collects every addition until its
# release, docs/ABI.md), or a new one inheriting the released node when
# there is none yet. A second node of that name would not link at all.
put_in_next_node() {
	local map="$1" name="$2"
	# grep without -q: under pipefail, -q's early exit can kill the writer
	# with SIGPIPE and make the pipeline false although the line is there.
	if bash "$here/scripts/map-nodes.sh" "$map" | grep "^${next_node//./\\.} " >/dev/null; then
		edit "$map" env NAME="$name" NODE="$next_node" perl -0pi -e \
			's/^(\Q$ENV{NODE}\E[ \t]*\{[ \t]*\n[ \t]*global:[ \t]*\n)/$1\t\t$ENV{NAME};\n/m'
	else
		printf '%s {\n\tglobal:\n\t\t%s;\n} %s;\n' "$next_node" "$name" "$released_node" >>"$map"
	fi
}

patch_variant() {
	local name="$1" d="$2"
	case "$name" in
	removed)
		local f
		for f in "$d"/include/squib/range.h "$d"/lib/range.c "$d"/lib/libsquibcore.map; do
			edit "$f" sed -i 's/\bsquib_range_end\b/squib_range_end_addr/g' || return 1
		done
		# Any internal caller follows the rename.
		sed -i 's/\bsquib_range_end\b/squib_range_end_addr/g' "$d"/lib/*.c "$d"/lib/*.h
		;;
	param-type)
		local f
		for f in "$d"/include/squib/mem.h "$d"/lib/mem.c; do
			edit "$f" sed -i \
				's/\(squib_mem_remove_region(squib_mem_t \*mem, \)uint32_t slot)/\1uint64_t slot)/' ||
				return 1
		done
		;;
	field-order)
		edit "$d"/include/squib/mem.h perl -0pi -e \
			's/(\tuint32_t slot;[^\n]*\n)(\tsquib_prot_t prot;[^\n]*\n)/$2$1/'
		;;
	field-size)
		edit "$d"/include/squib/mem.h perl -0pi -e \
			's/\tuint32_t slot;(\s+\/\*\*< the slot it was)/\tuint64_t slot;$1/'
		;;
	append)
		# What a 0.3 may do to a size-first struct, once reviewed (docs/ABI.md).
		edit "$d"/include/squib/mem.h perl -0pi -e \
			's/(\tchar name\[SQUIB_REGION_NAME_MAX\];[^\n]*\n)(\} squib_region_info_t;)/$1\tuint64_t abi_test_appended; \/**< since 0.4 *\/\n$2/'
		;;
	status-value)
		edit "$d"/include/squib/error.h sed -i 's/SQUIB_E_NOT_FOUND = -6/SQUIB_E_NOT_FOUND = -13/'
		;;
	node-moved)
		edit "$d"/lib/libsquibcore.map sed -i '/^\t\tsquib_mem_read_u8;$/d' || return 1
		put_in_next_node "$d"/lib/libsquibcore.map squib_mem_read_u8
		;;
	unversioned)
		# Without the version script the visibility attributes alone decide
		# what is exported: the same names, but none carries a version.
		edit "$d"/lib/CMakeLists.txt sed -i '/--version-script/d'
		;;
	addition)
		add_function "$d" || return 1
		put_in_next_node "$d"/lib/libsquibcore.map squib_range_is_empty
		;;
	late-addition)
		add_function "$d" || return 1
		edit "$d"/lib/libsquibcore.map sed -i 's/^\t\tsquib_range_contains;$/&\n\t\tsquib_range_is_empty;/'
		;;
	late-addition-0.3)
		add_function "$d" || return 1
		edit "$d"/lib/libsquibcore.map sed -i 's/^\t\tsquib_mem_save;$/&\n\t\tsquib_range_is_empty;/'
		;;
	removed-0.3)
		local f
		for f in "$d"/include/squib/snapshot.h "$d"/lib/snapshot_save.c "$d"/lib/libsquibcore.map; do
			edit "$f" sed -i 's/\bsquib_mem_save\b/squib_mem_save_to/g' || return 1
		done
		sed -i 's/\bsquib_mem_save\b/squib_mem_save_to/g' "$d"/lib/*.c "$d"/lib/*.h
		;;
	not-in-map)
		add_function "$d"
		;;
	private)
		edit "$d"/lib/mem_internal.h sed -i \
			's/^\(\talignas(SQUIB_CACHELINE) pthread_mutex_t lock;\)$/\1\n\tint abi_test_spare;/'
		;;
	*)
		echo "abi-variants: no variant '$name'" >&2
		return 1
		;;
	esac
}

# One check's verdict over every reference in a result file: incompatible
# when any says so, compatible when each of the references says so, else
# empty (the check did not run for all of them).
verdict() {
	awk -v check="$1" -v refs="$ref_count" '
		$1 == check { n++; if ($3 == "incompatible") bad = 1; else if ($3 != "compatible") odd = 1 }
		END { if (bad) print "incompatible"; else if (n == refs && !odd) print "compatible" }' \
		"$2" 2>/dev/null || true
}
ref_count="$(find "$here/abi" -maxdepth 1 -name 'squib-core-*.abi.dump' | wc -l)"

# Checks one variant; prints one summary line; exit 0 when as expected.
run_variant() {
	local name="$1" want_acc="$2" want_abidiff="$3" want_nodes="$4" want_audit="$5"
	local d="$work/$1"
	local start=$SECONDS rc=0
	rm -rf "$d"
	mkdir -p "$d/src"
	tar -C "$src" --exclude='./build*' --exclude='./_install*' --exclude=./.git \
		--exclude=./.cache ${inside:+--exclude="./$inside"} -cf - . | tar -C "$d/src" -xf -
	if ! patch_variant "$name" "$d/src" >"$d/patch.log" 2>&1; then
		echo "FAIL $name: patch failed: $(cat "$d/patch.log")"
		return 1
	fi
	JOBS=1 "$here/scripts/abi-check.sh" --src "$d/src" --work "$d/check" \
		--ref-dir "$here/abi" >"$d/check.log" 2>&1 || rc=$?
	local acc abidiff nodes audit=pass lib
	acc="$(verdict acc "$d/check/abi-check.result")"
	abidiff="$(verdict abidiff "$d/check/abi-check.result")"
	nodes="$(verdict nodes "$d/check/abi-check.result")"
	lib="$(find "$d/check/build/lib" -maxdepth 1 -type f -name 'libsquibcore.so.*' 2>/dev/null | head -n 1)"
	"$here/tests/abi/symbol-audit.sh" "${lib:-missing}" "$d/src/lib/libsquibcore.map" \
		"$d/src/include/squib" libsquibcore.so.0 "$here/abi" >"$d/audit.log" 2>&1 ||
		audit=fail
	# A break is a break when any check of abi-check.sh sees it.
	local want_rc=0
	[ "$want_acc$want_abidiff$want_nodes" = compatiblecompatiblecompatible ] || want_rc=1
	local verdict=ok
	if [ $rc -ne $want_rc ] || [ "$acc" != "$want_acc" ] || [ "$abidiff" != "$want_abidiff" ] ||
		[ "$nodes" != "$want_nodes" ] || [ "$audit" != "$want_audit" ]; then
		verdict=FAIL
	fi
	short() { case "$1" in compatible) echo ok ;; incompatible) echo BREAK ;; *) echo "${1:-error}" ;; esac; }
	printf '%-4s %-17s exit %d/%d  acc %-5s/%-5s  abidiff %-5s/%-5s  nodes %-5s/%-5s  audit %-4s/%-4s %3ds\n' \
		"$verdict" "$name" "$rc" "$want_rc" "$(short "$acc")" "$(short "$want_acc")" \
		"$(short "$abidiff")" "$(short "$want_abidiff")" "$(short "$nodes")" "$(short "$want_nodes")" \
		"$audit" "$want_audit" $((SECONDS - start))
	if [ $verdict != ok ]; then
		sed 's/^/    | /' "$d/check.log" "$d/audit.log"
		return 1
	fi
}

selected=()
for v in "${variants[@]}"; do
	name="${v%%|*}"
	if [ ${#only[@]} -gt 0 ]; then
		keep=0
		for o in "${only[@]}"; do [ "$o" = "$name" ] && keep=1; done
		[ $keep -eq 1 ] || continue
	fi
	selected+=("$v")
done
[ ${#selected[@]} -gt 0 ] || {
	echo "abi-variants: no variant selected" >&2
	exit 2
}

start=$SECONDS
failed=0
running=0
for v in "${selected[@]}"; do
	IFS='|' read -r name want_acc want_abidiff want_nodes want_audit what <<<"$v"
	echo "abi-variants: $name: $what"
	run_variant "$name" "$want_acc" "$want_abidiff" "$want_nodes" "$want_audit" \
		>"$work/$name.summary" 2>&1 &
	running=$((running + 1))
	if [ $running -ge "$jobs" ]; then
		wait -n || failed=1
		running=$((running - 1))
	fi
done
while [ $running -gt 0 ]; do
	wait -n || failed=1
	running=$((running - 1))
done
echo "verdict / wanted: ok = compatible or pass, BREAK = incompatible, fail = audit failed"
for v in "${selected[@]}"; do
	cat "$work/${v%%|*}.summary"
done
echo "abi-variants: ${#selected[@]} variant(s) in $((SECONDS - start))s, jobs $jobs"
if [ $failed -ne 0 ]; then
	echo "abi-variants: FAILED: the ABI checker missed a break or flagged a compatible change" >&2
	exit 1
fi

#!/usr/bin/env bash
# Checks that the ABI of the current tree keeps the promise of every
# release: rebuilds libsquibcore (-g -Og, scripts/abi-dump.sh), dumps it once
# and compares it with each release reference of abi/ (0.2.0, 0.3.0, ...),
# twice, independently:
#
#   abi-compliance-checker  binary AND source compatibility (abi-dumper dumps)
#   abidiff                 libabigail: the reference XML against the new
#                           one, both filtered by the public headers
#
# and checks that the version nodes released in each reference kept exactly
# their names. Any binary or source incompatibility, any ABI change abidiff
# reports (added symbols aside), any change to a released node fails. A
# program built against the oldest release must keep loading, so every
# reference is checked, not only the newest. docs/ABI.md says what counts
# as a break.
#
#   scripts/abi-check.sh [--src DIR] [--work DIR] [--ref-dir DIR] [--ref VER]
#
#   --src DIR      tree to check (default: this checkout)
#   --work DIR     scratch directory for the build, dumps and reports
#                  (default: $SRC/build-abi-check)
#   --ref-dir DIR  where the references are (default: abi/ of this checkout)
#   --ref VER      compare with squib-core-VER.abi.* only (default: every
#                  reference in the directory, oldest first)
#
# Optional, reviewed files of the reference directory, used when present:
#   squib-core-VER.abidiff.suppr  libabigail suppressions for the comparison
#                        with VER only (e.g. 0.3 appended members to a
#                        size-first struct of 0.2.0: has_data_member_inserted_at
#                        = end); a later reference already has the members
#   abidiff.suppr        libabigail suppressions for every comparison
#   acc-skip-types.txt   types abi-compliance-checker must not check
#   acc-skip-symbols.txt symbols abi-compliance-checker must not check
#
# Exit status: 0 compatible with every reference, 1 incompatible with one,
# 2 usage, build or tool error. WORK/abi-check.result holds one line per
# check and reference: "acc|abidiff|nodes VER compatible|incompatible
# DETAILS" (tests/abi/abi-variants.sh reads it); reports are in
# WORK/reports/VER/.
set -euo pipefail

die() {
	echo "abi-check: $*" >&2
	exit 2
}

here="$(cd "$(dirname "$0")/.." && pwd)"
src="$here"
work=
refdir="$here/abi"
refver=
while [ $# -gt 0 ]; do
	case "$1" in
	--src) src="$(cd "${2:?}" && pwd)" && shift ;;
	--work) work="${2:?}" && shift ;;
	--ref-dir) refdir="$(cd "${2:?}" && pwd)" && shift ;;
	--ref) refver="${2:?}" && shift ;;
	-h | --help)
		sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
	shift
done
for tool in abi-compliance-checker abidiff; do
	command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh installs it)"
done

refvers=()
if [ -n "$refver" ]; then
	refvers=("$refver")
else
	while IFS= read -r v; do refvers+=("$v"); done < <(
		find "$refdir" -maxdepth 1 -name 'squib-core-*.abi.dump' -printf '%f\n' |
			sed 's/^squib-core-\(.*\)\.abi\.dump$/\1/' | sort -V)
	[ ${#refvers[@]} -gt 0 ] || die "no squib-core-*.abi.dump in $refdir"
fi
for v in "${refvers[@]}"; do
	[ -f "$refdir/squib-core-$v.abi.dump" ] || die "no reference $refdir/squib-core-$v.abi.dump"
	[ -f "$refdir/squib-core-$v.abi.xml" ] || die "no reference $refdir/squib-core-$v.abi.xml"
done

work="${work:-$src/build-abi-check}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
build="$work/build"
reports="$work/reports"
result="$work/abi-check.result"
rm -rf "$reports" "$result"
mkdir -p "$reports"

"$here/scripts/abi-dump.sh" --src "$src" --build "$build" --out "$work" \
	--stem squib-core-new >/dev/null
new_dump="$work/squib-core-new.abi.dump"
new_xml="$work/squib-core-new.abi.xml"

# Compares the new dumps with the reference of release $1; sets status=1 on
# any incompatibility. Reports go to $reports/$1/.
compare_with() {
	local refver="$1"
	local ref_dump="$refdir/squib-core-$refver.abi.dump"
	local ref_xml="$refdir/squib-core-$refver.abi.xml"
	local reports="$reports/$refver"
	local acc_opts abidiff_opts acc_report acc_log acc_rc bin_problems src_problems
	local abidiff_report abidiff_rc nodes_report old_soname new_soname
	mkdir -p "$reports"
	# --- abi-compliance-checker: one run checks binary and source compatibility.
	acc_opts=()
	[ -f "$refdir/acc-skip-types.txt" ] && acc_opts+=(-skip-types "$refdir/acc-skip-types.txt")
	[ -f "$refdir/acc-skip-symbols.txt" ] && acc_opts+=(-skip-symbols "$refdir/acc-skip-symbols.txt")
	acc_report="$reports/acc-compat-report.html"
	acc_log="$reports/acc.log"
	acc_rc=0
	# It writes logs/ and compat_reports/ under the current directory: keep them
	# in the scratch directory.
	(cd "$work" && abi-compliance-checker -l squib-core -old "$ref_dump" -new "$new_dump" \
		-report-path "$acc_report" ${acc_opts[@]+"${acc_opts[@]}"}) >"$acc_log" 2>&1 || acc_rc=$?
	bin_problems="$(sed -n 's/^Total binary compatibility problems: \([0-9]*\).*/\1/p' "$acc_log")"
	src_problems="$(sed -n 's/^Total source compatibility problems: \([0-9]*\).*/\1/p' "$acc_log")"
	if [ $acc_rc -gt 1 ] || [ -z "$bin_problems" ] || [ -z "$src_problems" ]; then
		cat "$acc_log" >&2
		die "abi-compliance-checker failed (exit $acc_rc)"
	fi
	if [ $acc_rc -eq 0 ] && [ "$bin_problems" -eq 0 ] && [ "$src_problems" -eq 0 ]; then
		echo "acc $refver compatible binary=0 source=0" >>"$result"
		echo "abi-check: abi-compliance-checker: compatible with $refver (binary and source)"
	else
		echo "acc $refver incompatible binary=$bin_problems source=$src_problems" >>"$result"
		echo "abi-check: abi-compliance-checker: INCOMPATIBLE with $refver:" \
			"$bin_problems binary, $src_problems source problem(s)" >&2
		grep -E '^(Binary|Source) compatibility:' "$acc_log" | sed 's/^/  /' >&2
		echo "  report: $acc_report" >&2
		status=1
	fi

	# --- abidiff: exit bits 1 error, 2 usage, 4 ABI change, 8 incompatible change.
	abidiff_opts=()
	[ -f "$refdir/abidiff.suppr" ] && abidiff_opts+=(--suppressions "$refdir/abidiff.suppr")
	[ -f "$refdir/squib-core-$refver.abidiff.suppr" ] &&
		abidiff_opts+=(--suppressions "$refdir/squib-core-$refver.abidiff.suppr")
	abidiff_report="$reports/abidiff.txt"
	abidiff_rc=0
	# XML against XML: both sides were filtered by the public headers when abidw
	# made them (scripts/abi-dump.sh). Handing abidiff the new binary with
	# --headers-dir2 instead would also hide every change reached through a
	# typedef declared outside our headers: a parameter going from uint32_t to
	# uint64_t is then "filtered out" (tests/abi/abi-variants.sh param-type).
	abidiff --no-added-syms ${abidiff_opts[@]+"${abidiff_opts[@]}"} \
		"$ref_xml" "$new_xml" >"$abidiff_report" 2>&1 || abidiff_rc=$?
	if [ $((abidiff_rc & 3)) -ne 0 ]; then
		cat "$abidiff_report" >&2
		die "abidiff failed (exit $abidiff_rc)"
	fi
	if [ $abidiff_rc -eq 0 ]; then
		echo "abidiff $refver compatible rc=0" >>"$result"
		echo "abi-check: abidiff: compatible with $refver"
	else
		echo "abidiff $refver incompatible rc=$abidiff_rc" >>"$result"
		echo "abi-check: abidiff: ABI CHANGE against $refver (exit $abidiff_rc):" >&2
		sed -n '1,60s/^/  /p' "$abidiff_report" >&2
		echo "  report: $abidiff_report" >&2
		status=1
	fi

	# --- Version nodes, from the two XML files: every name@@NODE released must
	# still be exported as such (nothing removed, moved or unversioned), and a
	# released node must not grow (a name added to SQUIB_CORE_0.2 after 0.2.0
	# shipped links fine and then fails to load on a 0.2.0 system). Neither tool
	# above looks at the second rule.
	symbols() {
		sed -n "s/^ *<elf-symbol name='\([^']*\)' \(version='\([^']*\)' is-default-version='\([a-z]*\)'\)\{0,1\}.*/\1@\4@\3/p" "$1" |
			sed 's/@yes@/@@/; s/@no@/@/; s/@@$//' | sort -u
	}
	symbols "$ref_xml" >"$reports/nodes-released.txt"
	symbols "$new_xml" >"$reports/nodes-new.txt"
	sed -n 's/.*@@//p' "$reports/nodes-released.txt" | sort -u >"$reports/nodes-names.txt"
	awk -F'@@' 'NR == FNR { node[$0] = 1; next } NF == 2 && ($2 in node)' \
		"$reports/nodes-names.txt" "$reports/nodes-new.txt" >"$reports/nodes-now.txt"
	soname() { sed -n "s/^<abi-corpus .*soname='\([^']*\)'.*/\1/p" "$1" | head -n 1; }
	nodes_report="$reports/nodes.diff"
	old_soname="$(soname "$ref_xml")"
	new_soname="$(soname "$new_xml")"
	if [ "$old_soname" != "$new_soname" ]; then
		# A deliberate break moves the SONAME and regenerates the references in
		# the same commit (docs/ABI.md); anything else is an accident.
		echo "nodes $refver incompatible soname" >>"$result"
		echo "abi-check: SONAME moved from $old_soname to $new_soname but abi/ still holds the $old_soname reference" >&2
		status=1
	elif diff -u "$reports/nodes-released.txt" "$reports/nodes-now.txt" >"$nodes_report"; then
		echo "nodes $refver compatible" >>"$result"
		echo "abi-check: version nodes: $(paste -sd' ' "$reports/nodes-names.txt") as released in $refver"
	else
		echo "nodes $refver incompatible" >>"$result"
		echo "abi-check: version nodes: RELEASED NODES CHANGED since $refver (- released, + now):" >&2
		grep '^[-+][^-+]' "$nodes_report" | sed 's/^/  /' >&2
		echo "  report: $nodes_report" >&2
		status=1
	fi
}

status=0
for v in "${refvers[@]}"; do
	compare_with "$v"
done

if [ $status -ne 0 ]; then
	echo "abi-check: $src breaks the ABI of a release of squib-core;" \
		"reports in $reports (docs/ABI.md says what to do)" >&2
fi
exit $status

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The ctest test tool_squib_mem (label tool): squib-mem on real snapshots.
#
#   tests/run.sh SQUIB_MEM MKSNAP WORKDIR
#
# MKSNAP (mksnap.c) saves a small guest with the library: four regions
# (one logging dirty pages, one unaligned at both ends, a SHARED one, a
# ROM), as a file record, a stream record, an incremental file record and
# two stream records in one file (a migration's rounds), and prints the
# bytes its model says the guest holds. Every command of squib-mem runs on
# them, and on copies with one byte flipped, for its output, its messages
# and its exit status. Prints one line per failed check and a count.
set -uo pipefail

[ $# -eq 3 ] || { echo "usage: $0 SQUIB_MEM MKSNAP WORKDIR" >&2; exit 2; }
tool=$1
mksnap=$2
work=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1

checks=0
failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# sm ARGS...: squib-mem with ARGS; stdout in out.txt, stderr in err.txt,
# the status in $rc. The command line is kept for messages.
sm() {
	cmd="squib-mem $*"
	"$tool" "$@" >out.txt 2>err.txt
	rc=$?
}
status_is() {
	checks=$((checks + 1))
	[ "$rc" -eq "$1" ] || fail "$cmd: exit $rc, want $1; stderr: $(head -c 400 err.txt)"
}
out_has() {
	checks=$((checks + 1))
	grep -qxF -- "$1" out.txt || fail "$cmd: no line '$1' in stdout: $(head -c 1500 out.txt)"
}
err_has() {
	checks=$((checks + 1))
	grep -qF -- "$1" err.txt || fail "$cmd: stderr lacks '$1': $(head -c 400 err.txt)"
}
out_empty() {
	checks=$((checks + 1))
	[ ! -s out.txt ] || fail "$cmd: stdout is not empty: $(head -c 400 out.txt)"
}
err_empty() {
	checks=$((checks + 1))
	[ ! -s err.txt ] || fail "$cmd: stderr is not empty: $(head -c 400 err.txt)"
}
out_is() {
	checks=$((checks + 1))
	if ! diff -u <(printf '%s' "$1") out.txt >diff.txt; then
		fail "$cmd: stdout differs from what is expected:"
		cat diff.txt >&2
	fi
}
# A failure names the file, says where and exits 1.
bad() {
	local file=$1 at=$2 what=$3
	shift 3
	sm "$@" "$file"
	status_is 1
	err_has "squib-mem: $file: byte $at: "
	err_has "$what"
	out_empty
}
# copy SRC DST OFFSET [MASK]: DST is SRC with one byte flipped.
copy_flip() {
	if ! cp "$1" "$2" || ! "$mksnap" flip "$2" "$3" "${4:-1}"; then
		fail "mksnap flip $*"
	fi
}
# data_offset FILE SLOT: where the region's data begins (info's line).
data_offset() {
	"$tool" info "$1" | awk -v slot="  slot $2:" '
		index($0, slot) == 1 { found = 1; next }
		found && /^    data at byte / { print $4; exit }'
}

# ---- the snapshots ----
for what in full changed extra reprot noshared sparse incr stream rounds; do
	"$mksnap" "$what" "$what.snap" || { echo "FAIL: mksnap $what" >&2; exit 1; }
done
size_full=$(stat -c %s full.snap)
size_stream=$(stat -c %s stream.snap)
d0=$(data_offset full.snap 0) # slot 0 [0x0, 0x40000)
d1=$(data_offset full.snap 1) # slot 1 [0x100800, 0x102900)
if [ -z "$d0" ] || [ -z "$d1" ]; then
	echo "FAIL: no data offsets in info's output" >&2
	exit 1
fi

# ---- --help, --version, usage errors ----
sm --help
status_is 0
out_has "usage: squib-mem info FILE"
out_has "       squib-mem read [--raw] FILE ADDR LEN"
sm --version
status_is 0
version_line=$(head -n 1 out.txt)
checks=$((checks + 1))
[[ $version_line =~ ^squib-mem\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--version: '$version_line'"
checks=$((checks + 1))
grep -qE '^libsquibcore [0-9]+\.[0-9]+\.[0-9]+ \(built against [0-9.]+\)$' out.txt ||
	fail "--version names no library version: $(cat out.txt)"
sm info --help
status_is 0
out_has "usage: squib-mem info FILE"

usage_error() {
	local want=$1
	shift
	sm "$@"
	status_is 2
	err_has "squib-mem: $want"
	out_empty
}
usage_error "no command given"
usage_error "unknown command 'bogus'" bogus full.snap
usage_error "unknown command '--frob'" --frob
usage_error "info takes one FILE" info
usage_error "info takes one FILE" info full.snap full.snap
usage_error "verify takes one FILE" verify
usage_error "verify: unknown option '--fast'" verify --fast full.snap
usage_error "read takes FILE ADDR LEN" read full.snap 0x10
usage_error "read takes FILE ADDR LEN" read full.snap 0x10 1 2
usage_error "read: ADDR 'zz' is not a number" read full.snap zz 1
usage_error "read: LEN '0x' is not a number" read full.snap 0 0x
usage_error "read: LEN '1k' is not a number" read full.snap 0 1k
usage_error "read: unknown option '-5'" read full.snap 0 -5
usage_error "read: unknown option '--hex'" read --hex full.snap 0 1
usage_error "read: ADDR 0xffffffffffffffff + LEN 2 passes 2^64" \
	read full.snap 0xffffffffffffffff 2
usage_error "diff takes two files, A and B" diff full.snap
usage_error "no-such.snap: cannot open: No such file or directory" info no-such.snap
usage_error "no-such.snap: cannot open" diff full.snap no-such.snap
usage_error ".: is a directory" verify .

# ---- info ----
slot0='  slot 0: [0x0000000000000000, 0x0000000000040000) prot rw- flags DIRTY_LOG name "ram"'
slot1='  slot 1: [0x0000000000100800, 0x0000000000102900) prot rw- flags - name "odd"'
slot3='  slot 3: [0x0000000000200000, 0x0000000000204000) prot rw- flags SHARED name "shared"'
slot7='  slot 7: [0x00000000fffff000, 0x0000000100000000) prot r-x flags READONLY name "rom"'
# What the library's writer makes of the guest: runs of one kind, merged.
full_regions() {
	out_has "$slot0 stored 24576 runs 5 (3 DATA, 2 ZERO) pages 64 of 64"
	out_has "$slot1 stored 4352 runs 3 (2 DATA, 1 ZERO) pages 3 of 3"
	out_has "$slot3 stored 4096 runs 3 (1 DATA, 2 ZERO) pages 4 of 4"
	out_has "$slot7 stored 4096 runs 1 (1 DATA, 0 ZERO) pages 1 of 1"
	out_has "  regions: 4"
	out_has "  runs: 12 (7 DATA, 5 ZERO)"
	out_has "  bytes stored: 37120"
	out_has "  format version: 1"
}
sm info full.snap
status_is 0
err_empty
out_has "full.snap: squib snapshot, format version 1, 1 record, $size_full bytes"
out_has "record 1: byte 0 to $size_full"
out_has "  kind: file"
out_has "  content: full (every page)"
full_regions
checks=$((checks + 1))
[ "$(grep -c '^    data at byte ' out.txt)" -eq 4 ] || fail "info full.snap: not 4 data offsets"

sm info stream.snap
status_is 0
out_has "stream.snap: squib snapshot, format version 1, 1 record, $size_stream bytes"
out_has "  kind: stream"
out_has "  content: full (every page)"
full_regions
checks=$((checks + 1))
! grep -q 'data at byte' out.txt || fail "info stream.snap: a stream record has no data offsets"

sm info incr.snap
status_is 0
out_has "  kind: file"
out_has "  content: incremental (the pages it carries)"
out_has "  runs: 7 (5 DATA, 2 ZERO)"
# Slot 0 logs: its 4 changed pages (1, 6-7, 40); slots 1 and 3 do not log:
# all their pages (slot 3's now zero); the ROM: none.
out_has "$slot0 stored 16384 runs 3 (3 DATA, 0 ZERO) pages 4 of 64"
out_has "$slot1 stored 4352 runs 3 (2 DATA, 1 ZERO) pages 3 of 3"
out_has "$slot3 stored 0 runs 1 (0 DATA, 1 ZERO) pages 4 of 4"
out_has "$slot7 stored 0 runs 0 (0 DATA, 0 ZERO) pages 0 of 1"

sm info rounds.snap
status_is 0
out_has "rounds.snap: squib snapshot, format version 1, 2 records, $(stat -c %s rounds.snap) bytes"
out_has "record 1: byte 0 to $size_stream"
out_has "record 2: byte $size_stream to $(stat -c %s rounds.snap)"
checks=$((checks + 1))
[ "$(grep -c '^  kind: stream$' out.txt)" -eq 2 ] || fail "info rounds.snap: not 2 stream records"
out_has "  content: incremental (the pages it carries)"

sm info extra.snap
out_has '  slot 9: [0x0000000000300000, 0x0000000000301000) prot rw- flags - name "extra" stored 4096 runs 1 (1 DATA, 0 ZERO) pages 1 of 1'
sm info reprot.snap
out_has '  slot 1: [0x0000000000100800, 0x0000000000102900) prot r-- flags - name "odd" stored 4352 runs 3 (2 DATA, 1 ZERO) pages 3 of 3'

# ---- verify: sound inputs ----
for f in full changed extra reprot noshared incr stream rounds; do
	sm verify "$f.snap"
	status_is 0
	err_empty # and no progress line: stderr is no terminal
done
sm verify full.snap
out_has "full.snap: sound: 1 file record, 12 runs, 37120 bytes of page data checked"
sm verify rounds.snap
out_has "rounds.snap: sound: 2 stream records, 19 runs, 57856 bytes of page data checked"
"$tool" verify - <stream.snap >out.txt 2>err.txt
rc=$?
cmd="squib-mem verify - <stream.snap"
status_is 0
out_has "(standard input): sound: 1 stream record, 12 runs, 37120 bytes of page data checked"
# shellcheck disable=SC2002 # a pipe, not a file, on purpose
cat rounds.snap | "$tool" info /dev/stdin >out.txt 2>err.txt
rc=$?
cmd="cat rounds.snap | squib-mem info /dev/stdin"
status_is 0
out_has "record 2: byte $size_stream to $(stat -c %s rounds.snap)"

# ---- verify: one flipped byte ----
# In a DATA run: slot 0's first run (pages 0-1) holds guest 0x1800.
copy_flip full.snap x.snap $((d0 + 0x1800))
bad x.snap "$d0" "the 8192 bytes of the DATA run at byte" verify
err_has "have checksum"
# In a hole: slot 0's page 2 is zero (a ZERO run).
copy_flip full.snap x.snap $((d0 + 0x2005)) 0x80
bad x.snap $((d0 + 0x2005)) "byte 0x80, but no structure covers it" verify
# In an incremental record, a page it does not carry (slot 0's page 2).
copy_flip incr.snap x.snap $((d0 + 0x2000))
bad x.snap $((d0 + 0x2000)) "no structure covers it" verify
# Before slot 1's base in its first page (outside the region).
copy_flip full.snap x.snap $((d1 + 0x10))
bad x.snap $((d1 + 0x10)) "no structure covers it" verify
# Past slot 1's end in its last page.
copy_flip full.snap x.snap $((d1 + 0x2000 + 0x900))
bad x.snap $((d1 + 0x2000 + 0x900)) "no structure covers it" verify
# The padding after the region table (64 + 4 * 96 = 448 bytes).
copy_flip full.snap x.snap 500
bad x.snap 500 "(padding after the region table)" verify
# The header: magic, version, a reserved field, the checksum.
copy_flip full.snap x.snap 0
bad x.snap 0 "no magic SQUIBSNP: not a squib snapshot" verify
copy_flip full.snap x.snap 8 2
bad x.snap 8 "format version 3, not 1" verify
copy_flip full.snap x.snap 57
bad x.snap 56 "reserved header field is 0x00000100" verify
copy_flip full.snap x.snap 61
bad x.snap 60 "header checksum" verify
# The region table: a name byte, which only the header checksum covers.
copy_flip full.snap x.snap $((64 + 48))
bad x.snap 60 "header checksum" verify
# The run table: its last byte is the last run's checksum.
copy_flip full.snap x.snap $((size_full - 1))
bad x.snap $((size_full - 4)) "run checksum" verify
# Trailing and missing bytes.
cp full.snap x.snap && printf 'z' >>x.snap
bad x.snap "$size_full" "(trailing bytes)" verify
head -c $((size_full - 1)) full.snap >x.snap
bad x.snap $((size_full - 1)) "(truncated)" verify
# A stream: a flipped byte in the first DATA run's data (right after the
# header, the table and the run: 64 + 4 * 96 + 32 = 480), a truncation,
# trailing bytes.
copy_flip stream.snap x.snap 500
bad x.snap 480 "have checksum" verify
head -c 30000 stream.snap >x.snap
bad x.snap 30000 "the input ends inside" verify
cp rounds.snap x.snap && printf 'zzzz' >>x.snap
bad x.snap $(($(stat -c %s rounds.snap) + 4)) "4 bytes after stream record 2, which ends" verify
# info stops at the same structures, not at page data.
copy_flip full.snap x.snap 61
bad x.snap 60 "header checksum" info
copy_flip full.snap x.snap $((d0 + 0x1800))
sm info x.snap
status_is 0

# ---- read ----
sm read full.snap 0x8 24
status_is 0
out_is '0000000000000008  00 00 00 00 00 00 00 00  48 65 6c 6c 6f 2c 20 73  |........Hello, s|
0000000000000018  71 75 69 62 21 00 00 00                           |quib!...|
'
sm read full.snap 16 13 # decimal
out_is '0000000000000010  48 65 6c 6c 6f 2c 20 73  71 75 69 62 21           |Hello, squib!|
'
sm read stream.snap 0x8 24
out_has '0000000000000008  00 00 00 00 00 00 00 00  48 65 6c 6c 6f 2c 20 73  |........Hello, s|'
sm read full.snap 0x10 0
status_is 0
out_empty
# Raw bytes against the model, every region of every input.
raw_is() { # FILE GUEST ADDR LEN
	cmd="squib-mem read --raw $1 $3 $4"
	checks=$((checks + 1))
	if ! "$tool" read --raw "$1" "$3" "$4" >raw.bin 2>err.txt; then
		fail "$cmd: exit $?: $(cat err.txt)"
	elif ! "$mksnap" expect "$2" "$3" "$4" | cmp -s - raw.bin; then
		fail "$cmd: not the bytes of the $2 guest"
	fi
}
for f in full stream; do
	raw_is $f.snap full 0x0 0x40000
	raw_is $f.snap full 0x100800 0x2100
	raw_is $f.snap full 0x200000 0x4000
	raw_is $f.snap full 0xfffff000 0x1000
	raw_is $f.snap full 0x1ff0 0x20
done
raw_is changed.snap changed 0x0 0x40000
raw_is rounds.snap changed 0x0 0x40000 # the second round applied
raw_is rounds.snap changed 0x100800 0x2100
raw_is rounds.snap changed 0x200000 0x4000
raw_is rounds.snap changed 0xfffff000 0x1000
raw_is incr.snap changed 0x1000 0x1000 # the pages it carries
raw_is incr.snap changed 0x6000 0x2000
raw_is incr.snap changed 0x28000 0x1000
raw_is incr.snap changed 0x100800 0x2100
raw_is extra.snap extra 0x300000 0x1000
raw_is noshared.snap full 0x0 0x40000 # mapped, not copied
raw_is noshared.snap full 0x100800 0x2100
raw_is noshared.snap full 0x200000 0x4000
# Addresses the input does not hold.
sm read full.snap 0x50000 1
status_is 1
err_has "squib-mem: full.snap: 0x0000000000050000: not in any region of the record"
out_empty
sm read full.snap 0x3fff0 0x20 # runs past slot 0's end
status_is 1
err_has "squib-mem: full.snap: 0x0000000000040000: not in any region of the record"
out_empty
sm read incr.snap 0x1ff0 0x20 # page 2 is not carried
status_is 1
err_has "squib-mem: incr.snap: 0x0000000000002000: page 2 of slot 0"
err_has "is not in the record"
out_empty
sm read incr.snap 0xfffff800 8 # nor is the ROM
status_is 1
err_has "squib-mem: incr.snap: 0x00000000fffff800: page 0 of slot 7"
# A load that maps the file (noshared: every region can be mapped) checks
# no page data: read checks the runs it reads, not the others.
copy_flip noshared.snap x.snap $((d0 + 0x1800))
sm read x.snap 0x1000 16
status_is 1
err_has "squib-mem: x.snap: byte $d0: the DATA run at byte"
out_empty
sm read x.snap 0x5000 16
status_is 0
copy_flip noshared.snap x.snap $((d0 + 0x2005))
sm read x.snap 0x2000 16
status_is 1
err_has "squib-mem: x.snap: byte $((d0 + 0x2005)): the ZERO run at byte"
sm read x.snap 0x1000 16
status_is 0
# A SHARED region cannot be mapped: the load copies, and checks every run.
copy_flip full.snap x.snap $((d0 + 0x1800))
sm read x.snap 0x5000 16
status_is 1
err_has "squib-mem: x.snap: record 1 at byte 0: the library cannot load it"
err_has "data checksum"
out_empty
copy_flip full.snap x.snap 61
sm read x.snap 0 1
status_is 1
err_has "squib-mem: x.snap: byte 60: header checksum"

# ---- diff ----
for pair in "full.snap full.snap" "full.snap stream.snap" "changed.snap rounds.snap" \
	"rounds.snap changed.snap"; do
	# shellcheck disable=SC2086 # two words
	sm diff $pair
	status_is 0
	out_empty
	err_empty
done
sm diff full.snap changed.snap
status_is 1
out_is 'differ: [0x0000000000001000, 0x0000000000002000) slot 0 (1 page)
differ: [0x0000000000006000, 0x0000000000008000) slot 0 (2 pages)
differ: [0x0000000000028000, 0x0000000000029000) slot 0 (1 page)
differ: [0x0000000000102000, 0x0000000000102900) slot 1 (1 page)
differ: [0x0000000000202000, 0x0000000000203000) slot 3 (1 page)
'
sm diff stream.snap rounds.snap
status_is 1
out_is 'differ: [0x0000000000001000, 0x0000000000002000) slot 0 (1 page)
differ: [0x0000000000006000, 0x0000000000008000) slot 0 (2 pages)
differ: [0x0000000000028000, 0x0000000000029000) slot 0 (1 page)
differ: [0x0000000000102000, 0x0000000000102900) slot 1 (1 page)
differ: [0x0000000000202000, 0x0000000000203000) slot 3 (1 page)
'
sm diff full.snap incr.snap
status_is 1
out_is 'carried only by A: [0x0000000000000000, 0x0000000000001000) slot 0 (1 page)
differ: [0x0000000000001000, 0x0000000000002000) slot 0 (1 page)
carried only by A: [0x0000000000002000, 0x0000000000006000) slot 0 (4 pages)
differ: [0x0000000000006000, 0x0000000000008000) slot 0 (2 pages)
carried only by A: [0x0000000000008000, 0x0000000000028000) slot 0 (32 pages)
differ: [0x0000000000028000, 0x0000000000029000) slot 0 (1 page)
carried only by A: [0x0000000000029000, 0x0000000000040000) slot 0 (23 pages)
differ: [0x0000000000102000, 0x0000000000102900) slot 1 (1 page)
differ: [0x0000000000202000, 0x0000000000203000) slot 3 (1 page)
carried only by A: [0x00000000fffff000, 0x0000000100000000) slot 7 (1 page)
'
sm diff full.snap extra.snap
status_is 1
out_is 'only in B: slot 9 [0x0000000000300000, 0x0000000000301000) "extra"
'
sm diff extra.snap full.snap
status_is 1
out_is 'only in A: slot 9 [0x0000000000300000, 0x0000000000301000) "extra"
'
sm diff reprot.snap full.snap
status_is 1
out_is 'slot 1: prot r-- in A, rw- in B
'
# An input that is not sound is trouble (2), not a difference.
copy_flip full.snap x.snap $((d0 + 0x2005))
sm diff full.snap x.snap
status_is 2
err_has "squib-mem: x.snap: byte $((d0 + 0x2005)): "
out_empty

# ---- ZERO runs longer than a DATA run may be ----
# sparse: 2 MiB, zeros but for page 300: ZERO 0+300, DATA 300+1, ZERO 301+211.
sm info sparse.snap
status_is 0
out_has "  runs: 3 (1 DATA, 2 ZERO)"
sm verify sparse.snap
status_is 0
raw_is sparse.snap sparse 0x0 0x200000
ds=$(data_offset sparse.snap 0)
copy_flip sparse.snap x.snap $((ds + 0x190123)) 0x40 # page 400, in the second hole
bad x.snap $((ds + 0x190123)) "no structure covers it" verify
sm read x.snap 0x180000 0x20000
status_is 1
err_has "squib-mem: x.snap: byte $((ds + 0x190123)): the ZERO run at byte "
err_has "has a byte that is not zero in its hole"
out_empty
sm read x.snap 0x12c000 16 # page 300 is sound
status_is 0
sm read x.snap 0x1000 16 # the first hole is too
status_is 0

# ---- the man page ----
if command -v groff >/dev/null; then
	checks=$((checks + 1))
	warnings=$(groff -man -Tutf8 -ww -z "$here/../squib-mem.1" 2>&1)
	[ -z "$warnings" ] || fail "groff warns about squib-mem.1: $warnings"
fi

echo "tool_squib_mem: $checks checks, $failures failed"
[ "$failures" -eq 0 ]

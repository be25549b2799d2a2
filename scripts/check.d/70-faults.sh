#!/usr/bin/env bash
# Failing hosts and memory errors.
#
# 1. tests/faults: every host request (allocation, mapping, thread key) of
#    every public function that makes one is failed in turn through the
#    injector of lib/fault.h; each failure must come back as
#    SQUIB_E_NO_MEMORY with a message and leave the handle exactly as it was,
#    or be absorbed where the design says so. Plain and under valgrind.
# 2. Every other unit suite (ctest label "unit") under valgrind memcheck with
#    Check's fork mode off: invalid reads/writes, uses of uninitialised
#    memory and definite or indirect leaks fail the stage. Test cases tagged
#    "no-valgrind" (e.g. 32768 mappings, more than valgrind's address-space
#    manager holds) are skipped here; they run in every other stage.
#
# Valgrind runs one thread at a time; --fair-sched=yes hands the CPU round
# the threads in turn, where its default lock lets a spinning thread starve
# the others for minutes. Each suite is also killed, and fails naming
# itself, after SQUIB_VG_TIMEOUT seconds (default 600): Check's own timeout
# (CK_DEFAULT_TIMEOUT) only works in fork mode, which is off here.
#
# Cost: one RelWithDebInfo build (~30 s on 2 cores) plus the valgrind runs.
set -euo pipefail
dir="$SQUIB_CHECK_DIR/faults"
cmake -S "$SQUIB_SRC" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSQUIB_WERROR=ON \
	-DSQUIB_BUILD_BENCH=OFF -DSQUIB_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$dir" -j "$JOBS" >/dev/null

command -v valgrind >/dev/null || { echo "70-faults: valgrind is missing" >&2; exit 1; }

# The failure points each function was swept through (docs/TESTING.md).
"$dir/tests/faults/check_faults" | grep '^failure points' | sort -u
"$dir/tests/faults/check_faults" process-start | grep '^failure points'
ctest --test-dir "$dir" --output-on-failure -j "$JOBS" -L faults

# Every other unit suite under valgrind, as ctest would run it.
logs="$dir/valgrind-logs"
rm -rf "$logs"
mkdir -p "$logs"
commands="$logs/commands"
ctest --test-dir "$dir" -N -V -L unit -LE 'faults|valgrind' |
	sed -n 's/^[0-9]*: Test command: //p' >"$commands"
if [ ! -s "$commands" ]; then
	echo "70-faults: no unit suites registered yet"
	exit 0
fi

limit="${SQUIB_VG_TIMEOUT:-600}"
run_one() {
	local line=$1 name start rc
	eval "set -- $line"
	name=$(basename "$1")
	start=$SECONDS
	rc=0
	(cd "$(dirname "$1")" &&
		CK_FORK=no CK_EXCLUDE_TAGS=no-valgrind CK_DEFAULT_TIMEOUT=600 \
			timeout --signal=KILL "$limit" \
			valgrind --quiet --fair-sched=yes --leak-check=full \
			--errors-for-leak-kinds=definite,indirect \
			--error-exitcode=99 "$@") >"$logs/$name.log" 2>&1 || rc=$?
	if [ $rc -eq 137 ] && [ $((SECONDS - start)) -ge "$limit" ]; then
		echo "valgrind: $name FAILED: still running after ${limit}s, killed" \
			"(SQUIB_VG_TIMEOUT raises the limit); log:" >&2
		cat "$logs/$name.log" >&2
		return 1
	fi
	if [ $rc -ne 0 ]; then
		echo "valgrind: $name FAILED (exit $rc) after $((SECONDS - start))s; log:" >&2
		cat "$logs/$name.log" >&2
		return 1
	fi
	echo "valgrind: $name clean in $((SECONDS - start))s ($(tail -n 1 "$logs/$name.log"))"
}

failed=0
running=0
while IFS= read -r line; do
	if [ $running -ge "$JOBS" ]; then
		wait -n || failed=1
		running=$((running - 1))
	fi
	run_one "$line" &
	running=$((running + 1))
done <"$commands"
while [ $running -gt 0 ]; do
	wait -n || failed=1
	running=$((running - 1))
done
exit $failed

#!/usr/bin/env bash
# Line and branch coverage of lib/ by the whole ctest suite (gcc --coverage,
# -O0). Prints the totals and every line and branch no test reaches; fails
# if a test fails or coverage drops below 95 % of lines or 90 % of branches
# (docs/TESTING.md lists what stays uncovered, and why).
# The valgrind runs of tests/faults stay in: valgrind has no membarrier(2),
# so they are what covers the readers' fallback to a full fence.
# -fprofile-update=atomic: the counters of code run by several threads at
# once would otherwise lose updates (gcov then reports negative counts).
# Cost: one -O0 build (~30 s on 2 cores) and the suite without valgrind.
set -euo pipefail
dir="$SQUIB_CHECK_DIR/coverage"
cmake -S "$SQUIB_SRC" -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DSQUIB_WERROR=ON \
	-DSQUIB_BUILD_BENCH=OFF -DSQUIB_BUILD_EXAMPLES=OFF \
	-DCMAKE_C_COMPILER=gcc -DCMAKE_C_FLAGS="--coverage -O0 -fprofile-update=atomic" \
	-DCMAKE_EXE_LINKER_FLAGS=--coverage -DCMAKE_SHARED_LINKER_FLAGS=--coverage >/dev/null
cmake --build "$dir" -j "$JOBS" >/dev/null
find "$dir" -name '*.gcda' -delete
ctest --test-dir "$dir" --output-on-failure -j "$JOBS"

# lib/fault.c is the test-only injector, not part of any shipped library.
# gcov runs once, on the objects of lib/ only, into a tracefile; the reports
# below read that.
trace="$dir/coverage.json"
gcovr --root "$SQUIB_SRC" --object-directory "$dir" --filter "$SQUIB_SRC/lib/" \
	--exclude "$SQUIB_SRC/lib/fault.c" --exclude-directories '.*/CMakeFiles/[0-9.]+' \
	--exclude-unreachable-branches --json "$trace" "$dir/lib"
report=(--root "$SQUIB_SRC" --add-tracefile "$trace" --sort-percentage)
echo "--- lines of lib/ (Missing: lines no test runs) ---"
gcovr "${report[@]}"
echo "--- branches of lib/ (Missing: lines with a branch no test takes) ---"
gcovr "${report[@]}" --branches
# The full report this run repeats goes to a file of the build dir, never to
# /dev/null: gcovr writes --output by replacing the path, which as root turns
# /dev/null into a regular file (scripts/check.sh checks it is intact).
status=0
gcovr "${report[@]}" --print-summary --output "$dir/coverage-floor.txt" \
	--fail-under-line 95 --fail-under-branch 90 >"$dir/summary.txt" || status=$?
sed -n 's/^\(lines\|branches\): /coverage of lib\/ \1: /p' "$dir/summary.txt"
if [ "$status" -ne 0 ]; then
	echo "85-coverage: below the floor of 95 % of lines and 90 % of branches" \
		"(gcovr status $status): cover the new code, or say in docs/TESTING.md" \
		"why it cannot be" >&2
	exit 1
fi

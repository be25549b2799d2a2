#!/usr/bin/env bash
# Every ctest suite under ThreadSanitizer; any report fails the run.
set -euo pipefail
dir="$SQUIB_CHECK_DIR/tsan"
cmake -S "$SQUIB_SRC" -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DSQUIB_WERROR=ON \
	-DSQUIB_SANITIZE=thread -DSQUIB_BUILD_BENCH=OFF >/dev/null
cmake --build "$dir" -j "$JOBS"
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	ctest --test-dir "$dir" --output-on-failure -j "$JOBS" -LE 'no-sanitizer|no-tsan'

#!/usr/bin/env bash
# Every ctest suite under AddressSanitizer and UndefinedBehaviorSanitizer;
# any report fails the run.
set -euo pipefail
dir="$SQUIB_CHECK_DIR/asan-ubsan"
cmake -S "$SQUIB_SRC" -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DSQUIB_WERROR=ON \
	-DSQUIB_SANITIZE=address,undefined -DSQUIB_BUILD_BENCH=OFF >/dev/null
cmake --build "$dir" -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir "$dir" --output-on-failure -j "$JOBS" -LE no-sanitizer

#!/usr/bin/env bash
# Release build, warnings as errors, every ctest suite.
set -euo pipefail
dir="$SQUIB_CHECK_DIR/release"
cmake -S "$SQUIB_SRC" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSQUIB_WERROR=ON >/dev/null
cmake --build "$dir" -j "$JOBS"
ctest --test-dir "$dir" --output-on-failure -j "$JOBS"

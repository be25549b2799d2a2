#!/usr/bin/env bash
# Differential fuzzing of the guest-memory API against the reference model
# of fuzz/ (see fuzz/README.md).
#
# Builds the libFuzzer target fuzz_mem with clang, ASan and UBSan in its own
# configure (the main build uses gcc), replays the committed corpus once to
# print the coverage it starts from, then fuzzes for SQUIB_FUZZ_SECONDS
# (default 120) with SQUIB_FUZZ_WORKERS processes (default 2, at most 2) on a
# scratch copy of the corpus, so fuzz/corpus/ is never modified. Any
# mismatch with the model, crash, leak, timeout or sanitizer report fails
# the stage and leaves the reproducer under $SQUIB_CHECK_DIR/fuzz/artifacts/.
#
# Cost: about 15 s of build, then SQUIB_FUZZ_SECONDS of wall time on 2 cores.
set -euo pipefail
dir="$SQUIB_CHECK_DIR/fuzz"
build="$dir/build"
seconds="${SQUIB_FUZZ_SECONDS:-120}"
workers="${SQUIB_FUZZ_WORKERS:-2}"
[ "$workers" -gt 2 ] && workers=2
[ "${JOBS:-2}" -lt "$workers" ] && workers="${JOBS:-2}"

cmake -S "$SQUIB_SRC" -B "$build" -DCMAKE_C_COMPILER=clang \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSQUIB_WERROR=ON \
	-DSQUIB_SANITIZE=address,undefined -DSQUIB_FUZZ_LIBFUZZER=ON \
	-DSQUIB_BUILD_BENCH=OFF -DSQUIB_BUILD_EXAMPLES=OFF >/dev/null
# Only the fuzzer: it links the static library, instrumented for coverage.
cmake --build "$build" -j "${JOBS:-2}" --target fuzz_mem
fuzzer="$build/fuzz/fuzz_mem"

rm -rf "$dir/corpus" "$dir/artifacts" "$dir/logs"
mkdir -p "$dir/corpus" "$dir/artifacts" "$dir/logs"
cp "$SQUIB_SRC"/fuzz/corpus/* "$dir/corpus/"

export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
common=(-max_len=4096 -timeout=10 -print_final_stats=1 "-artifact_prefix=$dir/artifacts/")

failed() {
	echo "fuzz: FAILED ($1); the log:" >&2
	tail -n 60 "$2" >&2
	for artifact in "$dir"/artifacts/*; do
		[ -e "$artifact" ] || continue
		echo "fuzz: reproducer: $artifact" >&2
		echo "fuzz:   replay it: SQUIB_FUZZ_TRACE=1 $fuzzer $artifact" >&2
		echo "fuzz:   or, from any build of the tree (gcc too): BUILD/fuzz/fuzz_replay $artifact" >&2
	done
	echo "fuzz: keep it as fuzz/corpus/regress-<what> once understood (fuzz/README.md)" >&2
	exit 1
}

# 1. The committed corpus alone: must pass, and says where coverage starts.
inputs=$(find "$dir/corpus" -type f | wc -l)
"$fuzzer" "${common[@]}" -runs=0 "$dir/corpus" >"$dir/logs/corpus.log" 2>&1 ||
	failed "the committed corpus" "$dir/logs/corpus.log"
start=$(grep -E '^#[0-9]+[[:space:]]+INITED' "$dir/logs/corpus.log" | tail -n 1 |
	sed -E 's/.*(cov: [0-9]+ ft: [0-9]+).*/\1/')
echo "fuzz: committed corpus, $inputs inputs: $start"

# 2. Bounded fuzzing; each worker writes $dir/logs/fuzz-N.log.
echo "fuzz: fuzzing for ${seconds}s with $workers worker(s)"
status=0
(cd "$dir/logs" && "$fuzzer" "${common[@]}" -max_total_time="$seconds" \
	-jobs="$workers" -workers="$workers" "$dir/corpus" >"$dir/logs/main.log" 2>&1) ||
	status=$?
for log in "$dir"/logs/fuzz-*.log; do
	if grep -qE 'MISMATCH|ERROR: |deadly signal|Test unit written' "$log"; then
		failed "$(basename "$log")" "$log"
	fi
done
if [ "$status" -ne 0 ] || compgen -G "$dir/artifacts/*" >/dev/null; then
	failed "libFuzzer exited $status" "$dir/logs/main.log"
fi

total_execs=0
total_rate=0
for log in "$dir"/logs/fuzz-*.log; do
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
	execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log")
	rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log")
	if [ -z "$done_line" ] || [ -z "$execs" ]; then
		failed "$(basename "$log") has no final statistics" "$log"
	fi
	echo "fuzz: $(basename "$log" .log): $done_line"
	total_execs=$((total_execs + execs))
	total_rate=$((total_rate + ${rate:-0}))
done
corpus_after=$(find "$dir/corpus" -type f | wc -l)
echo "fuzz: $total_execs executions in ${seconds}s ($total_rate exec/s over $workers" \
	"worker(s)), corpus $inputs -> $corpus_after inputs, no mismatch"

# ---- fuzz_snapshot: the snapshot codec and squib_mem_load() -------------
# The second target (fuzz/README.md, "The snapshot target"), the same two
# steps on a scratch copy of fuzz/corpus-snapshot/, for
# SQUIB_FUZZ_SNAPSHOT_SECONDS (default 45) with the same workers. The
# library's known deviations (README.md) are printed and tolerated unless
# SQUIB_FUZZ_STRICT=1.
snap_seconds="${SQUIB_FUZZ_SNAPSHOT_SECONDS:-45}"
snap="$dir/snapshot"
cmake --build "$build" -j "${JOBS:-2}" --target fuzz_snapshot
snap_fuzzer="$build/fuzz/fuzz_snapshot"
rm -rf "$snap"
mkdir -p "$snap/corpus" "$snap/artifacts" "$snap/logs"
cp "$SQUIB_SRC"/fuzz/corpus-snapshot/* "$snap/corpus/"
snap_common=(-max_len=65536 -timeout=10 -print_final_stats=1 "-artifact_prefix=$snap/artifacts/")
snap_failed() {
	echo "fuzz_snapshot: FAILED ($1); the log:" >&2
	tail -n 60 "$2" >&2
	for artifact in "$snap"/artifacts/*; do
		[ -e "$artifact" ] || continue
		echo "fuzz_snapshot: reproducer: $artifact" >&2
		echo "fuzz_snapshot:   replay it: SQUIB_FUZZ_TRACE=1 $snap_fuzzer $artifact" >&2
		echo "fuzz_snapshot:   or from any build: BUILD/fuzz/fuzz_snapshot_replay $artifact" >&2
	done
	echo "fuzz_snapshot: keep it as fuzz/corpus-snapshot/regress-<what> once understood" >&2
	exit 1
}
snap_inputs=$(find "$snap/corpus" -type f | wc -l)
"$snap_fuzzer" "${snap_common[@]}" -runs=0 "$snap/corpus" >"$snap/logs/corpus.log" 2>&1 ||
	snap_failed "the committed corpus" "$snap/logs/corpus.log"
snap_start=$(grep -E '^#[0-9]+[[:space:]]+INITED' "$snap/logs/corpus.log" | tail -n 1 |
	sed -E 's/.*(cov: [0-9]+ ft: [0-9]+).*/\1/')
echo "fuzz_snapshot: committed corpus, $snap_inputs inputs: $snap_start"
grep -h 'known deviation' "$snap/logs/corpus.log" | sed 's/^/  /' || true
echo "fuzz_snapshot: fuzzing for ${snap_seconds}s with $workers worker(s)"
status=0
(cd "$snap/logs" && "$snap_fuzzer" "${snap_common[@]}" -max_total_time="$snap_seconds" \
	-jobs="$workers" -workers="$workers" "$snap/corpus" >"$snap/logs/main.log" 2>&1) ||
	status=$?
for log in "$snap"/logs/fuzz-*.log; do
	if grep -qE 'MISMATCH|ERROR: |deadly signal|Test unit written' "$log"; then
		snap_failed "$(basename "$log")" "$log"
	fi
done
if [ "$status" -ne 0 ] || compgen -G "$snap/artifacts/*" >/dev/null; then
	snap_failed "libFuzzer exited $status" "$snap/logs/main.log"
fi
snap_execs=0
for log in "$snap"/logs/fuzz-*.log; do
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
	execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log")
	if [ -z "$done_line" ] || [ -z "$execs" ]; then
		snap_failed "$(basename "$log") has no final statistics" "$log"
	fi
	echo "fuzz_snapshot: $(basename "$log" .log): $done_line"
	snap_execs=$((snap_execs + execs))
done
echo "fuzz_snapshot: $snap_execs executions in ${snap_seconds}s, corpus $snap_inputs ->" \
	"$(find "$snap/corpus" -type f | wc -l) inputs, no mismatch"

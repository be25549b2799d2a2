#!/usr/bin/env bash
# The whole test suite (README command 2; .ci/run runs exactly this).
#
# Installs missing Debian packages, then runs every stage of scripts/check.d/
# in order: the release build with -Werror and its ctest suites, the same
# suites under ASan+UBSan and under TSan, the consumers against an installed
# tree, the ABI comparison, fuzzing, fault injection, coverage and linters.
# Stops at the first failing stage and says which.
#
#   scripts/check.sh              every stage
#   scripts/check.sh 10 30        only the stages whose names start so
set -euo pipefail
cd "$(dirname "$0")/.."

export SQUIB_SRC="$PWD"
export SQUIB_CHECK_DIR="${SQUIB_CHECK_DIR:-$PWD/build-check}"
export JOBS="${JOBS:-$(nproc)}"
mkdir -p "$SQUIB_CHECK_DIR"

scripts/install-deps.sh

start=$SECONDS
failed=0
passed=0
for stage in scripts/check.d/[0-9][0-9]-*.sh; do
	name=$(basename "$stage" .sh)
	if [ $# -gt 0 ]; then
		selected=0
		for want in "$@"; do [[ $name == "$want"* ]] && selected=1; done
		[ $selected -eq 1 ] || continue
	fi
	echo "==> $name"
	stage_start=$SECONDS
	if ! bash "$stage"; then
		echo "==> $name FAILED after $((SECONDS - stage_start))s" >&2
		failed=1
		break
	fi
	echo "==> $name passed in $((SECONDS - stage_start))s"
	passed=$((passed + 1))
done
echo "==> total $((SECONDS - start))s"
echo "stages: $passed passed, $failed failed"
exit $failed

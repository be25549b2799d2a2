#!/usr/bin/env bash
# The whole test suite (README command 2; .ci/run runs exactly this).
#
# Installs missing Debian packages, then runs every stage of scripts/check.d/
# in order: the release build with -Werror and its ctest suites, the same
# suites under ASan+UBSan and under TSan, the consumers against an installed
# tree, the ABI comparison, fuzzing, fault injection, coverage and linters.
# Stops at the first failing stage and says which. Fails, naming the stage,
# when /dev/null is no longer a character device afterwards.
#
#   scripts/check.sh              every stage
#   scripts/check.sh 10 30        only the stages whose names start so
set -euo pipefail
cd "$(dirname "$0")/.."

export SQUIB_SRC="$PWD"
export SQUIB_CHECK_DIR="${SQUIB_CHECK_DIR:-$PWD/build-check}"
export JOBS="${JOBS:-$(nproc)}"
mkdir -p "$SQUIB_CHECK_DIR"

# A tool told to write its output to /dev/null may replace the path instead
# of opening it (gcovr 5.2 did, in stage 85): run as root, that turns
# /dev/null into a regular file that every later `>/dev/null` of the machine
# fills. Checked after each stage, so the run names the stage that did it.
devnull_intact() {
	[ -c /dev/null ] && return 0
	echo "==> /dev/null IS NO LONGER A CHARACTER DEVICE ($1): $(ls -l /dev/null)" >&2
	echo "==> a tool replaced it; fix the stage, then restore it as root:" \
		"rm -f /dev/null && mknod -m 666 /dev/null c 1 3" >&2
	return 1
}
devnull_intact "before any stage ran" || exit 1

scripts/install-deps.sh

start=$SECONDS
failed=0
passed=0
devnull_blamed=0
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
	if ! devnull_intact "after $name"; then
		echo "==> $name FAILED: /dev/null was replaced while it ran" >&2
		failed=1
		devnull_blamed=1
		break
	fi
	echo "==> $name passed in $((SECONDS - stage_start))s"
	passed=$((passed + 1))
done
echo "==> total $((SECONDS - start))s"
# Also after a failed stage: the run fails while /dev/null is broken.
[ $devnull_blamed -eq 1 ] || devnull_intact "at the end of the run" || failed=1
echo "stages: $passed passed, $failed failed"
exit $failed

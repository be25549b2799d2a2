#!/usr/bin/env bash
# Static checks, each failing the stage on any finding:
#   - clang-tidy on lib/ with the committed .clang-tidy (its comments say why
#     each disabled check is off), using the compile commands of a clang
#     build, plus host.c once more as the fault-injection build sees it;
#   - cppcheck on lib/ (warning, style, performance, portability), false
#     positives listed with reasons in .cppcheck/suppressions.txt;
#   - clang-format --dry-run --Werror on every C and C++ source of the repo.
# Cost: a configure (no build) and ~15 s of clang-tidy on 2 cores.
set -euo pipefail
cd "$SQUIB_SRC"
dir="$SQUIB_CHECK_DIR/lint"
cmake -S "$SQUIB_SRC" -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null

failed=0
sources=(lib/*.c)

echo "--- clang-tidy $(clang-tidy --version | sed -n 's/.*version \([0-9.]*\).*/\1/p') on ${#sources[@]} files of lib/"
tidy() {
	clang-tidy -p "$dir" --quiet "$@" 2>&1 | grep -v '^[0-9]* warnings\? generated\.$' || true
}
out=$(
	printf '%s\n' "${sources[@]}" | xargs -P "$JOBS" -n 1 bash -c \
		'clang-tidy -p "$0" --quiet "$1" 2>&1 | grep -v "warnings\? generated\.$" || true' "$dir"
	tidy --extra-arg=-DSQUIB_FAULT_INJECTION "--extra-arg=-I$SQUIB_SRC/lib" lib/host.c
)
if grep -q ': \(warning\|error\):' <<<"$out"; then
	echo "$out"
	echo "clang-tidy: findings above" >&2
	failed=1
else
	echo "clang-tidy: clean"
fi

echo "--- $(cppcheck --version) on lib/"
# shellcheck disable=SC2054 # the commas belong to --enable
cppcheck_args=(--enable=warning,style,performance,portability --std=c11 --platform=unix64
	--library=posix -I include -I "$dir/include" -I lib -D__linux__ -D__GNUC__ -D__ELF__
	-DSQUIB_CORE_BUILDING --inline-suppr --suppressions-list=.cppcheck/suppressions.txt
	--error-exitcode=1 --quiet --template='{file}:{line}:{column}: {severity}: {message} [{id}]')
if cppcheck "${cppcheck_args[@]}" "${sources[@]}" &&
	cppcheck "${cppcheck_args[@]}" -DSQUIB_FAULT_INJECTION lib/host.c lib/fault.c; then
	echo "cppcheck: clean"
else
	echo "cppcheck: findings above" >&2
	failed=1
fi

echo "--- clang-format $(clang-format --version | sed -n 's/.*version \([0-9.]*\).*/\1/p')"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	mapfile -t formatted < <(git ls-files --cached --others --exclude-standard -- \
		'*.c' '*.h' '*.cpp' '*.hpp' '*.cc')
else
	mapfile -t formatted < <(find . -path './build*' -prune -o \
		\( -name '*.c' -o -name '*.h' -o -name '*.cpp' -o -name '*.hpp' -o -name '*.cc' \) \
		-type f -print)
fi
existing=()
for file in "${formatted[@]}"; do [ -f "$file" ] && existing+=("$file"); done
if clang-format --dry-run --Werror "${existing[@]}"; then
	echo "clang-format: ${#existing[@]} files clean"
else
	echo "clang-format: run clang-format -i on the files above" >&2
	failed=1
fi
exit $failed

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Same-process A/B of this tree's libsquibcore against release 0.2.0
# (docs/PERFORMANCE.md, "0.3's write path"), in one command:
#
#   bench/ab-0.2.sh [squib-ab options]     e.g. --rounds 101, or --quick
#
# 1. a git worktree of the 0.2.0 commit (created if missing, never
#    committed to, left in place for the next run);
# 2. both libraries built the same way: RelWithDebInfo, the project's
#    default flags, nothing but the shared library (and squib-ab here);
# 3. squib-ab with 0.2.0 as A and this tree as B.
#
# Environment:
#   SQUIB_AB_BASE      the 0.2.0 commit (default: tag v0.2.0 or 0.2.0 if one
#                      exists, else 83f48e8, the last commit of the
#                      changelog's [0.2.0] entry before [Unreleased] began)
#   SQUIB_AB_WORKTREE  where its worktree lives (default /tmp/squib-0.2.0)
#   SQUIB_AB_DIR       build directories (default /tmp/squib-ab)
#   CC                 the compiler, for both builds (default: cmake's)
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
worktree=${SQUIB_AB_WORKTREE:-/tmp/squib-0.2.0}
dir=${SQUIB_AB_DIR:-/tmp/squib-ab}
jobs=$(nproc 2>/dev/null || echo 2)

if [ -n "${SQUIB_AB_BASE:-}" ]; then
	base=$(git -C "$src" rev-parse --verify "${SQUIB_AB_BASE}^{commit}")
else
	base=
	for tag in v0.2.0 0.2.0; do
		if base=$(git -C "$src" rev-parse -q --verify "refs/tags/$tag^{commit}"); then
			break
		fi
	done
	[ -n "$base" ] || base=$(git -C "$src" rev-parse --verify \
		"83f48e880e52f716480ad6bd3b9cbf479afe501a^{commit}")
fi

if [ -e "$worktree" ]; then
	have=$(git -C "$worktree" rev-parse HEAD 2>/dev/null || true)
	if [ "$have" != "$base" ]; then
		echo "ab-0.2.sh: $worktree exists but is not a checkout of $base;" \
			"remove it (git worktree remove) or set SQUIB_AB_WORKTREE" >&2
		exit 1
	fi
else
	git -C "$src" worktree add --detach "$worktree" "$base" >&2
fi

# The same configuration for both: only the source differs.
configure=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF -DSQUIB_BUILD_STATIC=OFF
	-DSQUIB_BUILD_EXAMPLES=OFF)
echo "ab-0.2.sh: building 0.2.0 ($(git -C "$worktree" log -1 --format='%h %s'))" >&2
cmake -S "$worktree" -B "$dir/0.2.0" "${configure[@]}" -DSQUIB_BUILD_BENCH=OFF >/dev/null
cmake --build "$dir/0.2.0" -j "$jobs" --target squibcore >/dev/null
echo "ab-0.2.sh: building this tree ($src, $(git -C "$src" log -1 --format=%h)" \
	"plus uncommitted changes, if any)" >&2
cmake -S "$src" -B "$dir/this" "${configure[@]}" -DSQUIB_BUILD_BENCH=ON >/dev/null
cmake --build "$dir/this" -j "$jobs" --target squibcore squib-ab >/dev/null

exec "$dir/this/bench/squib-ab" "$@" \
	"$dir/0.2.0/lib/libsquibcore.so.0" "$dir/this/lib/libsquibcore.so.0"

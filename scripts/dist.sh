#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The source tarball of a release, in one command (docs/PACKAGING.md):
#
#   scripts/dist.sh [--dirty] [--src DIR] [--out DIR]
#
# writes OUT/squib-core-VERSION.tar.xz, VERSION being the project VERSION of
# CMakeLists.txt: the files of `git archive HEAD` under one top directory
# squib-core-VERSION/, without .git, and without what .gitattributes marks
# export-ignore (debian/: Debian's packaging goes beside the tarball, in the
# debian.tar of the source package). Reproducible, the same commit giving
# the same bytes anywhere: entries sorted by name, every mtime the commit's
# committer date, owner and group 0 (numeric, no names), modes 0644 and
# 0755, GNU tar format, xz -6 on one thread.
#
# Refuses to run while the tree has uncommitted changes (a modified or
# staged file, an untracked file that is not ignored), unless told --dirty:
# it then packs the working tree's files that `git ls-files -co
# --exclude-standard` lists (committed or not; a deleted file and an
# export-ignore one are left out),
# with the VERSION of the working tree's CMakeLists.txt and HEAD's date. On
# a clean tree both ways give the same bytes (stage 47 checks it).
#
#   --dirty    pack the working tree, uncommitted changes included
#   --src DIR  the git tree to pack (default: the one holding this script)
#   --out DIR  where to write the tarball (default: the current directory)
#
# Prints the tarball's path. Needs git, GNU tar (--sort) and xz.
set -euo pipefail

usage() {
	sed -n 's/^#   \(scripts\/dist.sh\|--\)/\1/p' "$0"
}

dirty=0
src=$(cd "$(dirname "$0")/.." && pwd)
out=$PWD
while [ $# -gt 0 ]; do
	case $1 in
	--dirty) dirty=1 ;;
	--src)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		src=$2
		shift
		;;
	--out)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		out=$2
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "dist: unknown argument '$1'" >&2
		usage >&2
		exit 2
		;;
	esac
	shift
done

src=$(git -C "$src" rev-parse --show-toplevel) ||
	{ echo "dist: $src is not a git tree" >&2; exit 2; }
[ -d "$out" ] || { echo "dist: no directory $out" >&2; exit 2; }
out=$(cd "$out" && pwd)
cd "$src"

changes=$(git status --porcelain --untracked-files=normal)
if [ -n "$changes" ] && [ $dirty -eq 0 ]; then
	echo "dist: $src has uncommitted changes (--dirty packs them too):" >&2
	head -n 20 <<<"$changes" >&2
	exit 1
fi

if [ $dirty -eq 1 ]; then
	cmakelists=$(cat CMakeLists.txt)
else
	cmakelists=$(git show HEAD:CMakeLists.txt)
fi
version=$(sed -n 's/^[[:space:]]*VERSION[[:space:]]\+\([0-9.]\+\)$/\1/p' <<<"$cmakelists" | head -n1)
[ -n "$version" ] || { echo "dist: no project VERSION in CMakeLists.txt" >&2; exit 1; }
commit_time=$(git log -1 --format=%ct HEAD)
name="squib-core-$version"
tarball="$out/$name.tar.xz"

stage=$(mktemp -d "${TMPDIR:-/tmp}/squib-dist.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$name"
if [ $dirty -eq 1 ]; then
	# ls-files -c still lists a tracked file deleted from the working tree.
	# check-attr -z prints PATH NUL ATTRIBUTE NUL VALUE NUL per path.
	git ls-files -co --exclude-standard -z | git check-attr -z --stdin export-ignore |
		while IFS= read -r -d '' f && IFS= read -r -d '' _ && IFS= read -r -d '' value; do
			[ "$value" = set ] && continue
			if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
		done |
		tar -c --null --no-recursion -T - -f - | tar -x -C "$stage/$name" -f -
else
	git archive --format=tar HEAD | tar -x -C "$stage/$name" -f -
fi

# The file list, dates, owners and modes of the tarball are the ones given
# here, not the checkout's (umask, clone time, user).
tar -C "$stage" -c -f - --sort=name --format=gnu --mtime="@$commit_time" \
	--owner=0 --group=0 --numeric-owner --mode='u=rwX,go=rX' "$name" |
	xz -6 -T1 -c >"$tarball.tmp"
mv "$tarball.tmp" "$tarball"
echo "$tarball"

#!/bin/sh
# SPDX-License-Identifier: MIT
# Fails when the API tour in README.md differs from examples/tour.c.
#
#   examples/readme_tour_in_sync.sh README.md examples/tour.c
#
# The README's tour is the ```c block that follows the line
# "<!-- tour: examples/tour.c -->"; it must equal tour.c from its first
# #include line to the end, byte for byte (tabs included).
set -eu
readme=$1
tour=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

awk '
	$0 == "<!-- tour: examples/tour.c -->" { marker = 1; next }
	marker && !code && $0 == "```c" { code = 1; next }
	code && $0 == "```" { exit }
	code { print }
' "$readme" >"$tmp/readme.c"
sed -n '/^#include/,$p' "$tour" >"$tmp/tour.c"

if [ ! -s "$tmp/readme.c" ]; then
	echo "readme_tour_in_sync: no \`\`\`c block after <!-- tour: examples/tour.c --> in $readme" >&2
	exit 1
fi
if ! diff -u --label "examples/tour.c (from its first #include)" --label "README.md tour" \
	"$tmp/tour.c" "$tmp/readme.c"; then
	echo "readme_tour_in_sync: README.md and examples/tour.c differ; make them identical" >&2
	exit 1
fi
echo "readme_tour_in_sync: README.md tour matches examples/tour.c ($(wc -l <"$tmp/tour.c") lines)"

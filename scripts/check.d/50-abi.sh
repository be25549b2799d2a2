#!/usr/bin/env bash
# The ABI promise (docs/ABI.md): the tree must stay binary- and
# source-compatible with the release reference in abi/ (abi-compliance-checker
# and abidiff, plus the released version nodes), and the checker must still
# bite: deliberately broken copies of the library must be reported, pure
# additions must pass. The symbol audit runs with every ctest suite
# (abi-symbol-audit).
#
# Cost: about 25 s of CPU, all builds included: 2 s for the comparison, the
# rest for the 14 variants, two at a time (measured 45-60 s wall on the
# shared, busy 2-core machine; abi-compliance-checker itself takes 0.2 s).
set -euo pipefail
dir="$SQUIB_CHECK_DIR/abi"
"$SQUIB_SRC/scripts/abi-check.sh" --src "$SQUIB_SRC" --work "$dir/check"
"$SQUIB_SRC/tests/abi/abi-variants.sh" --src "$SQUIB_SRC" --work "$dir/variants" \
	--jobs "$(( ${JOBS:-2} < 2 ? ${JOBS:-2} : 2 ))"

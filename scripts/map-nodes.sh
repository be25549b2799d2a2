#!/usr/bin/env bash
# Prints the global names of an ELF version script, one "NODE NAME" line
# each, sorted: the one parser of lib/libsquibcore.map that every check
# shares (the symbol audit, 80-hardening, tests/consumers), so none of them
# assumes how many version nodes there are.
#
#   scripts/map-nodes.sh [MAP]     (default: lib/libsquibcore.map of this tree)
#
#   SQUIB_CORE_0.2 squib_core_version
#   ...
#   SQUIB_CORE_0.3 squib_range_is_empty
#
# Only names in global: parts count (local: *; hides the rest). /* */ and #
# comments are ignored, also inside a node. Exits 1 when the script names no
# global symbol at all, 2 when MAP is missing.
set -euo pipefail
map="${1:-$(dirname "$0")/../lib/libsquibcore.map}"
[ -f "$map" ] || {
	echo "map-nodes: no $map" >&2
	exit 2
}

# Comments go first (a /* */ may span lines), then the rest is read as
# tokens, so layout does not matter: "NAME {" opens a node, "}" closes it
# (the inherited node names after it are skipped), "global:" and "local:"
# switch the scope, and every other word inside a node is a name.
pairs="$(perl -0777 -ne '
	s{/\*.*?\*/}{ }gs; s{#[^\n]*}{}g;
	my @tok = /([^\s{};:]+|[{};:])/g;
	my ($node, $scope);
	for (my $i = 0; $i < @tok; $i++) {
		my $t = $tok[$i];
		if (!defined $node) {
			if ($i + 1 < @tok && $tok[$i + 1] eq "{") {
				($node, $scope) = ($t, "global");
				$i++;
			}
			next;
		}
		if ($t eq "}") {
			undef $node;
		} elsif (($t eq "global" || $t eq "local") && $i + 1 < @tok && $tok[$i + 1] eq ":") {
			$scope = $t;
			$i++;
		} elsif ($t ne ";" && $scope eq "global") {
			print "$node $t\n";
		}
	}
' "$map" | sort -u)"
if [ -z "$pairs" ]; then
	echo "map-nodes: no global name in $map" >&2
	exit 1
fi
printf '%s\n' "$pairs"

#!/usr/bin/env bash
# README command 1: from a fresh Debian 12 machine to a built, installed and
# exercised libsquibcore.
#
#   1. installs the missing Debian packages (scripts/install-deps.sh; uses
#      sudo for apt-get when not run as root),
#   2. configures a Release build in build/,
#   3. builds it,
#   4. installs it into _install/ (not system-wide),
#   5. builds examples/guest_layout.c against that INSTALLED copy with
#      nothing but `pkg-config --cflags --libs squib-core`, and runs it.
#
# Safe to re-run: every step picks up where the previous run left off.
# Environment:
#   SQUIB_PREFIX     install prefix              (default: <repo>/_install)
#   SQUIB_BUILD_DIR  build directory             (default: <repo>/build)
#   JOBS             parallel build jobs         (default: nproc)
#   CC               compiler for step 5         (default: cc)
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

build=$(realpath -m "${SQUIB_BUILD_DIR:-$src/build}")
prefix=$(realpath -m "${SQUIB_PREFIX:-$src/_install}")
jobs=${JOBS:-$(nproc)}
cc=${CC:-cc}
# pkg-config output is split on blanks, and squib-core.pc does not escape them.
if [[ $prefix =~ [[:space:]] ]]; then
	echo "bootstrap: the install prefix '$prefix' contains a blank; pick another SQUIB_PREFIX" >&2
	exit 2
fi
start=$SECONDS
step_no=0

step() {
	step_no=$((step_no + 1))
	printf '\n==> [%d/5] %s\n' "$step_no" "$*"
}

# Shows a command, then runs it.
run() {
	local arg line='    $'
	for arg in "$@"; do
		if [[ $arg =~ ^[][A-Za-z0-9_./=:,+@%-]+$ ]]; then
			line+=" $arg"
		else
			line+=" $(printf '%q' "$arg")"
		fi
	done
	echo "$line"
	"$@"
}

step "Installing missing Debian packages (scripts/debian-packages.txt)"
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
	echo "    not root and sudo not found: if a package is missing, re-run this as root"
fi
run scripts/install-deps.sh
echo "    all packages present"

step "Configuring a Release build in $build"
run cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release

step "Building with $jobs jobs"
run cmake --build "$build" -j "$jobs"

step "Installing into $prefix"
run cmake --install "$build" --prefix "$prefix"

step "Building examples/guest_layout.c against the installed library"
# Where the install put squib-core.pc: lib/, lib64/ or lib/<multiarch>/,
# whatever GNUInstallDirs chose. The manifest names the files just installed.
pc=$(grep -E '/lib[^/]*/(.*/)?pkgconfig/squib-core\.pc$' "$build/install_manifest.txt" | head -n1 || true)
if [ -z "$pc" ] || [ ! -f "$pc" ]; then
	echo "bootstrap: the install did not produce lib*/pkgconfig/squib-core.pc" >&2
	exit 1
fi
pcdir=$(dirname "$pc")
export PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
echo "    PKG_CONFIG_PATH=$PKG_CONFIG_PATH"
echo "    pkg-config squib-core: version $(pkg-config --modversion squib-core)"
libdir=$(pkg-config --variable=libdir squib-core)
read -ra pc_flags <<<"$(pkg-config --cflags --libs squib-core)"
exe="$build/guest_layout-installed"
run "$cc" -std=c11 -O2 -Wall -Wextra -Wpedantic -Werror examples/guest_layout.c -o "$exe" \
	"${pc_flags[@]}" "-Wl,-rpath,$libdir"
# Prove it runs against the installed copy, not the build tree or /usr/lib.
resolved=$(ldd "$exe" | awk '$1 == "libsquibcore.so.0" { print $3 }')
if [ "$(realpath -m "$resolved")" != "$(realpath -m "$libdir/libsquibcore.so.0")" ]; then
	echo "bootstrap: $exe loads libsquibcore.so.0 from '$resolved', not from $libdir" >&2
	exit 1
fi
echo "    libsquibcore.so.0 resolves to $resolved"

printf '\n==> Running %s\n' "$exe"
"$exe"

printf '\n==> bootstrap done in %ds\n' $((SECONDS - start))
cat <<EOF
    installed tree: $prefix
    compile your own program the same way:
      PKG_CONFIG_PATH=$pcdir \\
        cc app.c \$(pkg-config --cflags --libs squib-core) -Wl,-rpath,$libdir
    next: scripts/check.sh runs the whole test suite.
EOF

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
#      nothing but `pkg-config --cflags --libs squib-core`, and runs it,
#   6. builds the KVM example (examples/kvm/: the squib-kvm.so plugin, the
#      monitor and its real-mode guest, assembled with GNU as) the same
#      way, and runs the guest with the installed libsquibcore.so.0 when
#      /dev/kvm is usable (and says so when it is not).
#
# Safe to re-run: every step picks up where the previous run left off.
# Environment:
#   SQUIB_PREFIX     install prefix              (default: <repo>/_install)
#   SQUIB_BUILD_DIR  build directory             (default: <repo>/build)
#   JOBS             parallel build jobs         (default: nproc)
#   CC               compiler for steps 5 and 6  (default: cc)
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
	printf '\n==> [%d/6] %s\n' "$step_no" "$*"
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

step "Building the KVM example (examples/kvm/) against the installed library"
# The plugin gets the headers only (it dlopen()s the library); the monitor
# links it like any program; the guest is GNU as output made flat.
kvm_dir="$build/kvm-installed"
kvm_ok=1
if [ "$(uname -m)" != x86_64 ]; then
	echo "    skipped: the guest is x86 code and this machine is $(uname -m)"
	kvm_ok=0
elif ! echo '#include <linux/kvm.h>' | "$cc" -E -x c - >/dev/null 2>&1; then
	echo "    skipped: <linux/kvm.h> not found (Debian: linux-libc-dev)"
	kvm_ok=0
fi
if [ "$kvm_ok" = 1 ]; then
	mkdir -p "$kvm_dir"
	warn=(-std=c11 -O2 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror)
	read -ra pc_cflags <<<"$(pkg-config --cflags squib-core)"
	run "$cc" -E -P -x assembler-with-cpp -I examples/kvm examples/kvm/guest.S \
		-o "$kvm_dir/guest.s"
	run as --32 "$kvm_dir/guest.s" -o "$kvm_dir/guest.o"
	run objcopy -O binary -j .text "$kvm_dir/guest.o" "$kvm_dir/guest.bin"
	run "$cc" "${warn[@]}" -shared -fPIC -fvisibility=hidden \
		examples/kvm/kvm_plugin.c examples/kvm/kvm_slots.c -o "$kvm_dir/squib-kvm.so" \
		"${pc_cflags[@]}" -pthread -ldl
	if readelf -d "$kvm_dir/squib-kvm.so" | grep -q 'NEEDED.*libsquibcore'; then
		echo "bootstrap: squib-kvm.so links libsquibcore; a plugin must dlopen it" >&2
		exit 1
	fi
	run "$cc" "${warn[@]}" examples/kvm/monitor.c examples/kvm/vcpu.c examples/kvm/check.c \
		-o "$kvm_dir/example_kvm" "${pc_flags[@]}" -ldl "-Wl,-rpath,$libdir"

	printf '\n==> Running %s\n' "$kvm_dir/example_kvm"
	set +e
	"$kvm_dir/example_kvm" "$kvm_dir/squib-kvm.so" "$kvm_dir/guest.bin" \
		"$libdir/libsquibcore.so.0"
	rc=$?
	set -e
	case $rc in
	0) echo "    the guest ran under KVM on the installed library" ;;
	77) echo "    KVM is not usable here (see the SKIP line above): the guest did not run" ;;
	*)
		echo "bootstrap: the KVM example failed (exit status $rc)" >&2
		exit 1
		;;
	esac
fi

printf '\n==> bootstrap done in %ds\n' $((SECONDS - start))
cat <<EOF
    installed tree: $prefix
    compile your own program the same way:
      PKG_CONFIG_PATH=$pcdir \\
        cc app.c \$(pkg-config --cflags --libs squib-core) -Wl,-rpath,$libdir
    next: scripts/check.sh runs the whole test suite.
EOF

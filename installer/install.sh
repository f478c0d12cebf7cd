#!/usr/bin/env bash
# Installs sshbox on this Debian 12 host (root; idempotent, re-runnable):
# packages, binaries, sshbox.conf, group and state dir, the base image, the
# watchdog, and the sshd drop-in (validated, and its effective settings
# checked with sshd -T, before any reload).
#   installer/install.sh [--demo] [--no-x11] [--root DIR] [path and name options]
# --demo also creates the user "demo" (--demo-user NAME) with a fresh key and
# logs in once. Every path and name can be moved (installer/paths.sh lists
# them; docs/admin-guide.md explains): --root DIR puts a whole install
# under DIR beside the real one.
# The build and placement are here; the rest (config, group, state dir,
# base image, watchdog, sshd drop-in, demo) is installer/setup.sh, which the
# Debian package's postinst runs too.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/installer/paths.sh"
paths_parse "$@"
for arg in ${rest[@]+"${rest[@]}"}; do
	case $arg in
	--demo | --no-x11) ;; # setup.sh's
	-h | --help) sed -n '2,10p' "$0"; sed -n '/^#   --root/,/^#   --demo-user/p' "$src/installer/paths.sh"; exit 0 ;;
	*) echo "install.sh: unknown option \"$arg\"" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
say() { echo "sshbox install: $*"; }

# Only the real engine socket may be started here; another is the admin's.
if [ "$engine" = /var/run/docker.sock ]; then "$src/installer/deps.sh"; else "$src/installer/deps.sh" --no-engine; fi

say "building"
# SSHBOX_BUILD_DIR keeps the build between runs (tests install many times).
build=${SSHBOX_BUILD_DIR:-$(mktemp -d /var/tmp/sshbox-build.XXXXXX)}
cleanup() {
	[ -n "${SSHBOX_BUILD_DIR:-}" ] || rm -rf "$build"
	return 0
}
trap cleanup EXIT
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
	-DCMAKE_INSTALL_PREFIX="$prefix" >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
# Staged, then each file renamed into place: a running shim or watchdog
# keeps its old inode, and a login at any moment execs a whole binary, old
# or new, never a half-written or missing one (cmake --install unlinks and
# rewrites in place).
stage=$build/stage
rm -rf "$stage"
DESTDIR=$stage cmake --install "$build" >/dev/null
place_tree "$stage"
rm -rf "$stage"
say "installed binaries under $prefix"

"$src/installer/setup.sh" "$@"

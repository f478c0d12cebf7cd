#!/usr/bin/env bash
# Builds the Debian package from this tree: dpkg-buildpackage -us -uc -b on
# a copy (dpkg-buildpackage writes beside the source; the tree stays
# clean) and prints the .deb's path. Installs the build dependencies
# (installer/deps.sh --package). A .deb of the same sources in OUTDIR is
# reused (OUTDIR/.source-hash names the sources it was built from).
#   installer/build-deb.sh [OUTDIR]     (default: ./deb)
# SSHBOX_DEB_VERSION=V builds version V instead of debian/changelog's
# (a local rebuild, or the upgrade test's "newer build").
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$PWD/deb}
[ "$(id -u)" = 0 ] || [ -n "${SSHBOX_DEB_NO_DEPS:-}" ] ||
	{ echo "build-deb.sh: run as root (it installs the build dependencies)" >&2; exit 1; }
[ -n "${SSHBOX_DEB_NO_DEPS:-}" ] || "$src/installer/deps.sh" --package --no-engine

# The sources that go into the package: what git tracks, else the tree
# without build output.
files() {
	if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$src" ls-files -z --cached --others --exclude-standard | grep -zv '^build'
	else
		(cd "$src" && find . -type f ! -path './build*' ! -path './deb/*' ! -path './.git/*' -printf '%P\0')
	fi
}
hash=$(cd "$src" && files | sort -z | xargs -0 -r sha256sum | sha256sum | cut -c1-12)
version=${SSHBOX_DEB_VERSION:-$(sed -n '1s/^sshbox (\([^)]*\)).*/\1/p' "$src/debian/changelog")}
[[ $version =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || { echo "build-deb.sh: \"$version\" is not a Debian version" >&2; exit 2; }
hash=$hash-$version
arch=$(dpkg --print-architecture)
deb=$out/sshbox_${version}_${arch}.deb
if [ -f "$deb" ] && [ "$(cat "$out/.source-hash" 2>/dev/null)" = "$hash" ]; then
	echo "$deb"
	exit 0
fi

work=$(mktemp -d /var/tmp/sshbox-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/sshbox"
(cd "$src" && files | xargs -0 cp --parents -t "$work/sshbox")
sed -i "1s/^sshbox ([^)]*)/sshbox ($version)/" "$work/sshbox/debian/changelog"
(cd "$work/sshbox" && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) ||
	{ tail -n 30 "$work/build.log" >&2; echo "build-deb.sh: dpkg-buildpackage failed" >&2; exit 1; }
install -d "$out"
rm -f "$out"/sshbox_*.deb
cp "$work/sshbox_${version}_${arch}.deb" "$deb"
echo "$hash" >"$out/.source-hash"
echo "$deb"

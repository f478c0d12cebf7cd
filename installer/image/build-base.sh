#!/usr/bin/env bash
# Builds sshbox's base image (Debian bookworm minbase + OpenSSH server) with
# debootstrap and imports it into the local Docker engine as
# sshbox-base:<recipe hash> and sshbox-base:latest. Nothing is pulled from a
# registry. The image is cached: it is rebuilt only when this recipe changes.
#   installer/image/build-base.sh [--force]
# SSHBOX_ENGINE_SOCKET picks the engine (default /var/run/docker.sock),
# SSHBOX_BASE_REPO the image's name (default sshbox-base);
# SSHBOX_ROOTFS_CACHE=DIR keeps the debootstrapped rootfs there as a tar, so
# another engine (the test suite's own) imports it in seconds.
set -euo pipefail

sock=${SSHBOX_ENGINE_SOCKET:-/var/run/docker.sock}
repo=${SSHBOX_BASE_REPO:-sshbox-base}
packages=openssh-server,openssh-client,procps,sshfs,fuse3,xauth,x11-utils,less
hash=$(sha256sum "$0" | cut -c1-12)

api() { curl -sS --fail-with-body --max-time "${API_TIMEOUT:-30}" --unix-socket "$sock" "$@"; }

if [ "${1:-}" != "--force" ] && api -o /dev/null "http://localhost/v1.41/images/$repo:$hash/json" 2>/dev/null; then
	api -o /dev/null -X POST "http://localhost/v1.41/images/$repo:$hash/tag?repo=$repo&tag=latest"
	echo "base image: $repo:$hash (cached)"
	exit 0
fi

# The mirror apt already uses on this machine (sources.list or deb822).
mirror=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
	awk '$3 ~ /^bookworm$/ {print $2; exit}' || true)
if [ -z "$mirror" ]; then
	mirror=$(awk '/^URIs:/ {u=$2} /^Suites:/ && / bookworm( |$)/ && u {print u; exit}' \
		/etc/apt/sources.list.d/*.sources 2>/dev/null || true)
fi
[ -n "$mirror" ] || { echo "base image: no bookworm mirror found in apt's sources" >&2; exit 1; }

import_rootfs() { # TAR_SOURCE: the rootfs tar on stdin becomes the image
	local id
	# Tagged by the id the engine reports: Podman's import ignores `tag`.
	id=$(api -X POST -H 'Content-Type: application/x-tar' --data-binary @- \
		"http://localhost/v1.41/images/create?fromSrc=-&repo=$repo&tag=$hash" |
		jq -rs 'map(.status // empty | select(startswith("sha256:"))) | last // empty')
	[ -n "$id" ] || { echo "base image: the engine did not report the imported image's id" >&2; return 1; }
	api -o /dev/null -X POST "http://localhost/v1.41/images/$id/tag?repo=$repo&tag=$hash"
	api -o /dev/null -X POST "http://localhost/v1.41/images/$id/tag?repo=$repo&tag=latest"
}
cache=${SSHBOX_ROOTFS_CACHE:-}
if [ -n "$cache" ] && [ "${1:-}" != "--force" ] && [ -f "$cache/rootfs-$hash.tar" ]; then
	API_TIMEOUT=300 import_rootfs <"$cache/rootfs-$hash.tar"
	echo "base image: $repo:$hash imported from $cache/rootfs-$hash.tar"
	exit 0
fi

root=$(mktemp -d /var/tmp/sshbox-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "base image: debootstrap bookworm into $root"
debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
	{ tail -20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
# Host keys come from the host per user; no key is baked into the image.
rm -f "$root"/etc/ssh/ssh_host_*
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
mkdir -p "$root/run/sshd"

if [ -n "$cache" ]; then
	install -d -m 0700 "$cache"
	rm -f "$cache"/rootfs-*.tar # older recipes
	tar -C "$root" -cf "$cache/.rootfs-$hash.tar" .
	mv "$cache/.rootfs-$hash.tar" "$cache/rootfs-$hash.tar"
	API_TIMEOUT=300 import_rootfs <"$cache/rootfs-$hash.tar"
else
	tar -C "$root" -c . | API_TIMEOUT=300 import_rootfs
fi
echo "base image: $repo:$hash built"

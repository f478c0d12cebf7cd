#!/usr/bin/env bash
# Builds the extra images test_anyimage.sh logs into, in the bed's engine,
# from material on this machine, cached there by this recipe's hash (and the
# base image's id for the two made from it):
#   $SBX_ANY_REPO:busybox-H   static busybox only: no glibc, no sshd, no passwd
#   $SBX_ANY_REPO:nossh-H     the Debian minbase base image, openssh-server purged
#   $SBX_ANY_REPO:ownconf-H   the base image with its own sshd_config (Port 2222,
#                             PermitRootLogin no), which sshbox must not use
#   $SBX_ANY_REPO:noshell-H   one data file, no shell at all
# Prints "NAME IMAGE" lines.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
repo=${SBX_ANY_REPO:-sshbox-anyimage}
api() { curl -sS --fail-with-body --max-time 120 --unix-socket "$SBX_ENGINE" "$@"; }
base_id=$(api "http://localhost/v1.41/images/$SBX_BASE_IMAGE:latest/json" | jq -r .Id)
h=$( (sha256sum <"$0"; echo "$base_id") | sha256sum | cut -c1-12)
have() { api -o /dev/null "http://localhost/v1.41/images/$repo:$1-$h/json" 2>/dev/null; }
import() { # TAG: the tar on stdin becomes the image
	api -o /dev/null -X POST -H 'Content-Type: application/x-tar' --data-binary @- \
		"http://localhost/v1.41/images/create?fromSrc=-&repo=$repo&tag=$1-$h"
}
from_base() { # TAG SHELL_COMMAND: runs it in a base container, commits the result
	local id rc
	id=$(api -H 'Content-Type: application/json' \
		-d "$(jq -n --arg img "$SBX_BASE_IMAGE:latest" --arg c "$2" '{Image:$img,Entrypoint:["/bin/sh","-c",$c]}')" \
		http://localhost/v1.41/containers/create | jq -r .Id)
	api -o /dev/null -X POST "http://localhost/v1.41/containers/$id/start"
	rc=$(api -X POST "http://localhost/v1.41/containers/$id/wait" | jq -r .StatusCode)
	[ "$rc" = 0 ] || { api "http://localhost/v1.41/containers/$id/logs?stdout=1&stderr=1" >&2; exit 1; }
	api -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"Entrypoint":null,"Cmd":["/bin/bash"]}' \
		"http://localhost/v1.41/commit?container=$id&repo=$repo&tag=$1-$h"
	api -o /dev/null -X DELETE "http://localhost/v1.41/containers/$id?force=1"
}

if ! have busybox; then
	r=$(mktemp -d)
	mkdir "$r/bin"
	cp /bin/busybox "$r/bin/busybox"
	for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$r/bin/$a"; done
	tar -C "$r" -c . | import busybox
	rm -rf "$r"
fi
if ! have noshell; then
	r=$(mktemp -d)
	echo "no shell here" >"$r/README"
	tar -C "$r" -c . | import noshell
	rm -rf "$r"
fi
have nossh || from_base nossh 'dpkg --purge openssh-server openssh-sftp-server >/dev/null && ! test -e /usr/sbin/sshd'
have ownconf || from_base ownconf 'printf "Port 2222\nPermitRootLogin no\nListenAddress 127.0.0.1\nSubsystem sftp /nonexistent\n" >/etc/ssh/sshd_config'
for t in busybox nossh ownconf noshell; do echo "$t $repo:$t-$h"; done

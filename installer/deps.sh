#!/usr/bin/env bash
# Installs the Debian packages sshbox needs to build, run and be tested,
# and starts dockerd when no engine answers. Idempotent; run as root.
#   installer/deps.sh [--test]   (--test adds what the test suite needs)
set -euo pipefail

runtime=(docker.io openssh-server openssh-client debootstrap ca-certificates curl jq)
build=(build-essential cmake pkg-config libssh-dev libjansson-dev
       libcurl4-openssl-dev uuid-dev)
testing=(libcmocka-dev sshfs tmux xvfb x11-utils xauth procps iproute2 python3)

want=("${runtime[@]}" "${build[@]}")
[ "${1:-}" = "--test" ] && want+=("${testing[@]}")

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
fi

# dockerd: start it ourselves where no service manager did.
if ! timeout 5 curl -sf --unix-socket /var/run/docker.sock http://localhost/_ping >/dev/null 2>&1; then
	if [ -d /run/systemd/system ]; then
		systemctl start docker
	else
		echo "deps: starting dockerd"
		nohup dockerd >/var/log/dockerd.log 2>&1 &
	fi
	for _ in $(seq 1 60); do
		timeout 5 curl -sf --unix-socket /var/run/docker.sock http://localhost/_ping >/dev/null 2>&1 && break
		sleep 0.5
	done
	timeout 5 curl -sf --unix-socket /var/run/docker.sock http://localhost/_ping >/dev/null ||
		{ echo "deps: dockerd did not come up (see /var/log/dockerd.log)" >&2; exit 1; }
fi

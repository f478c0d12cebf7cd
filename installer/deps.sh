#!/usr/bin/env bash
# Installs the Debian packages sshbox needs to build, run and be tested,
# and starts dockerd when no engine answers. Idempotent; run as root.
#   installer/deps.sh [--test] [--package] [--no-engine]
# --test adds what the test suite needs (the package's tools too);
# --package what building the Debian package needs (installer/build-deb.sh);
# --no-engine leaves the machine's dockerd alone (the test bed runs an
# engine of its own).
set -euo pipefail

runtime=(docker.io openssh-server openssh-client debootstrap ca-certificates curl jq xauth patchelf)
build=(build-essential cmake pkg-config libssh-dev libjansson-dev
       libcurl4-openssl-dev uuid-dev libssl-dev)
testing=(libcmocka-dev asciinema busybox-static podman netavark aardvark-dns catatonit sshfs rsync git strace tmux xvfb x11-utils xauth procps iproute2 util-linux socat python3 openssl valgrind
         clang libclang-rt-14-dev shellcheck clang-format clang-tidy cppcheck
         prometheus)
package=(debhelper dpkg-dev fakeroot lintian)

want=("${runtime[@]}" "${build[@]}")
engine=1
for arg in "$@"; do
	case $arg in
	--test) want+=("${testing[@]}" "${package[@]}") ;;
	--package) want+=("${package[@]}") ;;
	--no-engine) engine=0 ;;
	*) echo "deps.sh: unknown option \"$arg\"" >&2; exit 2 ;;
	esac
done

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
	# The suite runs a Prometheus of its own (test_metrics.sh, own port and
	# data dir): the package's service, started by the install, is not wanted.
	if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
		systemctl disable --now prometheus >/dev/null 2>&1 || true
	fi
fi

[ $engine = 1 ] || exit 0
# dockerd: start it ourselves where no service manager did.
ping_engine() { timeout 5 curl -sf --unix-socket /var/run/docker.sock http://localhost/_ping >/dev/null 2>&1; }
wait_engine() { # up to 60 s; stops early when no dockerd process is left
	for _ in $(seq 1 120); do
		ping_engine && return 0
		[ "${1:-}" = any ] || pgrep -x dockerd >/dev/null || return 1
		sleep 0.5
	done
	return 1
}
if ! ping_engine; then
	if [ -d /run/systemd/system ]; then
		systemctl start docker
	elif ! wait_engine; then # one starting up is given time; one shutting down, too
		rm -f /var/run/docker.pid
		echo "deps: starting dockerd"
		nohup dockerd >>/var/log/dockerd.log 2>&1 &
	fi
	wait_engine any ||
		{ echo "deps: dockerd did not come up (see /var/log/dockerd.log)" >&2; exit 1; }
fi

#!/usr/bin/env bash
# The test suite's own dockerd, apart from the machine's: its own socket,
# data root, exec root, pid file, config file, containerd namespace and
# cgroup parent, in a network namespace and mount namespace of its own (held
# by a `sleep` holder process), so its bridges, iptables rules and published
# ports never touch the host's and it never sees /etc/docker, /run/docker or
# /run/containerd of the machine. The machine's dockerd is never touched.
#   tests/bed/engine.sh up       start it (kept when it answers already)
#   tests/bed/engine.sh stop     stop dockerd only (namespaces and data kept)
#   tests/bed/engine.sh kill     SIGKILL dockerd only (as a crash would)
#   tests/bed/engine.sh down     stop it, drop its namespaces and exec root;
#                                its data root (the imported base image) stays
#                                as a cache, so the next bed is up in seconds
#   tests/bed/engine.sh purge    down, and remove the data root too
#   tests/bed/engine.sh pid      print its pid (exit 1 when not running)
# `up ARGS...` (re)starts dockerd with extra arguments (test_engine_tls adds
# a TLS listener); a plain `up` keeps a dockerd that answers, so `stop` first
# to drop them.
# SBX_ENGINE_KIND=podman: the same with `podman system service` in place of
# dockerd (tests/bed/podman.sh), in a directory of its own; each kind's
# `down` touches only its own engine.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
E=$SBX_ENGINE_DIR
ENGINE_HIDE="/etc/docker /run/docker /run/containerd"

# dockerd: by its pid file and executable.
engine_pid() {
	local pid
	pid=$(cat "$E/docker.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] &&
		tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qx -- "--pidfile=$E/docker.pid" && echo "$pid"
}
engine_log() { echo "$E/dockerd.log"; }
# Container shims that outlived a killed dockerd live in our namespaces.
kill_leftovers() {
	local p
	for p in $(pgrep -f "containerd-shim-runc-v2 -namespace sshboxtest " || true); do kill -KILL "$p" 2>/dev/null || true; done
}
start_engine() { # HOLDER_PID [dockerd args...]
	local holder=$1
	shift
	# A killed dockerd's containerd is dying with it (or its zombie lingers):
	# the next dockerd would take it for running and wait on its socket for
	# 60 s. It starts its own afresh (container shims outlive containerd).
	local cpid
	cpid=$(cat "$E/exec/containerd/containerd.pid" 2>/dev/null || true)
	if [ -n "$cpid" ] && alive "$cpid" && tr '\0' ' ' <"/proc/$cpid/cmdline" | grep -q "$E/exec/containerd/"; then
		kill -TERM "$cpid" 2>/dev/null || true
		for _ in $(seq 1 100); do alive "$cpid" || break; sleep 0.1; done
		alive "$cpid" && kill -KILL "$cpid" 2>/dev/null
	fi
	rm -f "$E/exec/containerd/containerd.pid"
	[ -f "$E/daemon.json" ] || echo '{}' >"$E/daemon.json"
	# Own containerd (started by dockerd under the exec root) in its own
	# namespaces; cgroups apart; the userland proxy publishes ports on the
	# namespace's own 127.0.0.1.
	(no_inherit nsenter --target "$holder" --net --mount -- setsid dockerd \
		--config-file="$E/daemon.json" --data-root="$E/data" --exec-root="$E/exec" \
		--pidfile="$E/docker.pid" -H "unix://$SBX_ENGINE" \
		--containerd-namespace=sshboxtest --containerd-plugins-namespace=sshboxtest-plugins \
		--cgroup-parent=/sshbox-test-engine "$@") </dev/null >>"$E/dockerd.log" 2>&1 &
}
if [ "${SBX_ENGINE_KIND:-docker}" = podman ]; then
	. "$(dirname "${BASH_SOURCE[0]}")/podman.sh"
fi

holder_pid() { # the namespaces' holder, if alive and still ours
	local pid
	pid=$(cat "$E/holder.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sleep ] &&
		grep -qx "sshbox-test-engine-holder" <(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | sed -n 's/^SBX_HOLDER=//p') &&
		echo "$pid"
}
. "$(dirname "${BASH_SOURCE[0]}")/noinherit.sh"
alive() { # PID: exists and is not a zombie (this machine's init reaps late)
	local state
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [ -n "$state" ] && [ "$state" != Z ]
}
answers() { curl -sf --max-time 2 --unix-socket "$SBX_ENGINE" http://localhost/_ping >/dev/null 2>&1; }

# The test root is a shared mount of itself: the machine's / is private, so
# without it the mounts the watchdog makes there later (flag dirs are tmpfs)
# would not reach dockerd's mount namespace, and containers would bind the
# empty directory beneath.
shared_root() { [ "$(findmnt -n -o PROPAGATION --target "$SBX_ROOT" 2>/dev/null)" = shared ] && mountpoint -q "$SBX_ROOT"; }

start_holder() {
	install -d -m 0755 "$E" "$E/data" "$E/exec" "$SBX_ROOT"
	local pid
	if pid=$(holder_pid); then
		shared_root && return 0
		stop_engine TERM # its namespace no longer sees the test root's mounts
		kill "$pid" 2>/dev/null || true
	fi
	mountpoint -q "$SBX_ROOT" || mount --bind "$SBX_ROOT" "$SBX_ROOT"
	mount --make-shared "$SBX_ROOT"
	# A fresh network namespace (loopback up) and a mount namespace in which
	# the machine's engine state is hidden under empty tmpfs mounts.
	# shellcheck disable=SC2016 # $d, $HIDE: the inner sh expands them
	(no_inherit env HIDE="$ENGINE_HIDE" SBX_HOLDER=sshbox-test-engine-holder setsid unshare --net --mount --propagation slave -- \
		sh -c 'ip link set lo up || exit 1
		for d in $HIDE; do
			[ -d "$d" ] && { mount -t tmpfs -o mode=0755 tmpfs "$d" || exit 1; }
		done
		exec sleep infinity') </dev/null >>"$E/holder.log" 2>&1 &
	echo $! >"$E/holder.pid"
	for _ in $(seq 1 50); do
		# ready once the tmpfs hides the machine's /run/docker (or there is none)
		pid=$(holder_pid) && [ "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/self/ns/net)" ] &&
			[ "$(cat "/proc/$pid/comm")" = sleep ] && return 0
		sleep 0.05
	done
	echo "engine: the namespace holder did not start; see $E/holder.log" >&2
	return 1
}

up() {
	start_holder
	if [ $# = 0 ] && engine_pid >/dev/null && answers; then return 0; fi
	stop_engine
	start_engine "$(holder_pid)" "$@"
	for _ in $(seq 1 600); do
		answers && engine_pid >/dev/null && return 0
		sleep 0.1
	done
	echo "engine: the suite's ${SBX_ENGINE_KIND:-docker} engine did not answer on $SBX_ENGINE within 60 s; see $(engine_log)" >&2
	return 1
}

stop_engine() { # SIGNAL
	local pid
	# None of ours runs: a pid file left by a killed one (whose zombie may
	# linger where init does not reap) would stop the next start.
	pid=$(engine_pid) || { rm -f "$E/docker.pid" "$E/engine.pid"; return 0; }
	kill "-${1:-TERM}" "$pid" 2>/dev/null || true
	for _ in $(seq 1 300); do
		alive "$pid" || break
		sleep 0.1
	done
	alive "$pid" && kill -KILL "$pid" 2>/dev/null
	rm -f "$E/docker.pid" "$E/engine.pid"
}

down() {
	stop_engine TERM
	local pid
	kill_leftovers
	if pid=$(holder_pid); then kill "$pid" && sleep 0.2; fi
	rm -f "$E/holder.pid"
	rm -rf "$E/exec" "$SBX_ENGINE"
	if mountpoint -q "$SBX_ROOT"; then umount -l "$SBX_ROOT" && { rmdir "$SBX_ROOT" 2>/dev/null || true; }; fi
	return 0
}

case ${1:-} in
up) shift; up "$@" ;;
stop) stop_engine TERM ;;
kill) stop_engine KILL ;;
down) down ;;
purge) down; rm -rf "$E" ;;
pid) engine_pid ;;
*) echo "engine.sh: unknown action \"${1:-}\" (up, stop, kill, down, purge, pid)" >&2; exit 2 ;;
esac

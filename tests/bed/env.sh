# shellcheck shell=bash
# Shared settings of the test bed: a test instance of sshbox beside any real
# one (own instance name, group, socket, state dir, sshd port).
SBX_ROOT=${SBX_ROOT:-/var/tmp/sshbox-test}
SBX_PORT=${SBX_PORT:-22220}
# The watchdog's metrics endpoint (metrics_listen), and test_metrics.sh's
# own Prometheus server.
SBX_METRICS_PORT=${SBX_METRICS_PORT:-22228}
# shellcheck disable=SC2034 # read by the scripts that source this file
SBX_PROMETHEUS_PORT=${SBX_PROMETHEUS_PORT:-22229}
SBX_INSTANCE=${SBX_INSTANCE:-sshboxtest}
SBX_GROUP=${SBX_GROUP:-sshboxtest}
SBX_CONF=$SBX_ROOT/etc/sshbox.conf
SBX_SOCKET=$SBX_ROOT/run/watchdog.sock
# shellcheck disable=SC2034 # read by the scripts that source this file
SBX_STATE=$SBX_ROOT/state
SBX_BIN=$SBX_ROOT/bin
SBX_KEYS=$SBX_ROOT/keys
SBX_USERS=${SBX_USERS:-"sbt-alice sbt-bob"}
SBX_PLAIN=${SBX_PLAIN:-sbt-plain} # ordinary account on the same sshd: the floor for any ForceCommand
SBX_NOREC=${SBX_NOREC:-sbt-norec} # in the sshbox group, but no sshbox record
SBX_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SBX_BUILD=${SBX_BUILD:-$SBX_SRC/build}
# The engine: the suite's own dockerd (tests/bed/engine.sh), never the
# machine's. SBX_OWN_ENGINE=0 uses the machine's instead (bench/run.sh,
# which never stops or kills it).
# SBX_ENGINE_KIND=podman: the suite's own `podman system service` instead
# (tests/bed/podman.sh), in a directory of its own.
SBX_ENGINE_KIND=${SBX_ENGINE_KIND:-docker}
if [ "$SBX_ENGINE_KIND" = podman ]; then
	SBX_ENGINE_DIR=${SBX_ENGINE_DIR:-/var/tmp/sshbox-test-podman}
else
	SBX_ENGINE_DIR=${SBX_ENGINE_DIR:-/var/tmp/sshbox-test-engine}
fi
if [ "${SBX_OWN_ENGINE:-1}" = 1 ]; then
	SBX_ENGINE=$SBX_ENGINE_DIR/$SBX_ENGINE_KIND.sock
else
	SBX_ENGINE=/var/run/docker.sock
fi
# The base image's name in that engine (the bench, on the machine's engine,
# uses its own so a real install's sshbox-base:latest is never retagged).
SBX_BASE_IMAGE=${SBX_BASE_IMAGE:-sshbox-base}
# The debootstrapped base image's rootfs, kept across beds (one per recipe).
SBX_ROOTFS_CACHE=${SBX_ROOTFS_CACHE:-/var/cache/sshbox-test}

sbx_ssh_opts=(-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	-o LogLevel=ERROR -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=20)

# sbx_ssh USER [ssh args...]: a real OpenSSH client into the test sshd.
sbx_ssh() {
	local user=$1
	shift
	ssh "${sbx_ssh_opts[@]}" -i "$SBX_KEYS/$user" -p "$SBX_PORT" "$user@127.0.0.1" "$@"
}

sbx_api() { # sbx_api METHOD PATH: the engine API, for tests only
	curl -sS --max-time 60 --unix-socket "$SBX_ENGINE" -X "$1" "http://localhost/v1.41$2"
}

# sbx_engine_net CMD...: runs CMD in the engine's network namespace, where
# the containers' ports are published (on that namespace's 127.0.0.1).
sbx_engine_net() {
	if [ "${SBX_OWN_ENGINE:-1}" = 1 ]; then
		nsenter --target "$(cat "$SBX_ENGINE_DIR/holder.pid")" --net -- "$@"
	else
		"$@"
	fi
}
# sbx_engine_netns: that namespace's file, for `nsenter --net=FILE CMD... &`
# (a background job whose $! is CMD itself).
sbx_engine_netns() {
	if [ "${SBX_OWN_ENGINE:-1}" = 1 ]; then
		echo "/proc/$(cat "$SBX_ENGINE_DIR/holder.pid")/ns/net"
	else
		echo "/proc/$$/ns/net"
	fi
}
# sbx_engine_pid: the suite's dockerd's pid (from its pid file).
sbx_engine_pid() { "$SBX_SRC/tests/bed/engine.sh" pid; }

sbx_container() { echo "$SBX_INSTANCE-$1"; }

# Starts the test watchdog in the background; waits for its socket.
sbx_start_watchdog() {
	(
		# No inherited descriptors: a test's fifo writer must not outlive the test.
		for fd in "/proc/$BASHPID/fd/"*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] && eval "exec $fd>&-"
		done
		exec "$SBX_BIN/sshbox-watchdog" --config "$SBX_CONF" --stderr
	) >>"$SBX_ROOT/watchdog.log" 2>&1 &
	for _ in $(seq 1 100); do
		[ -S "$SBX_SOCKET" ] && [ "$(cat "$SBX_ROOT/run/watchdog.pid" 2>/dev/null)" = "$!" ] && return 0
		sleep 0.05
	done
	echo "watchdog did not start; see $SBX_ROOT/watchdog.log" >&2
	return 1
}

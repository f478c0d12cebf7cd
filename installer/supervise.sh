#!/usr/bin/env bash
# Runs the watchdog as a supervised background daemon where there is no
# systemd: a small loop restarts it if it dies; pid files in RUN_DIR (the
# directory of the config's socket, /run/sshbox by default), its log in LOG.
#   supervise.sh start|stop|restart WATCHDOG_BINARY CONFIG [RUN_DIR [LOG]]
set -euo pipefail
action=$1
bin=${2:-/usr/local/sbin/sshbox-watchdog}
conf=${3:-/etc/sshbox/sshbox.conf}
run=${4:-/run/sshbox}
log=${5:-/var/log/sshbox-watchdog.log}
sup=$run/supervisor.pid
install -d -m 0755 "$run"

stop() {
	if pid=$(cat "$sup" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
	fi
	if pid=$(cat "$run/watchdog.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	rm -f "$sup" "$run/watchdog.pid"
}

start() {
	"$bin" --help >/dev/null # fail here, not in the loop, if it cannot run
	# The daemon keeps no descriptor of whoever started it (dpkg's, an
	# installer's pipes, a test's fifos): they would stay open as long as it
	# runs, and a reader waiting for their EOF would wait for ever.
	# shellcheck disable=SC2016 # $0, $1, $!: the inner bash expands them
	setsid bash -c '
		for fd in /proc/$$/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] && eval "exec $fd>&-"
		done
		trap "exit 0" TERM
		while :; do
			"$0" --config "$1" &
			wait $! || true
			sleep 1
		done' "$bin" "$conf" </dev/null >>"$log" 2>&1 &
	echo $! >"$sup"
	for _ in $(seq 1 50); do [ -f "$run/watchdog.pid" ] && break; sleep 0.1; done
}

case $action in
start) start ;;
stop) stop ;;
restart) stop; start ;;
*) echo "supervise.sh: unknown action \"$action\"" >&2; exit 2 ;;
esac

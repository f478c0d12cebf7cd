#!/usr/bin/env bash
# sshbox on the swarm bed (tests/bed/swarm.sh must be up): on every node, a
# watchdog (engine_mode = swarm, that node's dockerd) and an sshd with the
# sshbox drop-in on the node's own address, both in the node's network
# namespace; all three nodes share this machine's accounts, as login nodes
# sharing one directory would. Apart from the sshd bed: own instance, group,
# state dirs, sockets and users (sbt-sw-*).
#   tests/bed/swarm-sshbox.sh up     start (kept when running the same binaries)
#   tests/bed/swarm-sshbox.sh down   stop the watchdogs and sshds, remove the users
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/swarm-env.sh"
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
R=$SBX_SWARM_DIR/sshbox
BIN=$R/bin
KEYS_BIN=$SBX_SWARM_KEYS_BIN
KEYS_USER=$SBX_SWARM_KEYS_USER

node_conf() { echo "$R/$1/sshbox.conf"; }
pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

start_node() { # NODE
	local n=$1 d=$R/$1
	mkdir -p "$d"/{run,state,sshd}
	chmod 755 "$d" "$d/run"
	cat >"$(node_conf "$n")" <<CONF
# sshbox on swarm node $n (test)
engine_mode = swarm
engine = $(sbx_swarm_sock "$n")
socket = $d/run/watchdog.sock
state_dir = $d/state
instance = $SBX_SWARM_INSTANCE
group = $SBX_SWARM_GROUP
default_image = $SBX_SWARM_IMAGE:latest
idle_grace_seconds = ${SBX_SWARM_GRACE:-3}
stop_timeout_seconds = 2
shim = $BIN/sshbox-shim
keys_user = $KEYS_USER
CONF
	chmod 644 "$(node_conf "$n")"
	local wd
	wd=$(cat "$d/run/watchdog.pid" 2>/dev/null || true)
	if ! pid_alive "$wd" || [ "$(readlink "/proc/$wd/exe")" != "$BIN/sshbox-watchdog" ]; then
		if pid_alive "$wd"; then kill "$wd"; fi
		rm -f "$d/run/watchdog.sock"
		(
			for fd in "/proc/$BASHPID/fd/"*; do
				fd=${fd##*/}
				[ "$fd" -gt 2 ] && eval "exec $fd>&-"
			done
			exec nsenter --net="/run/netns/$(sbx_swarm_netns "$n")" -- \
				"$BIN/sshbox-watchdog" --config "$(node_conf "$n")" --stderr
		) >>"$d/watchdog.log" 2>&1 &
		for _ in $(seq 1 100); do [ -S "$d/run/watchdog.sock" ] && break; sleep 0.05; done
		[ -S "$d/run/watchdog.sock" ] || { echo "swarm-sshbox: $n's watchdog did not start; see $d/watchdog.log" >&2; return 1; }
	fi
	[ -f "$d/sshd/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$d/sshd/host_key"
	# As installer/setup.sh writes it in swarm mode.
	local keys
	keys="AuthorizedKeysCommand $KEYS_BIN/sshbox-keys --config $(node_conf "$n") %u"
	sed -e "s|@GROUP@|$SBX_SWARM_GROUP|" -e "s|@SHIM@|$BIN/sshbox-shim|" \
		-e "s|@CONFIG@|$(node_conf "$n")|" -e "s|@X11@|no|" \
		-e "s|^\t@KEYS@$|\t$keys\n\tAuthorizedKeysCommandUser $KEYS_USER|" \
		"$SBX_SRC/installer/sshd/sshbox.conf.in" >"$d/sshd/sshbox.conf"
	cat >"$d/sshd/sshd_config" <<CONF
Port 22
ListenAddress $(sbx_swarm_addr "$n")
HostKey $d/sshd/host_key
PidFile $d/sshd/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM yes
PrintMotd no
MaxStartups 200:30:400
Subsystem sftp /usr/lib/openssh/sftp-server
Include $d/sshd/sshbox.conf
CONF
	mkdir -p /run/sshd
	local sp
	sp=$(cat "$d/sshd/sshd.pid" 2>/dev/null || true)
	if pid_alive "$sp"; then
		kill -HUP "$sp"
	else
		sbx_swarm_net "$n" /usr/sbin/sshd -f "$d/sshd/sshd_config" -E "$d/sshd/sshd.log"
	fi
}

up() {
	"$(dirname "${BASH_SOURCE[0]}")/swarm.sh" status >/dev/null
	mkdir -p "$BIN"
	chmod 755 "$SBX_SWARM_DIR" "$R" "$BIN"
	local b
	for b in shim/sshbox-shim watchdog/sshbox-watchdog watchdog/sshbox-gate installer/sshbox; do
		cmp -s "$SBX_BUILD/$b" "$BIN/${b##*/}" || install -m 0755 "$SBX_BUILD/$b" "$BIN/"
	done
	getent group "$SBX_SWARM_GROUP" >/dev/null || groupadd --system "$SBX_SWARM_GROUP"
	getent passwd "$KEYS_USER" >/dev/null ||
		useradd --system --gid "$SBX_SWARM_GROUP" --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin "$KEYS_USER"
	install -d -m 0755 "$KEYS_BIN"
	cmp -s "$SBX_BUILD/keys/sshbox-keys" "$KEYS_BIN/sshbox-keys" ||
		install -m 0755 "$SBX_BUILD/keys/sshbox-keys" "$KEYS_BIN/"
	local n
	for n in "${SBX_SWARM_NODES[@]}"; do start_node "$n"; done
}

down() {
	local n pid
	for n in "${SBX_SWARM_NODES[@]}"; do
		for f in "$R/$n/run/watchdog.pid" "$R/$n/sshd/sshd.pid"; do
			pid=$(cat "$f" 2>/dev/null || true)
			if pid_alive "$pid"; then kill "$pid"; fi
		done
		# The watchdog's flag dirs (tmpfs) first, or rm fails on them.
		findmnt -rn -o TARGET | awk -v p="$R/$n/state/" 'index($0, p) == 1' | sort -r | xargs -r -n1 umount -l
		rm -rf "$R/$n/state"
	done
	local u
	for u in $(getent group "$SBX_SWARM_GROUP" | cut -d: -f4 | tr , ' '); do
		case $u in sbt-sw-*) userdel --remove "$u" 2>/dev/null || true ;; esac
	done
	userdel "$KEYS_USER" 2>/dev/null || true
}

case ${1:-} in
up) up ;;
down) down ;;
*)
	echo "usage: $0 up|down" >&2
	exit 2
	;;
esac

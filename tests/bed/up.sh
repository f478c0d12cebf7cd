#!/usr/bin/env bash
# Brings up the test bed: packages, the suite's own dockerd (engine.sh; the
# machine's is never used), the base image, a build of sshbox,
# a watchdog and an sshd on 127.0.0.1:$SBX_PORT with the shim as
# ForceCommand, and test users. Idempotent: what runs already is kept.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

"$SBX_SRC/installer/deps.sh" --test --no-engine
if [ "${SBX_OWN_ENGINE:-1}" = 1 ]; then
	"$SBX_SRC/tests/bed/engine.sh" up
else
	"$SBX_SRC/installer/deps.sh"
fi
SSHBOX_ENGINE_SOCKET=$SBX_ENGINE SSHBOX_BASE_REPO=$SBX_BASE_IMAGE SSHBOX_ROOTFS_CACHE=$SBX_ROOTFS_CACHE "$SBX_SRC/installer/image/build-base.sh"

mkdir -p "$SBX_ROOT"/{bin,etc,run,keys,sshd} "$SBX_STATE"
chmod 755 "$SBX_ROOT" "$SBX_ROOT"/{bin,etc,run}
chmod 700 "$SBX_ROOT/keys" "$SBX_ROOT/sshd"

cmake -S "$SBX_SRC" -B "$SBX_BUILD" -DCMAKE_BUILD_TYPE="${SBX_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build "$SBX_BUILD" -j"$(nproc)" >/dev/null
for b in shim/sshbox-shim watchdog/sshbox-watchdog watchdog/sshbox-fuse watchdog/sshbox-gate installer/sshbox; do
	[ -f "$SBX_BUILD/$b" ] || { echo "up: $b was not built" >&2; [ -n "${SBX_PARTIAL:-}" ] && continue; exit 1; }
	install -m 0755 "$SBX_BUILD/$b" "$SBX_BIN/"
done

cat >"$SBX_CONF" <<CONF
# sshbox test instance
engine = $SBX_ENGINE
socket = $SBX_SOCKET
state_dir = $SBX_STATE
instance = $SBX_INSTANCE
group = $SBX_GROUP
default_image = $SBX_BASE_IMAGE:latest
idle_grace_seconds = ${SBX_GRACE:-5}
stop_timeout_seconds = 2
metrics_listen = 127.0.0.1:$SBX_METRICS_PORT
shim = $SBX_BIN/sshbox-shim
audit_log = $SBX_ROOT/log/audit.log
CONF
chmod 644 "$SBX_CONF"
getent group "$SBX_GROUP" >/dev/null || groupadd --system "$SBX_GROUP"

# The watchdog (restarted when its binary changed).
wd_pid=$(cat "$SBX_ROOT/run/watchdog.pid" 2>/dev/null || true)
if [ -z "$wd_pid" ] || ! kill -0 "$wd_pid" 2>/dev/null ||
	[ "$(readlink "/proc/$wd_pid/exe")" != "$SBX_BIN/sshbox-watchdog" ]; then
	if [ -n "$wd_pid" ]; then kill "$wd_pid" 2>/dev/null || true; fi
	sbx_start_watchdog
fi

# sshd on loopback with the real drop-in.
[ -f "$SBX_ROOT/sshd/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$SBX_ROOT/sshd/host_key"
sed -e "s|@GROUP@|$SBX_GROUP|" -e "s|@SHIM@|$SBX_BIN/sshbox-shim|" \
	-e "s|@CONFIG@|$SBX_CONF|" -e "s|@X11@|yes|" -e '/^\t@KEYS@$/d' \
	"$SBX_SRC/installer/sshd/sshbox.conf.in" >"$SBX_ROOT/sshd/sshbox.conf"
cat >"$SBX_ROOT/sshd/sshd_config" <<CONF
Port $SBX_PORT
ListenAddress 127.0.0.1
HostKey $SBX_ROOT/sshd/host_key
PidFile $SBX_ROOT/sshd/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM yes
AcceptEnv LANG LC_*
X11Forwarding yes
PrintMotd no
MaxStartups 200:30:400
Subsystem sftp /usr/lib/openssh/sftp-server
Include $SBX_ROOT/sshd/sshbox.conf
CONF
mkdir -p /run/sshd
/usr/sbin/sshd -t -f "$SBX_ROOT/sshd/sshd_config"
sshd_pid=$(cat "$SBX_ROOT/sshd/sshd.pid" 2>/dev/null || true)
if [ -n "$sshd_pid" ] && kill -0 "$sshd_pid" 2>/dev/null; then
	kill -HUP "$sshd_pid"
else
	/usr/sbin/sshd -f "$SBX_ROOT/sshd/sshd_config" -E "$SBX_ROOT/sshd/sshd.log"
fi

# Users: sshbox users through the admin CLI, a plain account, one without record.
for u in $SBX_USERS $SBX_PLAIN $SBX_NOREC; do
	[ -f "$SBX_KEYS/$u" ] || ssh-keygen -q -t ed25519 -N '' -C "$u test key" -f "$SBX_KEYS/$u"
done
for u in $SBX_USERS; do
	[ -f "$SBX_STATE/users/$u/record" ] ||
		"$SBX_BIN/sshbox" --config "$SBX_CONF" createuser "$u" "$SBX_BASE_IMAGE:latest" "$SBX_KEYS/$u.pub"
done
plain_account() { # USER [GROUP]
	id "$1" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --password '*' ${2:+--groups "$2"} "$1"
	install -d -m 700 -o "$1" -g "$1" "/home/$1/.ssh"
	install -m 600 -o "$1" -g "$1" "$SBX_KEYS/$1.pub" "/home/$1/.ssh/authorized_keys"
}
plain_account "$SBX_PLAIN"
plain_account "$SBX_NOREC" "$SBX_GROUP"

for _ in $(seq 1 50); do
	sbx_ssh "$SBX_PLAIN" true 2>/dev/null && break
	sleep 0.2
done
echo "test bed up: sshd 127.0.0.1:$SBX_PORT, watchdog $SBX_SOCKET, state $SBX_STATE"

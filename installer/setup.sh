#!/usr/bin/env bash
# Activates installed sshbox binaries (root; idempotent, re-runnable): the
# config (written once, never overwritten), group and state dir, the base
# image, the watchdog (restarted: sessions go on, shims rejoin), and the sshd
# drop-in (validated, and its effective settings checked with sshd -T,
# before any reload). installer/install.sh runs it after placing a build;
# the Debian package's postinst runs its installed copy
# (/usr/lib/sshbox/installer/setup.sh).
#   setup.sh [--demo] [--no-x11] [--no-base-image] [--packaged]
#            [--root DIR] [path and name options]
# --no-base-image skips building the base image (debootstrap: minutes);
# --packaged: the Debian package's postinst; the package ships the systemd
# unit and the config (a conffile), so neither is written here.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/installer/paths.sh"
demo=0
x11=yes
base_image=1
packaged=0
paths_parse "$@"
for arg in ${rest[@]+"${rest[@]}"}; do
	case $arg in
	--demo) demo=1 ;;
	--no-x11) x11=no ;;
	--no-base-image) base_image=0 ;;
	--packaged) packaged=1 ;;
	-h | --help) sed -n '2,14p' "$0"; exit 0 ;;
	*) echo "setup.sh: unknown option \"$arg\"" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "setup.sh: run as root" >&2; exit 1; }
say() { echo "sshbox install: $*"; }
probe=
cleanup() {
	[ -n "$probe" ] && userdel "$probe" 2>/dev/null
	return 0
}
trap cleanup EXIT
if [ ! -x "$sbin/sshbox-watchdog" ] || [ ! -x "$shim" ]; then
	echo "setup.sh: no sshbox binaries under $prefix (install.sh builds them)" >&2
	exit 1
fi

install -d -m 0755 "$conf_dir" "$run_dir"
if [ ! -f "$conf" ]; then
	sed -e "s|^engine = .*|engine = $engine|" -e "s|^socket = .*|socket = $run_dir/watchdog.sock|" \
		-e "s|^state_dir = .*|state_dir = $state_dir|" -e "s|^instance = .*|instance = $instance|" \
		-e "s|^group = .*|group = $group|" -e "s|^default_image = .*|default_image = $base_repo:latest|" \
		-e "s|^audit_log = .*|audit_log = $log_dir/audit.log|" \
		"$src/installer/sshbox.conf" >"$conf.new"
	chmod 0644 "$conf.new"
	mv "$conf.new" "$conf"
	say "wrote $conf"
fi
getent group "$group" >/dev/null || groupadd --system "$group"
# Swarm mode: sshd asks sshbox-keys for a user's keys, run as keys_user
# (its primary group is $group, for the watchdog's socket; no login).
conf_value() { awk -F' *= *' -v k="$1" '$1 == k {v = $2} END {print v}' "$conf"; }
mode=$(conf_value engine_mode)
keys_user=$(conf_value keys_user)
keys_user=${keys_user:-sshbox-keys}
keys_line=
if [ "$mode" = swarm ]; then
	getent passwd "$keys_user" >/dev/null ||
		useradd --system --gid "$group" --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin --comment "sshbox keys for sshd" "$keys_user"
	keys_line="AuthorizedKeysCommand $prefix/libexec/sshbox/sshbox-keys --config $conf %u\n\tAuthorizedKeysCommandUser $keys_user"
fi
# Accounts that uninstall.sh locked get their logins back.
for u in $(getent group "$group" | cut -d: -f4 | tr ',' ' '); do
	if [ -f "$state_dir/users/$u/record" ]; then
		usermod --unlock --expiredate '' "$u" 2>/dev/null || true
	fi
done
install -d -m 0755 "$state_dir"
install -d -m 0700 "$state_dir/users"
# The audit log names who ran what: root's alone. The watchdog reopens it
# on SIGHUP, so logrotate moves it and signals (no copytruncate).
install -d -m 0700 "$log_dir"
install -d -m 0755 "$logrotate_dir"
cat >"$logrotate_dir/$instance.new" <<ROTATE
# sshbox's audit log (installer/setup.sh): weekly, a year kept.
$log_dir/audit.log {
	weekly
	rotate 52
	compress
	delaycompress
	missingok
	notifempty
	create 0600 root root
	postrotate
		kill -HUP "\$(cat $run_dir/watchdog.pid 2>/dev/null)" 2>/dev/null || true
	endscript
}
ROTATE
chmod 0644 "$logrotate_dir/$instance.new"
mv "$logrotate_dir/$instance.new" "$logrotate_dir/$instance"

if [ $base_image = 1 ]; then
	SSHBOX_ENGINE_SOCKET=$engine SSHBOX_BASE_REPO=$base_repo "$src/installer/image/build-base.sh"
fi

# The watchdog: systemd where it runs (real paths), else a supervised
# background daemon.
# A relocated unit dir gets the unit too, for the admin's own service manager.
if [ $packaged = 0 ] && { uses_systemd || [ "$unit_dir" != /etc/systemd/system ]; }; then
	install -d -m 0755 "$unit_dir"
	sed -e "s|@SBINDIR@|$sbin|g" -e "s|@CONFIG@|$conf|g" "$src/installer/systemd/sshbox-watchdog.service.in" \
		>"$unit_dir/sshbox-watchdog.service"
fi
if uses_systemd; then
	systemctl daemon-reload
	systemctl enable --now sshbox-watchdog.service
	systemctl restart sshbox-watchdog.service
else
	log=/var/log/sshbox-watchdog.log
	[ -n "$root" ] && { install -d -m 0755 "$root/var/log"; log=$root/var/log/sshbox-watchdog.log; }
	"$src/installer/supervise.sh" restart "$sbin/sshbox-watchdog" "$conf" "$run_dir" "$log"
fi
say "watchdog running"

# The sshd drop-in: written beside, validated with sshd -t, its effective
# settings for a member of the group checked with sshd -T, then kept. A
# config that fails either is never activated: the previous drop-in returns.
mkdir -p "$dropin_dir"
grep -qE "^\s*Include\s+$dropin_dir/\*\.conf" "$sshd_config" ||
	{ echo "install.sh: $sshd_config does not include $dropin_dir/*.conf" >&2; exit 1; }
new=$(mktemp "$dropin_dir/.sshbox.XXXXXX")
if [ -n "$keys_line" ]; then keys_sed=("s|^\t@KEYS@$|\t$keys_line|"); else keys_sed=('/^\t@KEYS@$/d'); fi
sed -e "s|@GROUP@|$group|" -e "s|@SHIM@|$shim|" -e "s|@CONFIG@|$conf|" -e "s|@X11@|$x11|" \
	-e "${keys_sed[0]}" "$src/installer/sshd/sshbox.conf.in" >"$new"
chmod 644 "$new"
saved=$(mktemp -d /var/tmp/sshbox-dropin.XXXXXX)
for f in "$dropin" "$legacy_dropin"; do [ -f "$f" ] && cp -p "$f" "$saved/"; done
restore_dropin() {
	rm -f "$dropin" "$legacy_dropin"
	for f in "$saved"/*; do [ -f "$f" ] && mv "$f" "$dropin_dir/"; done
	rm -rf "$saved"
}
mv "$new" "$dropin"
rm -f "$legacy_dropin" # an older install's name, which sorted after others
mkdir -p /run/sshd
if ! err=$(/usr/sbin/sshd -t -f "$sshd_config" 2>&1); then
	restore_dropin
	echo "install.sh: sshd rejects the configuration with the sshbox drop-in; nothing was reloaded:" >&2
	echo "$err" >&2
	exit 1
fi
# sshd -T resolves Match Group through the account database: a member is
# needed; with none yet, a locked throwaway account stands in.
member=$(getent group "$group" | cut -d: -f4 | cut -d, -f1)
if [ -z "$member" ]; then
	probe=sbxprobe$$
	useradd --system --no-create-home --shell /usr/sbin/nologin --groups "$group" "$probe"
	member=$probe
fi
eff=$(/usr/sbin/sshd -T -f "$sshd_config" -C "user=$member,host=localhost,addr=127.0.0.1" 2>&1) || {
	restore_dropin
	echo "install.sh: sshd -T failed for $member; nothing was reloaded:" >&2
	echo "$eff" >&2
	exit 1
}
want=("ForceCommand=exec $shim --config $conf" "AllowTcpForwarding=no"
	"AllowStreamLocalForwarding=no" "PermitTunnel=no")
[ -z "$keys_line" ] || want+=("AuthorizedKeysCommandUser=$keys_user")
for w in "${want[@]}"; do
	key=${w%%=*} val=${w#*=}
	got=$(awk -v k="${key,,}" '$1 == k {sub(/^[^ ]+ /, ""); print; exit}' <<<"$eff")
	if [ "$got" != "$val" ]; then
		restore_dropin
		echo "install.sh: sshd's effective $key for members of group $group is \"$got\", not \"$val\":" \
			"a file read before $dropin (in $sshd_config or $dropin_dir) sets it first;" \
			"the previous drop-in was restored and sshd was not reloaded" >&2
		exit 1
	fi
done
if [ -n "$probe" ]; then userdel "$probe"; probe=; fi
rm -rf "$saved"
sshd_reload
say "sshd drop-in $dropin active"

if [ $demo = 1 ]; then
	install -d -m 0700 "$key_dir"
	[ -f "$key_dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "sshbox demo" -f "$key_dir/id_ed25519"
	"$sbin/sshbox" --config "$conf" createuser "$demo_user" "$base_repo:latest" "$key_dir/id_ed25519.pub"
	say "demo user \"$demo_user\" ready; its key is $key_dir/id_ed25519"
	port=$(/usr/sbin/sshd -T -f "$sshd_config" 2>/dev/null | awk '$1 == "port" && !p {p = $2} END {print p}')
	say "logging in: ssh -i $key_dir/id_ed25519 -p ${port:-22} $demo_user@127.0.0.1 'hostname; cat /etc/os-release | head -1'"
	ssh -F /dev/null -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile="$key_dir/known_hosts" \
		-o IdentitiesOnly=yes -o BatchMode=yes -i "$key_dir/id_ed25519" -p "${port:-22}" "$demo_user@127.0.0.1" \
		'echo "inside container $(hostname) as $(whoami): $(head -1 /etc/os-release)"'
fi
say "done"

#!/usr/bin/env bash
# Removes what installer/install.sh added: the sshd drop-in (sshd reloaded
# only after sshd -t accepts the result), the watchdog service, binaries,
# and the group when empty. User data (containers, committed images, home
# volumes, /var/lib/sshbox, /etc/sshbox) stays unless --purge. sshbox
# accounts stay but are locked (expired), since without the drop-in they
# would get a host shell; install.sh unlocks them again.
#   installer/uninstall.sh [--prefix DIR] [--purge]
set -euo pipefail
prefix=/usr/local
purge=0
while [ $# -gt 0 ]; do
	case $1 in
	--prefix) prefix=$2; shift ;;
	--purge) purge=1 ;;
	-h | --help) sed -n '2,9p' "$0"; exit 0 ;;
	*) echo "uninstall.sh: unknown option \"$1\"" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "uninstall.sh: run as root" >&2; exit 1; }
src=$(cd "$(dirname "$0")/.." && pwd)
say() { echo "sshbox uninstall: $*"; }
conf=/etc/sshbox/sshbox.conf
dropin=/etc/ssh/sshd_config.d/sshbox.conf
members() { getent group sshbox | cut -d: -f4 | tr ',' ' '; }

# Accounts first: lock them before their ForceCommand goes away.
for u in $(members); do
	if [ $purge = 1 ] && [ -x "$prefix/sbin/sshbox" ]; then
		"$prefix/sbin/sshbox" cleanuser "$u" --purge || true
	else
		usermod --lock --expiredate 1 "$u" && say "locked account $u (install.sh unlocks it)"
	fi
done

if [ -f "$dropin" ]; then
	rm -f "$dropin"
	if /usr/sbin/sshd -t 2>/dev/null; then
		if [ -d /run/systemd/system ]; then
			systemctl reload ssh || true
		elif pid=$(cat /run/sshd.pid 2>/dev/null) && kill -0 "$pid" 2>/dev/null; then
			kill -HUP "$pid"
		fi
		say "removed $dropin"
	else
		say "removed $dropin; sshd -t fails for reasons of its own, so sshd was not reloaded"
	fi
fi

if [ -f /etc/systemd/system/sshbox-watchdog.service ]; then
	systemctl disable --now sshbox-watchdog.service 2>/dev/null || true
	rm -f /etc/systemd/system/sshbox-watchdog.service
	systemctl daemon-reload 2>/dev/null || true
else
	"$src/installer/supervise.sh" stop "$prefix/sbin/sshbox-watchdog" "$conf" || true
fi
say "watchdog stopped"

if [ $purge = 1 ] && command -v curl >/dev/null; then
	inst=$(awk -F' *= *' '$1 == "instance" {print $2}' "$conf" 2>/dev/null)
	inst=${inst:-sshbox}
	api() { curl -sS --max-time 120 --unix-socket /var/run/docker.sock -X "$1" "http://localhost/v1.41$2"; }
	f=$(printf '{"label":["sshbox.instance=%s"]}' "$inst" | jq -sRr @uri)
	for id in $(api GET "/containers/json?all=1&filters=$f" | jq -r '.[].Id'); do
		api DELETE "/containers/$id?force=1" >/dev/null
	done
	for v in $(api GET "/volumes?filters=$f" | jq -r '.Volumes[]?.Name'); do
		api DELETE "/volumes/$v" >/dev/null
	done
	for img in $(api GET /images/json | jq -r ".[].RepoTags[]? | select(startswith(\"$inst-user:\"))"); do
		api DELETE "/images/$img" >/dev/null
	done
	# Flag dirs are tmpfs mounts of their own (watchdog/flags.c).
	findmnt -rn -o TARGET | grep '^/var/lib/sshbox/' | sort -r | xargs -r -n1 umount -l
	rm -rf /var/lib/sshbox /etc/sshbox
	say "purged containers, volumes, committed images, state and config of instance $inst"
fi

rm -f "$prefix/sbin/sshbox-watchdog" "$prefix/sbin/sshbox"
rm -rf "$prefix/libexec/sshbox"
rm -rf /run/sshbox
say "removed binaries under $prefix"
if getent group sshbox >/dev/null && [ -z "$(members)" ]; then
	groupdel sshbox && say "removed group sshbox"
fi
say "done"

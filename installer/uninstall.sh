#!/usr/bin/env bash
# Removes what installer/install.sh added: the sshd drop-in (sshd reloaded
# only after sshd -t accepts the result), the watchdog service, binaries,
# and the group when empty. User data (containers, committed images, home
# volumes, the state dir, the config dir) stays unless --purge. sshbox
# accounts stay but are locked (expired), since without the drop-in they
# would get a host shell; install.sh unlocks them again.
#   installer/uninstall.sh [--purge] [--root DIR] [path and name options]
# Takes the same path and name options as install.sh (installer/paths.sh):
# give the ones the install was made with. --packaged: the Debian package's
# prerm; dpkg removes the binaries and the systemd unit itself.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/installer/paths.sh"
purge=0
packaged=0
paths_parse "$@"
for arg in ${rest[@]+"${rest[@]}"}; do
	case $arg in
	--purge) purge=1 ;;
	--packaged) packaged=1 ;;
	-h | --help) sed -n '2,10p' "$0"; exit 0 ;;
	*) echo "uninstall.sh: unknown option \"$arg\"" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "uninstall.sh: run as root" >&2; exit 1; }
say() { echo "sshbox uninstall: $*"; }
members() { getent group "$group" | cut -d: -f4 | tr ',' ' '; }
# Swarm mode's keys user (setup.sh), whose primary group is $group: read
# before --purge removes the config.
keys_user=$(awk -F' *= *' '$1 == "keys_user" {v = $2} END {print v}' "$conf" 2>/dev/null || true)
keys_user=${keys_user:-sshbox-keys}

# Accounts first: lock them before their ForceCommand goes away.
for u in $(members); do
	if [ $purge = 1 ] && [ -x "$sbin/sshbox" ]; then
		"$sbin/sshbox" --config "$conf" cleanuser "$u" --purge || true
	else
		usermod --lock --expiredate 1 "$u" && say "locked account $u (installing again unlocks it)"
	fi
done

for f in "$dropin" "$legacy_dropin"; do
	[ -f "$f" ] || continue
	rm -f "$f"
	if /usr/sbin/sshd -t -f "$sshd_config" 2>/dev/null; then
		# Reload only a running sshd: never start one while uninstalling.
		if [ "$default_paths" = 1 ] && [ -d /run/systemd/system ]; then
			systemctl reload ssh || true
		elif pid=$(cat "$sshd_pidfile" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; then
			kill -HUP "$pid"
		fi
		say "removed $f"
	else
		say "removed $f; sshd -t fails for reasons of its own, so sshd was not reloaded"
	fi
done

if uses_systemd && { [ $packaged = 1 ] || [ -f "$unit_dir/sshbox-watchdog.service" ]; }; then
	systemctl disable --now sshbox-watchdog.service 2>/dev/null || true
	[ $packaged = 1 ] || rm -f "$unit_dir/sshbox-watchdog.service"
	systemctl daemon-reload 2>/dev/null || true
else
	"$src/installer/supervise.sh" stop "$sbin/sshbox-watchdog" "$conf" "$run_dir" || true
	[ $packaged = 1 ] || rm -f "$unit_dir/sshbox-watchdog.service"
fi
say "watchdog stopped"

if [ $purge = 1 ] && command -v curl >/dev/null; then
	inst=$(awk -F' *= *' '$1 == "instance" {print $2}' "$conf" 2>/dev/null)
	inst=${inst:-$instance}
	# The engine the install used: its config's, when that is a unix socket.
	eng=$(awk -F' *= *' '$1 == "engine" {print $2}' "$conf" 2>/dev/null)
	case $eng in /*) engine=$eng ;; esac
	api() { curl -sS --max-time 120 --unix-socket "$engine" -X "$1" "http://localhost/v1.41$2"; }
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
	findmnt -rn -o TARGET | awk -v p="$state_dir/" 'index($0, p) == 1' | sort -r | xargs -r -n1 umount -l
	rm -rf "$state_dir" "$conf_dir" "$log_dir"
	say "purged containers, volumes, committed images, state and config of instance $inst"
fi

if [ $packaged = 0 ]; then
	rm -f "$sbin/sshbox-watchdog" "$sbin/sshbox"
	rm -rf "$prefix/libexec/sshbox"
	say "removed binaries under $prefix"
fi
rm -rf "$run_dir"
rm -f "$logrotate_dir/$instance"
if [ "$(id -gn "$keys_user" 2>/dev/null)" = "$group" ]; then
	userdel "$keys_user" && say "removed account $keys_user"
fi
if getent group "$group" >/dev/null && [ -z "$(members)" ]; then
	groupdel "$group" && say "removed group $group"
fi
say "done"

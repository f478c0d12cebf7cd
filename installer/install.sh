#!/usr/bin/env bash
# Installs sshbox on this Debian 12 host (root; idempotent, re-runnable):
# packages, binaries, /etc/sshbox/sshbox.conf, group and state dir, the base
# image, the watchdog, and the sshd drop-in (validated before any reload).
#   installer/install.sh [--prefix DIR] [--demo] [--no-x11]
# --demo also creates the user "demo" with a fresh key and logs in once.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
prefix=/usr/local
demo=0
x11=yes
while [ $# -gt 0 ]; do
	case $1 in
	--prefix) prefix=$2; shift ;;
	--demo) demo=1 ;;
	--no-x11) x11=no ;;
	-h | --help) sed -n '2,7p' "$0"; exit 0 ;;
	*) echo "install.sh: unknown option \"$1\"" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 1; }

conf=/etc/sshbox/sshbox.conf
dropin=/etc/ssh/sshd_config.d/sshbox.conf
shim=$prefix/libexec/sshbox/sshbox-shim
say() { echo "sshbox install: $*"; }

"$src/installer/deps.sh"

say "building"
build=$(mktemp -d /var/tmp/sshbox-build.XXXXXX)
trap 'rm -rf "$build"' EXIT
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
	-DCMAKE_INSTALL_PREFIX="$prefix" >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
cmake --install "$build" >/dev/null
say "installed binaries under $prefix"

install -d -m 0755 /etc/sshbox /run/sshbox
if [ ! -f "$conf" ]; then
	install -m 0644 "$src/installer/sshbox.conf" "$conf"
	say "wrote $conf"
fi
getent group sshbox >/dev/null || groupadd --system sshbox
# Accounts that uninstall.sh locked get their logins back.
for u in $(getent group sshbox | cut -d: -f4 | tr ',' ' '); do
	if [ -f "/var/lib/sshbox/users/$u/record" ]; then
		usermod --unlock --expiredate '' "$u" 2>/dev/null || true
	fi
done
install -d -m 0755 /var/lib/sshbox
install -d -m 0700 /var/lib/sshbox/users

"$src/installer/image/build-base.sh"

# The watchdog: systemd where it runs, else a supervised background daemon.
if [ -d /run/systemd/system ]; then
	sed "s|@SBINDIR@|$prefix/sbin|g" "$src/installer/systemd/sshbox-watchdog.service.in" \
		>/etc/systemd/system/sshbox-watchdog.service
	systemctl daemon-reload
	systemctl enable --now sshbox-watchdog.service
	systemctl restart sshbox-watchdog.service
else
	"$src/installer/supervise.sh" restart "$prefix/sbin/sshbox-watchdog" "$conf"
fi
say "watchdog running"

# The sshd drop-in: written beside, validated with sshd -t, then moved in.
# A config that does not validate is never activated.
mkdir -p /etc/ssh/sshd_config.d
grep -qE '^\s*Include\s+/etc/ssh/sshd_config.d/\*\.conf' /etc/ssh/sshd_config ||
	{ echo "install.sh: /etc/ssh/sshd_config does not include sshd_config.d/*.conf" >&2; exit 1; }
new=$(mktemp /etc/ssh/sshd_config.d/.sshbox.XXXXXX)
sed -e "s|@GROUP@|sshbox|" -e "s|@SHIM@|$shim|" -e "s|@CONFIG@|$conf|" -e "s|@X11@|$x11|" \
	"$src/installer/sshd/sshbox.conf.in" >"$new"
chmod 644 "$new"
old=$(mktemp /var/tmp/sshbox-dropin.XXXXXX)
had_old=0
[ -f "$dropin" ] && { cp -p "$dropin" "$old"; had_old=1; }
mv "$new" "$dropin"
mkdir -p /run/sshd
if ! err=$(/usr/sbin/sshd -t 2>&1); then
	if [ $had_old = 1 ]; then mv "$old" "$dropin"; else rm -f "$dropin" "$old"; fi
	echo "install.sh: sshd rejects the configuration with the sshbox drop-in; nothing was reloaded:" >&2
	echo "$err" >&2
	exit 1
fi
rm -f "$old"
if [ -d /run/systemd/system ]; then
	systemctl reload ssh
elif pid=$(cat /run/sshd.pid 2>/dev/null) && kill -0 "$pid" 2>/dev/null; then
	kill -HUP "$pid"
else
	/usr/sbin/sshd
fi
say "sshd drop-in $dropin active"

if [ $demo = 1 ]; then
	keydir=/root/sshbox-demo
	install -d -m 0700 "$keydir"
	[ -f "$keydir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "sshbox demo" -f "$keydir/id_ed25519"
	"$prefix/sbin/sshbox" createuser demo sshbox-base:latest "$keydir/id_ed25519.pub"
	say "demo user \"demo\" ready; its key is $keydir/id_ed25519"
	port=$(/usr/sbin/sshd -T 2>/dev/null | awk '$1 == "port" && !p {p = $2} END {print p}')
	say "logging in: ssh -i $keydir/id_ed25519 -p ${port:-22} demo@127.0.0.1 'hostname; cat /etc/os-release | head -1'"
	ssh -F /dev/null -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile="$keydir/known_hosts" \
		-o IdentitiesOnly=yes -o BatchMode=yes -i "$keydir/id_ed25519" -p "${port:-22}" demo@127.0.0.1 \
		'echo "inside container $(hostname) as $(whoami): $(head -1 /etc/os-release)"'
fi
say "done"

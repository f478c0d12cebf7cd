#!/usr/bin/env bash
# Issue 16, Must show 1: the Debian package. Built with dpkg-buildpackage
# (cached by source hash), lintian reports no errors; then, on a throwaway
# host, `apt-get install ./sshbox_*.deb` + `sshbox createuser` gives a
# working login into a container, an upgrade to a newer build keeps a live
# session, `apt-get remove` keeps the home volume and committed image and
# locks the account, `apt-get purge` removes config and state.
#
# The package installs to real paths (/usr, /etc/sshbox, /etc/ssh), so the
# throwaway host is a chroot of the cached debootstrap rootfs under the test
# root: its own dpkg database, /etc, accounts, and an sshd of its own on
# 127.0.0.1:$port (sharing the machine's network, on a port of the suite's).
# The package's maintainer scripts run there unchanged with their default
# paths; the machine's /usr, /etc and accounts are never written. The
# engine is the suite's dockerd, whose socket is bound to the chroot's
# /run/docker.sock. dockerd resolves a container's bind mounts (the user's
# /etc/sshbox, flag dirs) in its own mount namespace, which is the bed's
# (tests/bed/engine.sh): there, and only there, the chroot's /var/lib is
# bound over /var/lib, so the paths the chrooted watchdog names are the
# chroot's.
. "$(dirname "$0")/lib.sh"
# A write to a session that ended is a failed check, not the end of the test.
trap '' PIPE
skip_in_asan # it builds and installs its own (unsanitized) binaries
R=$SBX_ROOT/pkg-root
port=${SBX_PACKAGE_PORT:-22241}
user=sbt-pkg
holder=$(cat "$SBX_ENGINE_DIR/holder.pid")
in_engine_ns() { nsenter --target "$holder" --mount -- "$@"; }
inroot() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
apt_in() { inroot apt-get -y -q -o Dpkg::Use-Pty=0 "$@" >>"$T/apt.log" 2>&1; }
engine_label=$(printf '{"label":["sshbox.instance=sshbox"]}' | jq -sRr @uri)

stop_pidfile() { # stops what the test started in the chroot, by its pid file
	local pid
	pid=$(cat "$1" 2>/dev/null) && [ -n "$pid" ] && kill "$pid" 2>/dev/null
	return 0
}
cleanup() {
	for f in "$R/run/sshbox/supervisor.pid" "$R/run/sshbox/watchdog.pid" "$R/run/sshd.pid"; do stop_pidfile "$f"; done
	# The package's instance "sshbox" on the suite's engine only.
	for id in $(sbx_api GET "/containers/json?all=1&filters=$engine_label" | jq -r '.[].Id' 2>/dev/null); do
		sbx_api DELETE "/containers/$id?force=1" >/dev/null
	done
	for v in $(sbx_api GET "/volumes?filters=$engine_label" | jq -r '.Volumes[]?.Name' 2>/dev/null); do
		sbx_api DELETE "/volumes/$v" >/dev/null
	done
	sbx_api DELETE "/images/sshbox-user:$user" >/dev/null 2>&1
	for n in $(sbx_api GET "/networks?filters=$engine_label" | jq -r '.[].Id' 2>/dev/null); do
		sbx_api DELETE "/networks/$n" >/dev/null
	done
	in_engine_ns sh -c "findmnt -rn -o TARGET | grep -qx /var/lib && umount -l /var/lib" 2>/dev/null
	findmnt -rn -o TARGET | awk -v p="$R/" 'index($0, p) == 1' | sort -r | xargs -r -n1 umount -l
	# Never into the machine's /dev or /proc: only with nothing mounted below.
	if findmnt -rn -o TARGET | awk -v p="$R/" 'index($0, p) == 1' | grep -q .; then
		echo "# mounts remain under $R: not removed"
	else
		rm -rf --one-file-system "$R"
	fi
	rm -rf "$T"
}
trap cleanup EXIT
cleanup 2>/dev/null # a run killed half-way
mkdir -p "$T"

# The package, built once per source tree.
start=$SECONDS
deb=$(SSHBOX_DEB_NO_DEPS=1 "$SBX_SRC/installer/build-deb.sh" "$SBX_ROOTFS_CACHE/deb")
expect_eq "the .deb builds" 0 $?
echo "# package build (or cache hit): $((SECONDS - start)) s"
lint=$(lintian --fail-on error "$deb" 2>&1)
expect_eq "lintian reports no errors" 0 $?
printf '# lintian: %s\n' "$lint"

# The throwaway host: the cached rootfs, apt as the machine has it, its own
# sshd; /proc for the watchdog's netns work, /dev with a pty instance of its own.
rootfs=$(find "$SBX_ROOTFS_CACHE" -maxdepth 1 -name 'rootfs-*.tar' -printf '%T@ %p\n' | sort -rn | head -1 | cut -d' ' -f2)
mkdir -p "$R"
tar -C "$R" -xf "$rootfs"
chmod 0755 "$R" # the tar's "./" is debootstrap's mktemp dir (0700): "/" for every account
rm -f "$R/etc/apt/sources.list"
cp /etc/apt/sources.list.d/*.sources "$R/etc/apt/sources.list.d/" 2>/dev/null
[ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$R/etc/apt/"
cp /etc/apt/apt.conf.d/* "$R/etc/apt/apt.conf.d/"
cp /etc/resolv.conf "$R/etc/resolv.conf"
mount -t proc proc "$R/proc"
mount --bind /dev "$R/dev"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$R/dev/pts"
touch "$R/run/docker.sock"
mount --bind "$SBX_ENGINE" "$R/run/docker.sock"
in_engine_ns mount --bind "$R/var/lib" /var/lib
inroot ssh-keygen -A >/dev/null
printf 'Port %s\nListenAddress 127.0.0.1\n' "$port" >>"$R/etc/ssh/sshd_config"
mkdir -p "$R/run/sshd"
check "the throwaway host's sshd starts" inroot /usr/sbin/sshd -E /var/log/sshd.log
cp "$deb" "$R/tmp/"

start=$SECONDS
apt_in update
apt_in install --no-install-recommends "/tmp/${deb##*/}"
rc=$?
expect_eq "apt-get install ./${deb##*/} succeeds" 0 $rc
[ $rc = 0 ] || { tail -n 20 "$T/apt.log"; finish; }
echo "# apt-get install (dependencies from the mirror): $((SECONDS - start)) s"
tail -n 5 "$T/apt.log" | sed 's/^/# /'
check "the config is a conffile" grep -qx /etc/sshbox/sshbox.conf "$R/var/lib/dpkg/info/sshbox.conffiles"
check "the drop-in was activated after the sshd -T check" grep -q "ForceCommand exec /usr/libexec/sshbox/sshbox-shim" \
	"$R/etc/ssh/sshd_config.d/00-sshbox.conf"
wd_running() { pid=$(cat "$R/run/sshbox/watchdog.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; }
check "the watchdog runs (supervised: no systemd here)" wait_for 10 wd_running

ssh-keygen -q -t ed25519 -N '' -C "$user" -f "$T/key"
cp "$T/key.pub" "$R/tmp/key.pub"
out=$(inroot sshbox createuser "$user" sshbox-base:latest /tmp/key.pub 2>&1)
rc=$?
expect_eq "sshbox createuser succeeds" 0 $rc
[ $rc = 0 ] || printf '# %s\n' "$out"
pkg_ssh() { ssh "${sbx_ssh_opts[@]}" -i "$T/key" -p "$port" "$user@127.0.0.1" "$@"; }
inside=$(pkg_ssh hostname) # first: the login creates the container
expect_eq "the login lands in the user's container" "$(sbx_api GET "/containers/sshbox-$user/json" | jq -r .Config.Hostname)" \
	"$inside"
if [ "$failed" != 0 ]; then
	tail -n 20 "$R/var/log/sshd.log" | sed 's/^/# sshd: /'
	grep "^$user:" "$R/etc/passwd" | sed 's/^/# /'
fi
pkg_ssh 'echo kept > /root/data'
pkg_ssh commit >/dev/null 2>&1
expect_eq "commit saves the user's image" 0 $?

# An upgrade to a newer build of the package with a session live.
mkfifo "$T/in"
# shellcheck disable=SC2016 # the remote shell expands it
pkg_ssh 'while read l; do echo "got $l"; done' <"$T/in" >"$T/out" 2>&1 &
sess=$!
exec {in}>"$T/in"
got() { grep -q "^got $1$" "$T/out"; }
echo one >&$in
check "a session is live" wait_for 20 got one
started=$(sbx_api GET "/containers/sshbox-$user/json" | jq -r .State.StartedAt)
deb2=$(SSHBOX_DEB_NO_DEPS=1 SSHBOX_DEB_VERSION=0.1.0+upgrade1 "$SBX_SRC/installer/build-deb.sh" "$SBX_ROOTFS_CACHE/deb-upgrade")
cp "$deb2" "$R/tmp/"
apt_in install --no-install-recommends "/tmp/${deb2##*/}"
expect_eq "apt-get install of a newer build over the running one succeeds" 0 $?
check "the new watchdog runs" wait_for 10 wd_running
# /proc/PID/exe is the very file the running watchdog was started from.
expect_eq "and it is the new build" "sshbox-watchdog 0.1.0 (build 0.1.0+upgrade1)" \
	"$("/proc/$(cat "$R/run/sshbox/watchdog.pid")/exe" --version 2>/dev/null)"
echo two >&$in
check "the live session goes on" wait_for 10 got two
expect_eq "the container was not restarted" "$started" "$(sbx_api GET "/containers/sshbox-$user/json" | jq -r .State.StartedAt)"
exec {in}>&-
wait $sess

apt_in remove sshbox
expect_eq "apt-get remove succeeds" 0 $?
check_not "the account cannot log in (locked, not given a host shell)" pkg_ssh true
check "its shadow entry is locked" bash -c "grep -q '^$user:!' '$R/etc/shadow'"
expect_eq "its home volume is kept" "sshbox-home-$user" "$(sbx_api GET "/volumes/sshbox-home-$user" | jq -r .Name)"
engine_has() { sbx_api GET "$1" | jq -e '.Id // .Name' >/dev/null; }
check "its committed image is kept" engine_has "/images/sshbox-user:$user/json"
check "the drop-in is gone" test ! -e "$R/etc/ssh/sshd_config.d/00-sshbox.conf"
check_not "the watchdog is stopped" wd_running
check "config and state stay until purge" test -f "$R/etc/sshbox/sshbox.conf" -a -f "$R/var/lib/sshbox/users/$user/record"

apt_in purge sshbox
expect_eq "apt-get purge succeeds" 0 $?
check "purge removes the config" test ! -e "$R/etc/sshbox"
check "and the state" test ! -e "$R/var/lib/sshbox"
check "the home volume is still kept (cleanuser --purge deletes it)" engine_has "/volumes/sshbox-home-$user"
finish

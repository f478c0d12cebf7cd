#!/usr/bin/env bash
# Issue 18: any image with a shell works; the container's sshd is the
# host's, bundled and mounted read-only (watchdog/bundle.h).
# 1. Users on four images (busybox only, Debian without openssh-server, the
#    base image, an image with its own sshd_config) get shell, exec with exit
#    status, pty with resize, scp, sftp, sshfs and agent forwarding.
# 2. An image without a shell is refused in one line; nothing is created.
# 3. A changed OpenSSH server on the host (bundle_source pointed at a scratch
#    copy, then changed): a session open across it keeps working; the next
#    start uses the new bundle.
# 4. From inside: the bundle is read-only, cannot be remounted, and another
#    container's view of it is unchanged.
. "$(dirname "$0")/lib.sh"
declare -A img
while read -r name image; do img[$name]=$image; done < <("$SBX_SRC/tests/bed/images.sh")
[ -n "${img[busybox]:-}" ] || { echo "images.sh failed" >&2; exit 1; }
users=(sbt-busy sbt-nossh sbt-ownconf)
restore() {
	sed -i '/^bundle_source = /d' "$SBX_CONF"
	kill -HUP "$(cat "$SBX_ROOT/run/watchdog.pid")"
	for u in "${users[@]}"; do sbx_admin cleanuser "$u" >/dev/null 2>&1; done
	ssh-agent -k >/dev/null 2>&1
	rm -rf "$T"
}
trap restore EXIT
for u in "${users[@]}"; do
	[ -f "$SBX_KEYS/$u" ] || ssh-keygen -q -t ed25519 -N '' -C "$u test key" -f "$SBX_KEYS/$u"
done
sbx_admin createuser sbt-busy "${img[busybox]}" "$SBX_KEYS/sbt-busy.pub" >/dev/null
sbx_admin createuser sbt-nossh "${img[nossh]}" "$SBX_KEYS/sbt-nossh.pub" >/dev/null
sbx_admin createuser sbt-ownconf "${img[ownconf]}" "$SBX_KEYS/sbt-ownconf.pub" >/dev/null
as() { sbx_ssh "$@"; }
scpo=(-P "$SBX_PORT" -o IdentitiesOnly=yes -o StrictHostKeyChecking=no
	-o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR)
eval "$(ssh-agent -s)" >/dev/null
ssh-add -q "$SBX_KEYS/sbt-alice" # the agent's key, whoever logs in
fp=$(ssh-add -l | awk '{print $2}')
head -c $((4 << 20)) /dev/urandom >"$T/data"
want=$(sha256sum <"$T/data" | cut -d' ' -f1)
mkdir "$T/mnt"

# 1. Every kind of session on each image.
for u in sbt-busy sbt-nossh sbt-alice sbt-ownconf; do
	key=$SBX_KEYS/$u
	# shellcheck disable=SC2016 # the container's shell expands it
	out=$(printf 'echo shell-$((6*7))\nexit 4\n' | as $u 2>&1)
	rc=$?
	expect_eq "$u: a shell reads its commands and exits with their status" "4 shell-42" "$rc $out"
	out=$(as $u 'echo out; echo err >&2; exit 7' 2>"$T/err")
	expect_eq "$u: exec keeps stdout, stderr and the exit status" "7 out err" "$? $out $(cat "$T/err")"
	case $u in
	sbt-busy) expect_eq "$u: no sshd in the image; passwd has what sshbox added" "root sshd " \
		"$(as $u 'test ! -e /usr/sbin/sshd && cut -d: -f1 /etc/passwd | tr "\n" " "')" ;;
	sbt-nossh) expect_eq "$u: openssh-server is not installed" no \
		"$(as $u 'dpkg -s openssh-server >/dev/null 2>&1 && echo yes || echo no; test ! -e /usr/sbin/sshd')" ;;
	sbt-ownconf) expect_contains "$u: the image's own sshd_config says Port 2222 (unused)" "Port 2222" \
		"$(as $u 'cat /etc/ssh/sshd_config')" ;;
	esac
	expect_contains "$u: the sshd serving it is the bundle's" "/.sshbox/sshd/sshd -D -e -f /.sshbox/sshd/sshd_config" \
		"$(as $u 'cat /proc/1/cmdline /proc/[0-9]*/cmdline 2>/dev/null | tr "\0" " "')"
	# pty with resize, driven by tmux
	pty_resize_check "$u: " $u "$key"
	check "$u: no login-record or PAM warning on the terminal" bash -c "! tmux capture-pane -p -t $pty_s | grep -Eiq 'lastlog|wtmp|utmp|pam|warning'"
	tmux kill-session -t "$pty_s" 2>/dev/null
	# scp (SFTP protocol), sftp, sshfs
	rm -f "$T/back"
	scp "${scpo[@]}" -i "$key" "$T/data" $u@127.0.0.1:/root/scp.bin && scp "${scpo[@]}" -i "$key" $u@127.0.0.1:/root/scp.bin "$T/back"
	expect_eq "$u: scp up and down is byte-identical" "$want" "$(sha256sum <"$T/back" | cut -d' ' -f1)"
	rm -f "$T/back"
	printf 'put %s /root/sftp.bin\nget /root/sftp.bin %s\nrm /root/sftp.bin\n' "$T/data" "$T/back" >"$T/batch"
	sftp -b "$T/batch" "${scpo[@]}" -i "$key" $u@127.0.0.1 >/dev/null 2>&1
	expect_eq "$u: sftp put/get/rm" "$want" "$(sha256sum <"$T/back" | cut -d' ' -f1)"
	sshfs -p "$SBX_PORT" -o IdentityFile="$key",IdentitiesOnly=yes,StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null,BatchMode=yes,LogLevel=ERROR $u@127.0.0.1:/root "$T/mnt"
	cp "$T/data" "$T/mnt/fs.bin"
	expect_eq "$u: sshfs write, read inside" "$want" "$(as $u 'sha256sum /root/fs.bin' | cut -d' ' -f1)"
	rm -f "$T/mnt/fs.bin" "$T/mnt/scp.bin"
	check "$u: sshfs unmounts" fusermount3 -u "$T/mnt"
	# agent forwarding; where the image has no ssh-add, the host's runs on
	# the bundle's loader and libraries
	scp "${scpo[@]}" -i "$key" /usr/bin/ssh-add $u@127.0.0.1:/tmp/ssh-add.host
	out=$(ssh "${sbx_ssh_opts[@]}" -A -i "$key" -p "$SBX_PORT" $u@127.0.0.1 \
		'if command -v ssh-add >/dev/null; then ssh-add -l; else /.sshbox/sshd/ld-linux-x86-64.so.2 --library-path /.sshbox/sshd /tmp/ssh-add.host -l; fi; rm -f /tmp/ssh-add.host')
	expect_contains "$u: ssh -A: the agent's key is listed inside" "$fp" "$out"
done

# 2. No shell: refused in one line naming the image; nothing created.
out=$(sbx_admin createuser sbt-new "${img[noshell]}" "$SBX_KEYS/sbt-alice.pub" 2>&1)
expect_ne "no shell: createuser fails" 0 $?
expect_eq "no shell: one line" 1 "$(printf '%s\n' "$out" | wc -l)"
expect_contains "no shell: names the image and /bin/sh" "\"${img[noshell]}\" has no usable shell: /bin/sh is missing" "$out"
check "no shell: no account, record or container" bash -c "! id sbt-new 2>/dev/null && [ ! -e '$SBX_STATE/users/sbt-new' ] && [ \$(curl -sS --unix-socket '$SBX_ENGINE' 'http://localhost/v1.41/containers/json?all=1' | jq '[.[] | select(.Names[] | test(\"sbt-new\"))] | length') = 0 ]"
out=$(sbx_admin set sbt-busy "image=${img[noshell]}" 2>&1)
expect_contains "no shell: set image= is refused the same way" "has no usable shell" "$out"

# 4. The bundle from inside: read-only, no remount, no write; bob's view unchanged.
sbx_ssh sbt-bob true
bob_before=$(sbx_ssh sbt-bob 'sha256sum /.sshbox/sshd/sshd /.sshbox/sshd/sshd_config')
# shellcheck disable=SC2016 # the probe runs in the container
out=$(as sbt-busy 'r() { if "$@" >/dev/null 2>&1; then echo "$n=yes"; else echo "$n=no"; fi; }
n=remount r mount -o remount,rw /.sshbox/sshd
n=remount_bind r mount -o remount,rw,bind /.sshbox/sshd
n=touch r touch /.sshbox/sshd/planted
n=append r sh -c "echo x >> /.sshbox/sshd/sshd"
n=replace r cp /bin/busybox /.sshbox/sshd/sshd
n=umount r umount /.sshbox/sshd
n=ro r grep -Eq " /.sshbox/sshd ro[, ]" /proc/self/mountinfo
echo "capeff=$(awk "/^CapEff/ {print \$2}" /proc/self/status)"')
field() { sed -n "s/^$1=//p" <<<"$out"; }
expect_eq "the bundle is mounted read-only" yes "$(field ro)"
expect_eq "mount -o remount,rw of the bundle fails" no "$(field remount)"
expect_eq "mount -o remount,rw,bind of the bundle fails" no "$(field remount_bind)"
expect_eq "creating a file in the bundle fails" no "$(field touch)"
expect_eq "appending to the bundle's sshd fails" no "$(field append)"
expect_eq "replacing the bundle's sshd fails" no "$(field replace)"
expect_eq "unmounting the bundle fails" no "$(field umount)"
capeff=$(field capeff)
expect_eq "no CAP_SYS_ADMIN in the container" 0 "$(((16#${capeff:-ffffffffff} >> 21) & 1))"
expect_eq "bob's container sees the same bundle" "$bob_before" "$(sbx_ssh sbt-bob 'sha256sum /.sshbox/sshd/sshd /.sshbox/sshd/sshd_config')"
check "bundles are root-only on the host" bash -c "[ \$(stat -c %a '$SBX_STATE/bundles') = 700 ]"

# 3. A changed OpenSSH server: a scratch copy of the host's files is the
# source; changed while a session is open.
src=$T/openssh
for f in /usr/sbin/sshd /usr/lib/openssh/sftp-server /usr/lib/openssh/sshd-session /usr/lib/openssh/sshd-auth; do
	[ -e "$f" ] || continue
	mkdir -p "$src${f%/*}"
	cp "$f" "$src$f"
done
echo "bundle_source = $src" >>"$SBX_CONF"
kill -HUP "$(cat "$SBX_ROOT/run/watchdog.pid")"
u=sbt-busy
as $u stop >/dev/null 2>&1
k1=$(as $u 'cat /.sshbox/sshd/key')
check "the first key names the package version" test -n "$k1"
open_session held $u
check "a session is open" wait_for 10 sessions_are $u 1
printf '\0sshbox-upgrade' >>"$src/usr/sbin/sshd" # a different build: other checksum
expect_eq "a new login while it runs keeps the running bundle" "$k1" "$(as $u 'cat /.sshbox/sshd/key')"
# shellcheck disable=SC2154 # set by open_session through eval
(echo still-here >&"$sess_fd_held") 2>/dev/null # a subshell: a dead session's SIGPIPE ends only it
close_session held
expect_eq "the session open across the change ends normally" closed "$(cat "$T/held.out")"
as $u stop >/dev/null 2>&1
# shellcheck disable=SC2016 # the container's shell expands it
k2=$(as $u 'cat /.sshbox/sshd/key; echo works-$((1+1))')
expect_ne "the next start uses a new bundle" "$k1" "${k2%%$'\n'*}"
expect_contains "and logins work with it" works-2 "$k2"
check "the old bundle is kept (the last two are)" test -d "$SBX_STATE/bundles/$k1"
check "a build was logged" grep -q "building the sshd bundle ${k2%%$'\n'*}" "$SBX_ROOT/watchdog.log"
finish

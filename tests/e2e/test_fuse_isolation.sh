#!/usr/bin/env bash
# Issue 12 (1): FUSE without any mount privilege in the container. A fuse
# user's sshbox-connect mounts a laptop dir, yet in that container root
# cannot mount, remount, unshare or write core_pattern and has no
# CAP_SYS_ADMIN. The per-user FUSE socket answers only processes of that
# user's container: another user's container, the user's host processes and
# host root are refused; bad paths get a clear error and nothing runs.
. "$(dirname "$0")/lib.sh"
u=sbt-alice
CONNECT=$SBX_SRC/installer/sshbox-connect
export SSHBOX_SSH_OPTS="${sbx_ssh_opts[*]}"
FDIR=$SBX_STATE/users/$u/fuse
CLI=/run/sshbox-fuse/sshbox-fuse
restore() {
	sbx_admin set "$u" fuse=no >/dev/null
	sbx_ssh "$u" nodaemon >/dev/null 2>&1 # the flag outlives the container
	sbx_ssh "$u" remove --force >/dev/null 2>&1
	sbx_ssh sbt-bob nodaemon >/dev/null 2>&1
	rm -rf "$T"
}
trap restore EXIT
sbx_admin set $u fuse=yes >/dev/null
sbx_ssh $u remove --force >/dev/null 2>&1
sbx_ssh $u daemon >/dev/null
sbx_ssh sbt-bob daemon >/dev/null

# 1. A laptop dir mounted by sshbox-connect; in the same container, with the
# mount in place, every way to a mount privilege fails.
D="$T/laptop dir"
mkdir -p "$D"
echo from-laptop >"$D/f"
# shellcheck disable=SC2016 # the probe runs in the container
probe='cd /
r() { if "$@" >/dev/null 2>&1; then echo "$name=yes"; else echo "$name=no"; fi; }
name=read r grep -q from-laptop "$PWD_D/f"
name=fuse_type r sh -c "grep -F \" $PWD_D_MNT fuse.sshfs \" /proc/mounts | grep -q nosuid,nodev"
name=mount_proc r mount -t proc none /mnt
name=remount_etc r mount -o remount,rw /etc/sshbox
name=remount_daemon r mount -o remount,rw,bind /usr/local/bin/daemon
name=remount_fusedir r mount -o remount,rw /run/sshbox-fuse
name=umount_fuse r umount "$PWD_D"
name=unshare r unshare -m true
name=core_pattern r sh -c "echo /tmp/x > /proc/sys/kernel/core_pattern"
name=replace_sock r rm -f /run/sshbox-fuse/sock
name=plant r touch /run/sshbox-fuse/planted
name=dev_fuse r test -e /dev/fuse
echo "capeff=$(awk "/^CapEff/ {print \$2}" /proc/self/status)"'
mnt_name=${D// /\\040} # /proc/mounts writes a space as \040
out=$("$CONNECT" -u $u -h 127.0.0.1 -P "$SBX_PORT" -i "$SBX_KEYS/$u" -p "$D" \
	-m "PWD_D=$(printf %q "$D") PWD_D_MNT=$(printf %q "$mnt_name"); $probe" 2>"$T/err")
expect_eq "sshbox-connect with the probe exits 0" 0 $?
expect_eq "and says nothing on stderr" "" "$(cat "$T/err")"
field() { sed -n "s/^$1=//p" <<<"$out"; }
expect_eq "the laptop's file is read through the mount" yes "$(field read)"
expect_eq "the mount is fuse.sshfs, nosuid,nodev" yes "$(field fuse_type)"
expect_eq "mount -t proc none /mnt fails" no "$(field mount_proc)"
expect_eq "mount -o remount,rw /etc/sshbox fails" no "$(field remount_etc)"
expect_eq "mount -o remount,rw,bind /usr/local/bin/daemon fails" no "$(field remount_daemon)"
expect_eq "mount -o remount,rw of the FUSE dir fails" no "$(field remount_fusedir)"
expect_eq "root in the container cannot unmount the FUSE mount itself" no "$(field umount_fuse)"
expect_eq "unshare -m fails" no "$(field unshare)"
expect_eq "/proc/sys/kernel/core_pattern is not writable" no "$(field core_pattern)"
expect_eq "the FUSE socket cannot be removed (read-only mount)" no "$(field replace_sock)"
expect_eq "nothing can be planted in the FUSE dir" no "$(field plant)"
expect_eq "the container has no /dev/fuse" no "$(field dev_fuse)"
capeff=$(field capeff)
expect_match "CapEff is a capability mask" '^[0-9a-f]{16}$' "$capeff"
check "CapEff has no CAP_SYS_ADMIN (bit 21)" test $((0x${capeff:-0} >> 21 & 1)) -eq 0
expect_eq "the container's spec adds no SYS_ADMIN" 0 \
	"$(container_field $u '.HostConfig.CapAdd // [] | map(select(test("SYS_ADMIN"))) | length')"
expect_eq "nor a device" 0 "$(container_field $u '.HostConfig.Devices // [] | length')"
expect_eq "nor an AppArmor change" "" \
	"$(container_field $u '.HostConfig.SecurityOpt // [] | map(select(startswith("apparmor"))) | join(",")')"
expect_eq "no fuse.sshfs mount left afterwards" 0 "$(sbx_ssh $u 'grep -c fuse.sshfs /proc/mounts')"
check "the mount was made by the watchdog, logged" grep -q "user \"$u\": fuse: pid [0-9]*: mounted fuse.sshfs at \"$D\"" "$SBX_ROOT/watchdog.log"

# 2. Bad paths from inside: a clear error each, and the command never runs.
bad() { # DESCRIPTION EXPECTED_MESSAGE_PART PATH
	local o
	o=$(sbx_ssh $u "$CLI mount $(printf %q "$3") -- touch /tmp/ran 2>&1; echo rc=\$?; test -e /tmp/ran && echo RAN")
	expect_contains "$1: refused" "$2" "$o"
	expect_contains "$1: exit status 1" "rc=1" "$o"
	if [[ $o != *RAN* ]]; then ok "$1: the command did not run"; else not_ok "$1: the command ran"; fi
}
sbx_ssh $u 'mkdir -p /tmp/a /tmp/b; ln -sfn / /tmp/out; ln -sfn /proc /tmp/p; rm -f /tmp/ran'
bad "a path with .." 'holds "..": give it normalised' /tmp/a/../b
bad "a symlink pointing out (to /)" "passes through a symbolic link in the container" /tmp/out/etc
bad "a symlink to /proc" "passes through a symbolic link in the container" /tmp/p
bad "/proc" 'is in /proc: no FUSE mounts there' /proc/sys
bad "/etc/sshbox" 'would cover /etc/sshbox, which sshbox manages' /etc/sshbox
bad "a parent of the in-container commands" 'would cover /usr/local/bin/daemon' /usr/local/bin
bad "a relative path" 'is not absolute' tmp/a
bad "a missing directory" 'does not exist in the container' /tmp/none
o=$(sbx_ssh $u "$CLI umount /root 2>&1")
expect_contains "unmounting what sshbox did not mount is refused" 'is not a FUSE mount that sshbox made in this container' "$o"

# 3. Callers outside alice's container, each given a way to the socket.
bob_pid=$(container_field sbt-bob .State.Pid)
expect_match "bob's container runs" '^[1-9][0-9]*$' "$bob_pid"
exec 8<"$SBX_BIN/sshbox-fuse" 9<"$FDIR"
out=$(SSHBOX_FUSE_SOCKET=/proc/self/fd/9/sock nsenter -t "$bob_pid" -m -u -i -n -p -- \
	/proc/self/fd/8 mount /tmp -- touch /tmp/ran-in-bob 2>&1)
expect_contains "a process of bob's container asking alice's socket is refused" \
	"is not a process of the container of user \"$u\"" "$out"
check_not "and its command did not run" sbx_ssh sbt-bob 'test -e /tmp/ran-in-bob'
out=$(runuser -u $u -- env SSHBOX_FUSE_SOCKET=/proc/self/fd/9/sock /proc/self/fd/8 mount /tmp -- true 2>&1)
expect_contains "alice's own host process is refused (socket is root's, 0600)" "Permission denied" "$out"
out=$(SSHBOX_FUSE_SOCKET=$FDIR/sock "$SBX_BIN/sshbox-fuse" mount /tmp -- true 2>&1)
expect_contains "a host root process is refused (not in the container)" \
	"is not a process of the container of user \"$u\"" "$out"
exec 8<&- 9<&-
check "the refusals are logged with pid and uid" grep -q "user \"$u\": fuse: pid [0-9]* uid [0-9]*: refused: pid [0-9]* is not a process" "$SBX_ROOT/watchdog.log"

# 4. A bad client costs its connection only: a silent one and a garbage one
# are open while alice mounts.
python3 - "$FDIR/sock" >"$T/bad.out" 2>&1 <<'PY' &
import socket, struct, sys, time
silent = socket.socket(socket.AF_UNIX); silent.connect(sys.argv[1])
g = socket.socket(socket.AF_UNIX); g.connect(sys.argv[1])
g.sendall(struct.pack(">I", 7) + b"garbage")
print("garbage:", g.recv(4096)[4:].decode(), flush=True)
big = socket.socket(socket.AF_UNIX); big.connect(sys.argv[1])
big.sendall(struct.pack(">I", 1 << 30))
print("big:", big.recv(4096)[4:].decode(), flush=True)
time.sleep(12)
PY
badpid=$!
sleep 0.5
o=$(sbx_ssh $u "mkdir -p /tmp/m && $CLI mount /tmp/m -- sh -c 'test -n \"\$(ls -l \$0)\" && echo got-fd' 2>&1")
expect_eq "a mount works beside the bad clients" got-fd "$o"
wait $badpid
expect_match "garbage is answered with an error" '"ok": ?false' "$(grep garbage: "$T/bad.out")"
expect_contains "an oversized frame is refused by its length" 'over the limit' "$(grep big: "$T/bad.out")"
expect_eq "the watchdog serves on" ok "$(sbx_ssh sbt-bob 'echo ok')"

# 5. What a mount costs: ten mount + unmount round trips from inside.
ms=$(sbx_ssh $u "s=\$(date +%s%N); for i in 1 2 3 4 5 6 7 8 9 10; do $CLI mount /tmp/m -- true || exit 1; done; echo \$(((\$(date +%s%N) - s) / 10000000))")
expect_match "ten mount + unmount round trips work" '^[0-9]+$' "$ms"
echo "# one mount + unmount round trip (engine lookup, namespace checks, fork, mount): $ms ms"
expect_eq "and leave no mount behind" 0 "$(sbx_ssh $u 'grep -c " /tmp/m " /proc/mounts')"
finish

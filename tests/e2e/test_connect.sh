#!/usr/bin/env bash
# Issue 6: sshbox-connect. Local directories appear at the same path inside
# the user's container (the laptop's sftp-server over the ssh session into
# `sshfs -o passive`; no sshd on the laptop, no port opened), COMMAND runs
# there; Ctrl-C leaves nothing behind on either side; users without FUSE get
# one clear line; the daemon flag ends as it was found.
. "$(dirname "$0")/lib.sh"
u=sbt-alice
CONNECT=$SBX_SRC/installer/sshbox-connect
export SSHBOX_SSH_OPTS="${sbx_ssh_opts[*]}"
# connect USER ARGS...: sshbox-connect into the test sshd as USER.
connect() {
	local user=$1
	shift
	"$CONNECT" -u "$user" -h 127.0.0.1 -P "$SBX_PORT" -i "$SBX_KEYS/$user" "$@"
}
q() { printf %q "$1"; }
daemon_flag() { sbx_ssh "$1" 'if test -e /run/sshbox/daemon; then echo on; else echo off; fi'; }
fuse_mounts() { sbx_ssh "$1" 'grep -c fuse.sshfs /proc/mounts'; }
leftover_state() { sbx_ssh "$1" 'ls -d /run/sshbox-connect.* 2>/dev/null | wc -l'; }

# FUSE for alice only, for this test; put back to the default at the end.
restore_fuse() {
	sbx_admin set "$u" fuse=no >/dev/null
	sbx_ssh "$u" remove --force >/dev/null 2>&1
}
trap 'restore_fuse; rm -rf "$T"' EXIT
check "sh -n accepts sshbox-connect" sh -n "$CONNECT"
sbx_admin set $u fuse=yes >/dev/null
expect_eq "fuse=yes for $u" 0 $?
sbx_ssh $u remove --force >/dev/null 2>&1
check "$u's new container has the FUSE socket, and no /dev/fuse" sbx_ssh $u 'test -S /run/sshbox-fuse/sock && ! test -e /dev/fuse'

D1="$T/proj one"
D2="$T/it's two"
mkdir -p "$D1" "$D2"
head -c $((4 << 20)) /dev/urandom >"$D1/big.bin"
want=$(sha256sum <"$D1/big.bin" | cut -d' ' -f1)
expect_eq "daemon flag is off to begin with" off "$(daemon_flag $u)"

# 1. A local file read inside, a file made inside appears locally.
out=$(connect $u -p "$D1" -m 'sha256sum big.bin; echo hi > made-in-container' 2>"$T/err1")
expect_eq "sshbox-connect -m exits 0" 0 $?
expect_eq "sha256 of big.bin inside the container is the local one" "$want  big.bin" "$out"
expect_eq "nothing on stderr" "" "$(cat "$T/err1")"
expect_eq "made-in-container exists locally" hi "$(cat "$D1/made-in-container" 2>/dev/null)"
expect_eq "no sshfs mount left in the container" 0 "$(fuse_mounts $u)"
expect_eq "no state left in the container" 0 "$(leftover_state $u)"
expect_eq "the daemon flag is off again" off "$(daemon_flag $u)"

connect $u -p "$D1" -m 'exit 7' 2>/dev/null
expect_eq "COMMAND's exit status is sshbox-connect's" 7 $?
out=$(connect $u -p "$D1" -m 'test -e /run/sshbox/daemon && echo daemon-on')
expect_eq "daemon mode is on while the mounts are in use" daemon-on "$out"

# 2. Two directories, both at their own paths; cwd is the first; relative -p.
echo from-laptop >"$D2/local.txt"
out=$(cd "$T" && connect $u -p "proj one" -p "$D2" -m "pwd
mountpoint -q $(q "$D1") && mountpoint -q $(q "$D2") && echo both-mounted
grep -c fuse.sshfs /proc/mounts
cat $(q "$D2/local.txt")
echo from-container > $(q "$D2/remote.txt")" 2>"$T/err2")
expect_eq "two -p: exit 0" 0 $?
expect_eq "two -p: cwd is the first, both are mount points, the laptop's file is read" \
	"$D1
both-mounted
2
from-laptop" "$out"
expect_eq "a file written in the second dir appears locally" from-container "$(cat "$D2/remote.txt" 2>/dev/null)"
expect_eq "no sshfs mount left after two" 0 "$(fuse_mounts $u)"

# 3. SIGINT in the middle of COMMAND: unmounted inside, nothing left locally.
descendants() {
	local c
	for c in $(pgrep -P "$1"); do
		echo "$c"
		descendants "$c"
	done
}
alive() {
	local s
	s=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $s != Z* ]]
}
none_alive() {
	local p
	for p; do alive "$p" && return 1; done
	return 0
}
remote_sleeping() { sbx_ssh "$u" 'pgrep -x sleep >/dev/null && grep -q fuse.sshfs /proc/mounts'; }
# (A background job of a script starts with SIGINT ignored; give it back the default.)
mkdir "$T/tmp"
TMPDIR=$T/tmp env --default-signal=INT "$CONNECT" -u $u -h 127.0.0.1 -P "$SBX_PORT" -i "$SBX_KEYS/$u" \
	-p "$D1" -p "$D2" -m 'sleep 300' >"$T/int.out" 2>&1 &
cpid=$!
check "COMMAND runs with the mounts in place" wait_for 30 remote_sleeping
expect_eq "daemon flag on while connected" on "$(daemon_flag $u)"
mapfile -t kids < <(descendants $cpid)
expect_match "sftp-server and ssh run locally" "sftp-server" "$(IFS=,; ps -o args= -p "${kids[*]}")"
start=$SECONDS
kill -INT $cpid
check "sshbox-connect and all its processes are gone within 10 s" wait_for 10 none_alive $cpid "${kids[@]}"
wait $cpid
expect_eq "sshbox-connect exits 130 on SIGINT" 130 $?
echo "# gone after $((SECONDS - start)) s"
expect_eq "no fuse.sshfs mount left in the container" 0 "$(fuse_mounts $u)"
check "the interrupted COMMAND was stopped in the container" sbx_ssh $u '! pgrep -x sleep'
expect_eq "no state left in the container after SIGINT" 0 "$(leftover_state $u)"
expect_eq "the daemon flag is off again after SIGINT" off "$(daemon_flag $u)"
no_connect_left() { ! pgrep -f "^/bin/sh $CONNECT" >/dev/null; }
check "no local process of sshbox-connect" no_connect_left
expect_eq "no temporary directory left" "" "$(ls -A "$T/tmp")"
check "the directory is still intact locally" test "$want" = "$(sha256sum <"$D1/big.bin" | cut -d' ' -f1)"

# 5. Daemon mode already on: still on afterwards (also after SIGTERM).
sbx_ssh $u daemon >/dev/null
connect $u -p "$D1" -m true
expect_eq "daemon flag that was on stays on" on "$(daemon_flag $u)"
"$CONNECT" -u $u -h 127.0.0.1 -P "$SBX_PORT" -i "$SBX_KEYS/$u" -p "$D1" -m 'sleep 300' >/dev/null 2>&1 &
cpid=$!
check "COMMAND runs (daemon on)" wait_for 30 remote_sleeping
kill -TERM $cpid
wait $cpid
expect_eq "sshbox-connect exits 143 on SIGTERM" 143 $?
expect_eq "daemon flag that was on stays on after SIGTERM" on "$(daemon_flag $u)"
expect_eq "no fuse.sshfs mount left after SIGTERM" 0 "$(fuse_mounts $u)"
sbx_ssh $u nodaemon >/dev/null

# 4. A user without FUSE: one clear line, non-zero, nothing changed.
bob_flag=$(daemon_flag sbt-bob)
out=$(connect sbt-bob -p "$D1" -m 'echo should-not-run' 2>&1)
rc=$?
expect_ne "without FUSE sshbox-connect fails" 0 $rc
expect_eq "with exactly the one clear line" \
	"sshbox-connect: FUSE is not enabled for sbt-bob on 127.0.0.1; ask your admin to run 'sshbox set sbt-bob fuse=yes' (then 'ssh sbt-bob@127.0.0.1 remove' to re-create the container)" "$out"
expect_eq "bob's daemon flag untouched" "$bob_flag" "$(daemon_flag sbt-bob)"
expect_eq "no state left in bob's container" 0 "$(leftover_state sbt-bob)"

# Bad input: clear errors, nothing run.
out=$(connect $u -p "$T/does-not-exist" -m 'echo ran' 2>&1)
expect_eq "a missing directory fails" 1 $?
expect_match "and says so" "sshbox-connect: not a directory: $T/does-not-exist" "$out"
out=$("$CONNECT" -h 127.0.0.1 -m true 2>&1)
expect_eq "missing -u is a usage error" 2 $?
expect_match "naming -u" "missing -u USER" "$out"
out=$(connect $u -p / -m 'echo ran' 2>&1)
expect_ne "/ is refused" 0 $?
expect_match "with a reason" "refusing to mount /" "$out"

finish

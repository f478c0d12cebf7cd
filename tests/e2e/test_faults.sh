#!/usr/bin/env bash
# Issue 8 (part): faults and bad input, end to end. The container running out
# of memory is told to the user; sshd restarted under live sessions; long
# commands with newlines, quotes and $(...) run in the container exactly as
# written; record writers killed mid-write leave a whole record; a full disk
# under the state dir gives a clear error and loses nothing.
. "$(dirname "$0")/lib.sh"
key=$SBX_KEYS/sbt-alice
as() { # USER CMD...: a login as USER with alice's key (test-made users)
	local u=$1
	shift
	ssh "${sbx_ssh_opts[@]}" -i "$key" -p "$SBX_PORT" "$u@127.0.0.1" "$@"
}

# 1. Out of memory: the kernel kills the hog; the session says why, goes on.
sbx_admin createuser sbt-oom sshbox-base:latest "$key.pub" --memory 64m >/dev/null
out=$(as sbt-oom 'tail /dev/zero; echo "rc=$?"; sleep 2' 2>&1)
expect_contains "the hog was killed, the shell went on" "rc=137" "$out"
expect_contains "the user is told why, with the limit" \
	"sshbox: your container ran out of memory (limit 64 MiB): the kernel killed a process in it" "$out"
check "the watchdog logged it" grep -q 'user "sbt-oom": container out of memory (limit 64 MiB); told 1 session' \
	"$SBX_ROOT/watchdog.log"
out=$(as sbt-oom 'tail /dev/zero' 2>&1)
expect_ne "a command killed as the session's last exits non-zero (killed by SIGKILL)" 0 $?
expect_contains "and the user still hears why" "sshbox: your container ran out of memory" "$out"
expect_eq "the next login works" ok "$(as sbt-oom 'echo ok')"

# 2. sshd restarted (stop, start) with a session live.
open_session live sbt-alice
wait_for 20 sessions_are sbt-alice 1
old=$(cat "$SBX_ROOT/sshd/sshd.pid")
kill "$old"
wait_for 10 bash -c "! kill -0 $old 2>/dev/null"
/usr/sbin/sshd -f "$SBX_ROOT/sshd/sshd_config" -E "$SBX_ROOT/sshd/sshd.log"
wait_for 10 test -s "$SBX_ROOT/sshd/sshd.pid"
expect_ne "a new sshd runs" "$old" "$(cat "$SBX_ROOT/sshd/sshd.pid")"
expect_eq "the live session kept its place" 1 "$(live_sessions sbt-alice)"
expect_eq "a new login works" ok "$(sbx_ssh sbt-alice 'echo ok')"
# shellcheck disable=SC2154 # open_session set it (by eval)
echo data >&"$sess_fd_live"
close_session live
expect_eq "the old session ran to its end" closed "$(cat "$T/live.out")"
check "and was counted out" wait_for 10 sessions_are sbt-alice 0

# 3. A long command (100 kB: about as long as the kernel lets sshd hand
# SSH_ORIGINAL_COMMAND on) with newlines, both quotes and $(...): it runs in
# the container as written, and nothing of it runs on the host.
# shellcheck disable=SC2016 # the $(...) and `...` are the payload, kept literal
{
	printf '%s\n' 'touch /tmp/ran-here-$(id -u); echo "a\"b" '"'c\"d'"' $(echo sub) `echo tick`'
	printf 'cat <<'"'"'EOF'"'"'\n'
	for i in $(seq 1 1700); do printf 'line %d $(touch /tmp/pwned) "quoted" '"'"'single'"'"' `backtick`\n' "$i"; done
	printf 'EOF\n'
} >"$T/long.sh"
size=$(wc -c <"$T/long.sh")
check "the command is over 90 kB ($size bytes)" test "$size" -gt 90000
got=$(sbx_ssh sbt-bob "$(cat "$T/long.sh")" | sha256sum)
want=$({
	echo 'a"b c"d sub tick'
	sed -n '3,$p' "$T/long.sh" | sed '$d'
} | sha256sum)
expect_eq "the output is what a shell in the container gives" "$want" "$got"
check "the \$(...) ran in the container" sbx_ssh sbt-bob 'test -e /tmp/ran-here-0'
check "and not on the host" test ! -e /tmp/ran-here-0
check "the quoted here-document ran nothing" sbx_ssh sbt-bob 'test ! -e /tmp/pwned'
for size in 200000 1048576; do
	printf 'Host box\n HostName 127.0.0.1\n Port %s\n User sbt-bob\n IdentityFile %s\n RemoteCommand touch /root/ran-%s; : %s\n' \
		"$SBX_PORT" "$SBX_KEYS/sbt-bob" "$size" "$(head -c "$size" /dev/zero | tr '\0' x)" >"$T/huge.conf"
	out=$(ssh "${sbx_ssh_opts[@]}" -F "$T/huge.conf" box 2>&1)
	expect_ne "a $size-byte command fails" 0 $?
	expect_match "with an error before the shim (kernel: 128 KiB per variable; sshd: 256 KiB packets)" \
		"Argument list too long|Broken pipe|disconnect" "$out"
	check "and nothing of it ran" sbx_ssh sbt-bob "test ! -e /root/ran-$size"
done

# 4. Record writers killed mid-write: the record is always whole.
rec=$SBX_STATE/users/sbt-bob/record
cp "$rec" "$T/record.saved"
# The writer itself goes to the background (not a shell function's
# subshell), so the kill lands in it, at a random point of its write.
for i in $(seq 1 40); do
	"$SBX_BIN/sshbox" --config "$SBX_CONF" set sbt-bob "pids=$((100 + i))" mount= >/dev/null 2>&1 &
	writer=$!
	sleep "0.00$((RANDOM % 10))"
	kill -9 "$writer" 2>/dev/null
	wait "$writer" 2>/dev/null
done
whole() { grep -q '^uid = ' "$rec" && grep -q '^image = ' "$rec" && tail -c 1 "$rec" | od -c | grep -q '\\n'; }
check "after 40 killed writers the record is whole" whole
# A writer killed between naming its file and the rename leaves
# record.tmp.PID; the next write removes those of dead writers.
others() {
	local f
	for f in "$SBX_STATE"/users/sbt-bob/* "$SBX_STATE"/users/sbt-bob/.[!.]*; do
		[ -e "$f" ] || continue
		case ${f##*/} in record | inner_key* | etc | flags | bin) ;; *) echo "${f##*/}" ;; esac
	done
}
only_tmp() { ! others | grep -vq '^record\.tmp\.[0-9]*$'; }
check "anything else there is a killed writer's temporary file" only_tmp
check "the next write succeeds" sbx_admin set sbt-bob pids=150
left=$(others)
expect_eq "and no temporary files are left in its dir" "" "$left"
expect_eq "a login reads it" ok "$(sbx_ssh sbt-bob 'echo ok')"
cp "$T/record.saved" "$rec"

# 5. The state dir full: set fails naming the cause and the file; the old
# record stays; logins go on.
dir=$SBX_STATE/users/sbt-oom
cp -a "$dir" "$T/userdir"
mount -t tmpfs -o size=64k,mode=0700 sshbox-full "$dir"
cp -a "$T/userdir/." "$dir/"
dd if=/dev/zero of="$dir/filler" bs=4k 2>/dev/null
before=$(sha256sum <"$dir/record")
out=$(sbx_admin set sbt-oom pids=77 2>&1)
expect_ne "set on a full disk fails" 0 $?
expect_match "it says why and where" "record.*No space left on device" "$out"
expect_eq "the record is unchanged" "$before" "$(sha256sum <"$dir/record")"
expect_eq "logins go on" ok "$(as sbt-oom 'echo ok')"
umount -R "$dir" # with the flag dir the login mounted in it
check "the real dir is as it was" diff -r "$T/userdir" "$dir"
sbx_admin cleanuser sbt-oom >/dev/null
sbx_api DELETE "/volumes/$SBX_INSTANCE-home-sbt-oom" >/dev/null
finish

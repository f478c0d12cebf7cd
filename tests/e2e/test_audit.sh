#!/usr/bin/env bash
# Issue 15, must-show 1: the audit log. A scripted day (shell, exec with exit
# 3, sftp upload, scp, a jump, a verb, a refused login for a bad record, an
# OOM kill, an idle stop) leaves each event once with the right fields; no user reads
# or appends to the log, from the host or from inside the container; a long
# command is kept as its first 4 KiB with the sha256 of all of it; a bad
# field from a shim is refused by name and the session goes on.
. "$(dirname "$0")/lib.sh"
LOG=$SBX_ROOT/log/audit.log
key=$SBX_KEYS/sbt-alice
as() { # USER CMD...: a login as USER with alice's key (test-made users)
	local u=$1
	shift
	ssh "${sbx_ssh_opts[@]}" -i "$key" -p "$SBX_PORT" "$u@127.0.0.1" "$@"
}
cleanup() {
	sbx_admin cleanuser sbt-aoom >/dev/null 2>&1
	# cleanuser reads the record: the good one back first.
	[ -f "$T/abad.record" ] && cp "$T/abad.record" "$SBX_STATE/users/sbt-abad/record"
	sbx_admin cleanuser sbt-abad >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
uid_alice=$(id -u sbt-alice)
# Lines of this run only: the log is the bed's, shared with other tests.
start=$(wc -l <"$LOG" 2>/dev/null || echo 0)
lines() { tail -n +"$((start + 1))" "$LOG"; }
# one EVENT JQ_FILTER: the lines of this run for EVENT that pass the filter.
one() { lines | jq -c "select(.event == \"$1\") | select($2)"; }
count() { one "$1" "$2" | grep -c . ; }
# logged EVENT JQ_FILTER: at least one such line (for wait_for).
logged() { [ "$(count "$1" "$2")" -gt 0 ]; }

# The day.
echo 'echo hello from the shell; exit 0' | sbx_ssh sbt-alice -T >/dev/null 2>&1
sbx_ssh sbt-alice 'exit 3'
expect_eq "the exec's exit status reaches the client" 3 $?
head -c 300000 /dev/urandom >"$T/up.bin"
printf 'put %s /tmp/up.bin\n' "$T/up.bin" >"$T/batch"
sftp -q "${sbx_ssh_opts[@]}" -i "$SBX_KEYS/sbt-alice" -P "$SBX_PORT" -b "$T/batch" \
	sbt-alice@127.0.0.1 >/dev/null 2>&1
scp -q -O "${sbx_ssh_opts[@]}" -i "$SBX_KEYS/sbt-alice" -P "$SBX_PORT" "$T/up.bin" \
	sbt-alice@127.0.0.1:/tmp/scp.bin
sbx_ssh sbt-alice freeport >/dev/null
# jump: a client banner, then EOF; the container's sshd answers and closes.
printf 'SSH-2.0-audit-test\r\n' | timeout 20 ssh "${sbx_ssh_opts[@]}" -T -i "$SBX_KEYS/sbt-alice" \
	-p "$SBX_PORT" sbt-alice@127.0.0.1 jump >/dev/null 2>&1
sbx_admin createuser sbt-abad sshbox-base:latest "$key.pub" >/dev/null
uid_bad=$(id -u sbt-abad)
cp "$SBX_STATE/users/sbt-abad/record" "$T/abad.record"
echo 'this is not a record' >"$SBX_STATE/users/sbt-abad/record"
as sbt-abad true 2>/dev/null
sbx_admin createuser sbt-aoom sshbox-base:latest "$key.pub" --memory 64m >/dev/null
as sbt-aoom 'tail /dev/zero; sleep 1' >/dev/null 2>&1

check "the audit log is a file" test -f "$LOG"
check "every line is one JSON object" bash -c "tail -n +$((start + 1)) '$LOG' | jq -e -s 'all(type == \"object\")' >/dev/null"
expect_match "time is RFC 3339 UTC with ms" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$' \
	"$(lines | head -1 | jq -r .time)"

shell='.user == "sbt-alice" and .kind == "shell"'
expect_eq "shell: one start" 1 "$(count session_start "$shell and .uid == $uid_alice and .client == \"127.0.0.1\" and .port > 0 and (.session | length) == 36")"
expect_eq "shell: one end, status 0, bytes counted, a duration" 1 \
	"$(count session_end "$shell and .status == 0 and .bytes_in > 0 and .bytes_out > 0 and .duration_ms >= 0")"
sum=$(printf '%s' 'exit 3' | sha256sum | cut -d' ' -f1)
expect_eq "exec: start with command and its sha256" 1 \
	"$(count session_start ".kind == \"exec\" and .command == \"exit 3\" and .command_bytes == 6 and .command_sha256 == \"$sum\"")"
expect_eq "exec: end with status 3" 1 "$(count session_end ".kind == \"exec\" and .command == \"exit 3\" and .status == 3")"
expect_eq "sftp: an upload of 300 kB in" 1 "$(count session_end '.kind == "sftp" and .bytes_in > 300000 and .status == 0')"
expect_eq "scp: kind scp, its command" 1 "$(count session_end '.kind == "scp" and (.command | startswith("scp -t")) and .bytes_in > 300000')"
expect_eq "jump: kind jump, bytes both ways" 1 "$(count session_end '.kind == "jump" and .bytes_in > 0 and .bytes_out > 0')"
expect_eq "verb: freeport, status 0" 1 "$(count verb '.verb == "freeport" and .status == 0 and .client == "127.0.0.1"')"
expect_eq "refused: bad record, with user and uid" 1 "$(count login_refused ".user == \"sbt-abad\" and .uid == $uid_bad and .reason == \"bad record\"")"
check "the OOM kill" wait_for 20 logged oom '.user == "sbt-aoom" and (.container | length) == 12'
expect_eq "container create and start by a login" 2 "$(count container '.user == "sbt-aoom" and (.action == "create" or .action == "start") and .reason == "login"')"
# The idle stop: the last session ended, the grace period passes.
check "an idle stop, with its reason" wait_for $(($(grace) + 20)) \
	logged container '.user == "sbt-aoom" and .action == "stop" and .reason == "idle"'
expect_eq "one session id ties the exec's start to its end" "2 1" \
	"$(lines | jq -r 'select(.command == "exit 3") | .session' | sort | uniq -c | awk '{print $1, NR}')"

# Nobody but root reads or appends.
expect_eq "the log is root's, 0600" "root 600" "$(stat -c '%U %a' "$LOG")"
expect_eq "its directory is root's, 0700" "root 700" "$(stat -c '%U %a' "$(dirname "$LOG")")"
as_user() { setpriv --reuid="$uid_alice" --regid="$(id -g sbt-alice)" --init-groups "$@"; }
check_not "alice cannot read it from the host" as_user cat "$LOG"
check_not "alice cannot append to it from the host" as_user sh -c "echo forged >>'$LOG'"
out=$(sbx_ssh sbt-alice "cat '$LOG' || ls '$(dirname "$LOG")'; grep -rl sbt-abad /var/log 2>/dev/null; echo end" 2>&1)
expect_match "nor from inside the container (it is not there)" "No such file.*end" "$(echo "$out" | tr '\n' ' ')"

# A long command: as long as sshd can hand one over (the kernel caps one
# environment string at 128 KiB; test_faults shows what happens beyond).
cmd=": $(head -c 90000 /dev/zero | tr '\0' x)é; exit 0"
sbx_ssh sbt-alice "$cmd"
sum=$(printf '%s' "$cmd" | sha256sum | cut -d' ' -f1)
got=$(one session_end ".command_sha256 == \"$sum\"")
expect_eq "the long command: its whole length" "$(printf '%s' "$cmd" | wc -c)" "$(jq -r .command_bytes <<<"$got")"
expect_eq "the long command: 4 KiB kept" 4096 "$(jq -r '.command | utf8bytelength' <<<"$got")"
expect_eq "the long command: marked truncated" true "$(jq -r .command_truncated <<<"$got")"
expect_eq "and the kept part is its start" "${cmd:0:4096}" "$(jq -r .command <<<"$got")"

# A shim's bad field: refused by name, the session unaffected (sent by hand
# over the watchdog socket as alice, as a tampered shim would).
req='{"v":1,"op":"verb","session":"00000000-0000-4000-8000-000000000001","verb":"freeport","audit":{"kind":"shell","client":"not-an-ip","port":1,"command":"","command_bytes":0,"command_sha256":"'$(printf '0%.0s' $(seq 64))'"}}'
reply=$(as_user /usr/bin/python3 -c '
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); b = sys.argv[2].encode()
s.sendall(struct.pack(">I", len(b)) + b)
n = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))[0]
print(json.loads(s.recv(n, socket.MSG_WAITALL))["ok"])' "$SBX_SOCKET" "$req")
expect_eq "a request with a bad audit field still runs" True "$reply"
expect_eq "the refusal names the field" 1 "$(count audit_data_refused ".user == \"sbt-alice\" and (.reason | contains(\"\\\"client\\\"\"))")"
expect_eq "and the verb is logged without the bad data" 1 "$(count verb '.session == "00000000-0000-4000-8000-000000000001" and (has("client") | not)')"

# Rotation as logrotate does it: move the file away, SIGHUP; the watchdog
# writes a fresh one (root 0600) and none of the moved one's lines are lost.
before=$(wc -l <"$LOG")
mv "$LOG" "$LOG.1"
kill -HUP "$(cat "$SBX_ROOT/run/watchdog.pid")"
check "SIGHUP reopens: a new file" wait_for 10 test -f "$LOG"
sbx_ssh sbt-alice 'exit 4'
check "new lines go to the new file" wait_for 10 grep -q '"command":"exit 4"' "$LOG"
expect_eq "the new file is root's, 0600" "root 600" "$(stat -c '%U %a' "$LOG")"
check "the moved file kept its lines" test "$(wc -l <"$LOG.1")" -ge "$before"
finish

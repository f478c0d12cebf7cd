#!/usr/bin/env bash
# Issue 15, must-show 2: session recording. A recorded pty session (driven by
# tmux) shows the notice, and Debian's asciinema replays what was typed and
# printed, with the terminal's size and its resizes; the file is root's
# alone; at the cap the recording stops with a one-line notice and the
# session goes on; an unrecorded user sees no notice and leaves no file.
. "$(dirname "$0")/lib.sh"
LOG=$SBX_ROOT/log/audit.log
key=$SBX_KEYS/sbt-alice
u=sbt-arec
s=sbxrec$$-0
n=0
wd=$(cat "$SBX_ROOT/run/watchdog.pid")
cp "$SBX_CONF" "$T/saved.conf"
cleanup() {
	for i in $(seq 0 "$n"); do tmux kill-session -t "sbxrec$$-$i" 2>/dev/null; done
	cp "$T/saved.conf" "$SBX_CONF"
	kill -HUP "$wd"
	sbx_admin cleanuser "$u" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
start=$(wc -l <"$LOG" 2>/dev/null || echo 0)
lines() { tail -n +"$((start + 1))" "$LOG"; }

sbx_admin createuser "$u" sshbox-base:latest "$key.pub" >/dev/null
out=$(sbx_admin set "$u" record=sometimes 2>&1)
expect_match "a bad record mode names the value" 'bad value "sometimes" for "record"' "$out"
sbx_admin set "$u" record=pty+input >/dev/null
expect_eq "the record keeps the mode" "record = pty+input" "$(grep '^record' "$SBX_STATE/users/$u/record")"
dir=$SBX_STATE/users/$u/recordings

screen() { tmux capture-pane -p -t "$s" 2>/dev/null; }
on_screen() { screen | grep -q -- "$1"; }
# pty_login USER: a tmux pane with a real ssh -tt session, 100x30 (a new
# tmux session each time: killing the last one ends the tmux server, and a
# new one started meanwhile can meet it exiting).
pty_login() {
	n=$((n + 1))
	s=sbxrec$$-$n
	tmux new-session -d -s "$s" -x 100 -y 30 \
		"ssh ${sbx_ssh_opts[*]} -tt -i $key -p $SBX_PORT $1@127.0.0.1; echo SESSION-ENDED-\$?; sleep 30"
	wait_for 30 on_screen 'root@.*#'
}

check "a prompt appears" pty_login "$u"
check "the user sees the recording notice" on_screen "sshbox: this session is recorded (what you type and what is shown)"
word=typed$RANDOM
tmux send-keys -t "$s" "echo \"$word-\$((6*7))\"" Enter
check "the command runs" wait_for 10 on_screen "$word-42"
tmux resize-window -t "$s" -x 120 -y 30
sleep 0.5
tmux send-keys -t "$s" 'exit 0' Enter
check "the session ends" wait_for 10 on_screen SESSION-ENDED-0
file=$(find "$dir" -name '*.cast' 2>/dev/null | head -1)
check "one recording, named by the session" test -n "$file"
session=$(basename "$file" .cast)
expect_eq "the recording is root's, 0600" "root 600" "$(stat -c '%U %a' "$file")"
expect_eq "its directory is root's, 0700" "root 700" "$(stat -c '%U %a' "$dir")"
expect_eq "header: asciicast v2, 100x30, TERM" "2 100 30 true" \
	"$(head -1 "$file" | jq -r '"\(.version) \(.width) \(.height) \(.env.TERM | length > 0)"')"
# asciinema cat reads the keyboard from /dev/tty: give it one.
cast_cat() { script -qec "asciinema cat '$1'" /dev/null; }
cast_cat "$file" >"$T/cat.out"
expect_eq "asciinema reads it" 0 $?
expect_contains "asciinema cat shows what was printed" "$word-42" "$(cat "$T/cat.out")"
typed=$(tail -n +2 "$file" | jq -r 'select(.[1] == "i") | .[2]' | tr -d '\n')
# shellcheck disable=SC2016 # the keys as typed
expect_contains "the input events hold what was typed" "echo \"$word-\$((6*7))\"" "$typed"
expect_contains "the resize is an r event" "120x30" "$(tail -n +2 "$file" | jq -r 'select(.[1] == "r") | .[2]')"
check "times only grow" bash -c "tail -n +2 '$file' | jq -s -e '[.[][0]] | . == sort' >/dev/null"
as_user() { setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --init-groups "$@"; }
check_not "the user cannot read it from the host" as_user cat "$file" 2>/dev/null
expect_eq "the audit log has its start" 1 "$(lines | jq -c "select(.event == \"recording_start\" and .session == \"$session\" and .mode == \"pty+input\")" | grep -c .)"

# The cap: the user's recordings may take what they take now plus a little;
# then the recording stops with a notice, and the session goes on.
used=$(du -cb "$dir" | tail -1 | cut -f1)
sed -i '/^record_max_bytes/d' "$SBX_CONF"
printf 'record_max_bytes = %s\n' "$((used + 6000))" >>"$SBX_CONF"
kill -HUP "$wd"
wait_for 10 bash -c "tail -n 3 '$SBX_ROOT/watchdog.log' | grep -q 'configuration reloaded'"
check "a prompt appears again" pty_login "$u"
tmux send-keys -t "$s" 'seq 1 20000 | tail -1' Enter
check "the output goes on" wait_for 10 on_screen '^20000'
# shellcheck disable=SC2016 # typed into the remote shell, which expands it
tmux send-keys -t "$s" 'head -c 20000 /dev/zero | tr "\0" x; echo; echo "after-the-cap-$((40+2))"' Enter
check "the session goes on past the cap" wait_for 20 on_screen after-the-cap-42
check "the user is told recording stopped, once" wait_for 10 bash -c \
	"[ \$(tmux capture-pane -p -S -1000 -t '$s' | grep -c 'sshbox: recording stopped: this user.s recording space is full') = 1 ]"
# shellcheck disable=SC2016 # typed into the remote shell, which expands it
tmux send-keys -t "$s" 'echo still-$((2+3))' Enter
check "and takes new commands" wait_for 10 on_screen still-5
tmux send-keys -t "$s" 'exit' Enter
wait_for 10 on_screen SESSION-ENDED
total=$(find "$dir" -name '*.cast' -printf '%s\n' | awk '{s += $1} END {print s}')
check "the user's recordings stay under the cap ($total <= $((used + 6000)))" test "$total" -le "$((used + 6000))"
expect_eq "the audit log says why it ended" 1 "$(lines | jq -c 'select(.event == "recording_end" and .reason == "cap reached")' | grep -c .)"
check "what was recorded up to the cap still replays" cast_cat "$(find "$dir" -name '*.cast' ! -name "$session.cast")" >/dev/null

# Not recorded: no notice, no file (the global default is none).
check "a prompt for alice" pty_login sbt-alice
check_not "alice sees no notice" on_screen "this session is recorded"
check_not "and has no recordings" test -e "$SBX_STATE/users/sbt-alice/recordings"
tmux send-keys -t "$s" 'exit' Enter
finish

#!/usr/bin/env bash
# Issue 4: reference counting and idle stop, daemon/nodaemon/stopnow, and
# direct ssh sessions to the published port counting as sessions.
. "$(dirname "$0")/lib.sh"
u=sbt-alice
g=$(grace)
stopped() { ! container_running "$u"; }

# 1. Two sessions; close one: keeps running; close the other: stops.
open_session one $u
open_session two $u
check "two sessions counted" wait_for 20 sessions_are $u 2
check "container running" container_running $u
close_session one
check "one session left" wait_for 10 sessions_are $u 1
sleep $((g + 3))
check "with one session left the container keeps running" container_running $u
close_session two
check "no session left" wait_for 10 sessions_are $u 0
check "the container stops within grace + stop timeout" wait_for $((g + 2 + 5)) stopped

# 2. daemon keeps it running; nodaemon reverts; stopnow stops at once.
out=$(sbx_ssh $u daemon)
expect_match "daemon says what it did" "daemon mode on" "$out"
sleep $((3 * g))
check "in daemon mode it runs on after 3x grace with no session" container_running $u
check "sshbox list shows the daemon flag" bash -c "$SBX_BIN/sshbox --config $SBX_CONF list | grep -q '^$u .* yes '"
sbx_ssh $u nodaemon >/dev/null
check "after nodaemon it stops again when idle" wait_for $((g + 2 + 5)) stopped
open_session three $u
check "a new session starts it" wait_for 20 container_running $u
start=$SECONDS
sbx_ssh $u stopnow >"$T/stopnow.out" 2>&1
check "stopnow stops it now, even with a session open" wait_for 8 stopped
expect_match "stopnow's session ends cleanly with a message" "stopping this container now" "$(cat "$T/stopnow.out")"
close_session three
check "stop came within a few seconds" test $((SECONDS - start)) -lt 15

# 3. A direct ssh session to the published port keeps the container alive.
sbx_ssh $u true
port=$(sbx_ssh $u port)
expect_match "port prints just a number" '^[0-9]+$' "$port"
nsenter --net="$(sbx_engine_netns)" ssh "${sbx_ssh_opts[@]}" -i "$SBX_KEYS/$u" -p "$port" root@127.0.0.1 'sleep 600' &
direct=$!
direct_seen() { sbx_admin list | awk -v u="$u" '$1 == u {exit !($5 == 1)}'; }
check "the direct session is counted" wait_for 20 direct_seen
sleep $((g + 5))
check "a direct session alone keeps the container running" container_running $u
kill $direct
wait $direct 2>/dev/null
check "without it the container stops" wait_for $((2 * g + 10)) stopped
finish

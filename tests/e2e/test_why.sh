#!/usr/bin/env bash
# Issue 15, part 4: "why is it up". In a scripted scenario `sshbox list`
# (last column, WHY) and `sshbox status USER` say why the container runs or
# when it stops, and the user reads the same with `ssh host status`: two
# sessions (one through the shim, one straight to the container's sshd),
# stopping in N s, kept: daemon, stopped. (busy: N% CPU: test_busy.sh.)
. "$(dirname "$0")/lib.sh"
u=sbt-bob
g=$(grace)
stopped() { ! container_running "$u"; }
why() { sbx_admin list 2>/dev/null | awk -v u="$u" '$1 == u {for (i = 10; i <= NF; i++) printf "%s%s", $i, (i < NF ? " " : ""); print ""}'; }
# shellcheck disable=SC2053 # $1 is a pattern
why_is() { [[ "$(why)" == $1 ]]; }

open_session one $u
check "list: one shim session" wait_for 20 why_is "1 session (1 shim, 0 direct)"
expect_eq "the sessions column (4) still holds the count" 1 "$(live_sessions $u)"
port=$(sbx_ssh $u port)
nsenter --net="$(sbx_engine_netns)" ssh "${sbx_ssh_opts[@]}" -i "$SBX_KEYS/$u" -p "$port" root@127.0.0.1 'sleep 600' &
direct=$!
check "list: 2 sessions (1 shim, 1 direct)" wait_for 20 why_is "2 sessions (1 shim, 1 direct)"
status=$(sbx_admin status $u)
expect_match "sshbox status USER says the same" "why: +2 sessions \(1 shim, 1 direct\)" "$status"
expect_match "and the state" "state: +running" "$status"
out=$(sbx_ssh $u status)
expect_match "ssh host status: the user reads it too" "why: 2 sessions \(1 shim, 1 direct\)" "$out"
kill $direct
wait $direct 2>/dev/null
close_session one

check "list: stopping in N s once the last session ended" wait_for 10 why_is "stopping in [0-9]* s"
left=$(why | awk '{print $3}')
check "N is within the grace period ($left <= $g)" test "$left" -le "$g"
out=$(sbx_ssh $u status)
expect_match "ssh host status: stopping in N s" "why: stopping in [0-9]+ s" "$out"
check "the idle container stops after grace" wait_for $((g + 2 + 5)) stopped
check "list: stopped" wait_for 5 why_is "stopped"
expect_match "ssh host status on a stopped container" "container: stopped.*
why: stopped" "$(sbx_ssh $u status)"

sbx_ssh $u daemon >/dev/null
check "list: kept: daemon" wait_for 10 why_is "kept: daemon"
expect_match "ssh host status: kept: daemon" "why: kept: daemon" "$(sbx_ssh $u status)"
sbx_ssh $u nodaemon >/dev/null
check "after nodaemon it stops after grace" wait_for $((g + 2 + 5)) stopped

out=$(sbx_ssh $u status extra 2>&1)
expect_eq "status takes no arguments" 1 $?
expect_match "and says so" 'takes no arguments.*"extra"' "$out"
out=$(sbx_admin status no-such-user 2>&1)
expect_eq "sshbox status of an unknown user fails" 1 $?
expect_match "naming the user" 'user "no-such-user"' "$out"
finish

#!/usr/bin/env bash
# Issue 4: kill -9 of the watchdog with a session live: the session carries
# on, the shim re-registers, nothing live is stopped; kill -9 of a shim drops
# its count and the container stops after grace.
. "$(dirname "$0")/lib.sh"
u=sbt-bob
g=$(grace)
stopped() { ! container_running "$u"; }

# A live, interactive session: lines in, answers out.
mkfifo "$T/in"
# shellcheck disable=SC2016 # the remote shell expands it
sbx_ssh $u 'while read l; do echo "got $l"; done' <"$T/in" >"$T/out" 2>&1 &
sess=$!
exec {in}>"$T/in"
echo one >&$in
got() { grep -q "^got $1$" "$T/out"; }
check "the session works" wait_for 20 got one
wd=$(cat "$SBX_ROOT/run/watchdog.pid")
kill -9 "$wd"
wd_gone() { ! kill -0 "$wd" 2>/dev/null; }
wait_for 5 wd_gone
echo two >&$in
check "it keeps working with the watchdog dead" wait_for 10 got two
sbx_start_watchdog
check "the shim re-registers with the new watchdog" wait_for 15 sessions_are $u 1
sleep $((g + 12))
check "after grace (and the re-registration window) the container still runs" container_running $u
echo three >&$in
check "the session still works" wait_for 10 got three
exec {in}>&-
wait $sess
check "ending the session lets the container stop" wait_for $((g + 2 + 5)) stopped

# kill -9 of a shim.
open_session k $u
check "the session is counted" wait_for 20 sessions_are $u 1
pkill -9 -u $u -f sshbox-shim
check "the killed shim's count drops" wait_for 10 sessions_are $u 0
check "and the container stops after grace" wait_for $((g + 2 + 5)) stopped
close_session k 2>/dev/null
finish

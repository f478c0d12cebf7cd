#!/usr/bin/env bash
# Issue 12: the flag dir. A stopnow left while no watchdog ran is honoured
# when the watchdog starts; a flood of flag changes from one container is
# rate-limited in the log and loses no other user's flag.
. "$(dirname "$0")/lib.sh"
a=sbt-alice b=sbt-bob
g=$(grace)
stopped() { ! container_running "$1"; }

# 1. A leftover stopnow.
sbx_ssh $a daemon >/dev/null
check "alice's container runs (daemon mode)" container_running $a
wd=$(cat "$SBX_ROOT/run/watchdog.pid")
kill "$wd"
wd_gone() { ! kill -0 "$wd" 2>/dev/null; }
wait_for 10 wd_gone
: >"$SBX_STATE/users/$a/flags/stopnow" # as the container would, while no watchdog runs
sbx_start_watchdog
check "the leftover stopnow is honoured at watchdog start" wait_for 20 stopped $a
check "and removed" test ! -e "$SBX_STATE/users/$a/flags/stopnow"

# 2. 10,000 flag operations in alice's container while bob turns daemon on.
sbx_ssh $a true
mark=$(wc -l <"$SBX_ROOT/watchdog.log")
start=$SECONDS
# shellcheck disable=SC2016 # the container's shell expands it
sbx_ssh $a 'i=0; while [ $i -lt 5000 ]; do : > /run/sshbox/daemon; rm /run/sshbox/daemon; i=$((i+1)); done' &
flood=$!
sleep 1
expect_contains "bob turns daemon mode on meanwhile" "daemon mode on" "$(sbx_ssh $b daemon)"
wait $flood
took=$((SECONDS - start))
echo "# 10,000 flag operations took ${took} s"
lines=$(tail -n +"$((mark + 1))" "$SBX_ROOT/watchdog.log" | grep -c "user \"$a\": .*daemon mode\|user \"$a\": .*flag")
check "at most ~100 log lines a minute from them (got $lines)" test "$lines" -le 100
sleep $((g + 3))
check "bob's daemon flag took effect: his container outlives grace" container_running $b
expect_eq "list shows it" yes "$(sbx_admin list | awk -v u=$b '$1 == u {print $6}')"
check "alice's container, no flag left, stops after grace" wait_for 15 stopped $a
sbx_ssh $b nodaemon >/dev/null
check "bob's stops after nodaemon" wait_for $((g + 10)) stopped $b
expect_eq "the watchdog is the same process" "$(cat "$SBX_ROOT/run/watchdog.pid")" "$(pgrep -f "$SBX_BIN/sshbox-watchdog" | head -1)"
finish

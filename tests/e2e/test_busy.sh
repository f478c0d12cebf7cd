#!/usr/bin/env bash
# Issue 15, part 5: busy-aware idle stop. Two containers are left with a
# shell busy loop when their last (interactive) session ends: each user is
# told in one line that the container keeps running and how to stop it;
# both survive the grace period several times over, and `sshbox list` and
# `ssh host status` say "busy: N% CPU". Alice's loop ends after 12 s: her
# container stops within grace + 10 s of that. Bob's never ends: his stops
# at idle_busy_max_hours (0.0075 h = 27 s here). (An idle container stopping
# after grace, with this rule on: test_why.sh and test_idle.sh.)
. "$(dirname "$0")/lib.sh"
a=sbt-alice
b=sbt-bob
g=$(grace)
max_s=27
log=$SBX_ROOT/watchdog.log

# set_conf KEY [VALUE]: sets (or, without VALUE, drops) a key of the bed's
# config and has the watchdog reload it.
set_conf() {
	local n
	sed -i "/^$1 *=/d" "$SBX_CONF"
	[ -z "${2:-}" ] || echo "$1 = $2" >>"$SBX_CONF"
	n=$(grep -c 'configuration reloaded' "$log")
	kill -HUP "$(cat "$SBX_ROOT/run/watchdog.pid")"
	wait_for 10 bash -c "[ \$(grep -c 'configuration reloaded' '$log') -gt $n ]"
}
set_conf idle_busy_max_hours 0.0075
set_conf idle_busy_cpu_percent 5
trap 'set_conf idle_busy_max_hours; set_conf idle_busy_cpu_percent; rm -rf "$T"' EXIT
why() { sbx_admin list 2>/dev/null | awk -v u="$1" '$1 == u {for (i = 10; i <= NF; i++) printf "%s%s", $i, (i < NF ? " " : ""); print ""}'; }
# shellcheck disable=SC2053 # $2 is a pattern
why_is() { [[ "$(why "$1")" == $2 ]]; }
stopped() { ! container_running "$1"; }

# leave_busy USER SECONDS: an interactive session that starts a busy loop
# (for SECONDS, or for ever with 0) in its own session, then logs out.
leave_busy() {
	local loop='while :; do :; done'
	[ "$2" = 0 ] || loop="end=\$((\$(date +%s) + $2)); while [ \$(date +%s) -lt \$end ]; do :; done"
	sbx_ssh "$1" -tt "setsid sh -c '$loop' </dev/null >/dev/null 2>&1 & sleep 1; exit" 2>&1 | tr -d '\r'
}
# Both start in the same second; their sessions end about 1.5 s later.
leave_busy $a 12 >"$T/a.out" &
pa=$!
leave_busy $b 0 >"$T/b.out"
wait $pa
t0=$SECONDS
expect_match "at logout alice is told her container keeps running, busy" \
	"sshbox: your container keeps running: it is busy \([0-9]+% CPU\)" "$(cat "$T/a.out")"
expect_match "and how to stop it" "ssh .* stop \(or stopnow inside it\)" "$(cat "$T/a.out")"
expect_match "bob is told too" "keeps running: it is busy" "$(cat "$T/b.out")"
expect_eq "in one line" 1 "$(grep -c sshbox: "$T/b.out")"

sleep $((g + 3))
check "alice's busy container survives its last session past grace" container_running $a
check "so does bob's" container_running $b
check "list says busy: N% CPU" why_is $a "busy: *% CPU*"
expect_match "ssh host status says it to the user" "why: busy: [0-9]+% CPU" "$(sbx_ssh $b status)"
check "the watchdog logged the keep" grep -q "user \"$a\": idle, but busy" "$log"

# Alice's loop ends 12 s after it began: her container stops within grace + 10 s.
check "alice's container stops once quiet (loop end + grace + 10 s)" \
	wait_for $((12 + g + 10 - (SECONDS - t0))) stopped $a
expect_eq "and was not stopped for the max" 0 "$(grep -c "user \"$a\": container .* stopped (busy, but" "$log")"
check "bob's, still busy, runs on" container_running $b
expect_match "list: bob busy" "busy: [0-9]+% CPU" "$(why $b)"
check "bob's busy container stops at idle_busy_max_hours" wait_for $((max_s + 8 - (SECONDS - t0))) stopped $b
check "not much before it ($((SECONDS - t0)) s >= $((max_s - 3)) s)" test $((SECONDS - t0)) -ge $((max_s - 3))
check "the watchdog says why" grep -q "user \"$b\": container .* stopped (busy, but idle_busy_max_hours reached)" "$log"
check "list: stopped" why_is $b stopped
finish

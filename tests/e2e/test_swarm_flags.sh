#!/usr/bin/env bash
# Issue 14, must-show 3's second half on a real three-node swarm: alice
# (home n3) logs in through n2 and runs `daemon` inside; with every session
# closed her container keeps running past grace; `nodaemon` stops it after
# grace; `stopnow` stops it at once, a session open through another node
# notwithstanding. Also: the home node publishes her flag dir before the
# first start, a service written with an older spec gets the binds at its
# next start, and a task that bound a stale flag dir is stopped (and saved)
# for the next login to start anew.
. "$(dirname "$0")/swarm-lib.sh"
began=$SECONDS
A=sbt-sw-flagsy
G=${SBX_SWARM_GRACE:-3}
LOG=$SBX_SWARM_DIR/sshbox/n3/watchdog.log
trap 'sw_cleanup $A' EXIT
sw_cleanup $A

check "alice is provisioned with home node n3" sw_user $A n3
published() { [ "$(sw_service "$A" | jq -r '.Spec.Labels["sshbox.flags"]')" = "n3:$SBX_SWARM_DIR/sshbox/n3/state" ]; }
check "n3 prepares her flag dir and says so in the service (before any start)" wait_for 10 published
check "the flag dir on n3 is a tmpfs of its own" \
	mountpoint -q "$SBX_SWARM_DIR/sshbox/n3/state/users/$A/flags"
lines=$(wc -l <"$LOG")
newlog() { tail -n +"$((lines + 1))" "$LOG"; }

# daemon through n2, then no session at all.
out=$(sw_ssh n2 $A 'stat -f -c %T /run/sshbox; daemon' 2>&1)
expect_match "her task has the flag dir, and daemon says what it did" "^tmpfs.*daemon mode on" "${out//$'\n'/ }"
expect_eq "the task runs on n3" n3 "$(sw_task_node $A)"
check "n3 sees the daemon flag" test -e "$SBX_SWARM_DIR/sshbox/n3/state/users/$A/flags/daemon"
kept() { newlog | grep -q "user \"$A\": idle, but in daemon mode"; }
check "idle past grace, n3 keeps it for daemon mode" wait_for $((G * 3 + 5)) kept
sleep 1 # one more polling round past the decision
check "the container still runs with no session" sw_has_task $A
expect_eq "replicas stay 1" 1 "$(sw_replicas $A)"

# nodaemon through n1: stopped after grace, not at once.
out=$(sw_ssh n1 $A nodaemon 2>&1)
expect_match "nodaemon says what it did" "daemon mode off" "$out"
t0=$SECONDS
check "after nodaemon it stops when idle (scaled to 0)" wait_for $((G * 2 + 10)) sw_no_task $A
took=$((SECONDS - t0))
check "not before the grace period (${took} s, grace ${G} s)" test "$took" -ge $((G - 1))
check "n3 says it stopped for idleness" bash -c "tail -n +$((lines + 1)) '$LOG' | grep -q 'user \"$A\": task container .* stopped (idle'"

# stopnow through n1 while a session through n2 stays open.
sw_ssh_bg n2 $A 'sleep 60'
s2=$SW_BG
check "a session through n2 is up" wait_for 20 sw_has_task $A
answers() { sw_ssh n2 "$A" true; }
check "and answers" answers
sw_ssh n2 $A 'echo kept-by-stopnow >/opt/stopnow-kept' >/dev/null 2>&1
t0=$SECONDS
sw_ssh n1 $A stopnow >"$SBX_SWARM_DIR/stopnow.out" 2>&1
check "stopnow stops it at once, with a session open elsewhere" wait_for "$G" sw_no_task $A
echo "# stopnow to scaled-to-0: $((SECONDS - t0)) s"
expect_match "stopnow's own session says so" "stopping this container now" "$(cat "$SBX_SWARM_DIR/stopnow.out")"
ended() { ! kill -0 "$s2" 2>/dev/null; }
check "the other node's session ended with it" wait_for 10 ended
wait "$s2" 2>/dev/null
check "n3 says why" bash -c "tail -n +$((lines + 1)) '$LOG' | grep -q 'user \"$A\": task container .* stopped (stopnow'"
expect_eq "replicas 0" 0 "$(sw_replicas $A)"
expect_eq "a file written outside the home before stopnow is there at the next login (saved, 3.10)" \
	kept-by-stopnow "$(sw_ssh n1 $A cat /opt/stopnow-kept 2>&1)"
expect_eq "(stopped again)" "stopped your container" "$(sw_ssh n1 $A stop 2>&1)"
check "(scaled to 0)" wait_for 15 sw_no_task $A

# A service written with an older spec (no flag binds) gets them at its
# next start.
flag_targets='^/run/sshbox$|^/usr/local/bin/(daemon|nodaemon|stopnow)$'
flag_binds() {
	sw_service $A | jq --arg f "$flag_targets" \
		'[.Spec.TaskTemplate.ContainerSpec.Mounts[] | select(.Type == "bind" and (.Target | test($f)))] | length'
}
svc=$(sw_service $A)
api n1 POST "/services/$(jq -r .ID <<<"$svc")/update?version=$(jq -r .Version.Index <<<"$svc")" \
	"$(jq -c '.Spec | .Labels["sshbox.spec"] = "4"
		| .TaskTemplate.ContainerSpec.Mounts |= map(select(.Target | test($f) | not))' \
		--arg f "$flag_targets" <<<"$svc")" >/dev/null
expect_eq "(the old spec has no flag bind)" 0 "$(flag_binds)"
out=$(sw_ssh n1 $A 'stat -f -c %T /run/sshbox; command -v daemon nodaemon stopnow | tr "\n" " "' 2>&1)
expect_eq "the next login's task has the flag dir and the three commands" \
	"tmpfs /usr/local/bin/daemon /usr/local/bin/nodaemon /usr/local/bin/stopnow " "${out//$'\n'/ }"
expect_eq "the spec says so" 4 "$(flag_binds)"
check "the daemon flag stayed off (nodaemon is kept on n3)" test ! -e "$SBX_SWARM_DIR/sshbox/n3/state/users/$A/flags/daemon"

# After a reboot of the home node its flag tmpfs is gone; a login that
# starts her task before the home watchdog runs again binds the bare
# directory. Simulated: n3's watchdog stopped, the tmpfs unmounted, the task
# killed and her service scaled to 0 by hand (what n3 would have done), then
# a login through n1 while n3's watchdog is still down.
FLAGS=$SBX_SWARM_DIR/sshbox/n3/state/users/$A/flags
check "daemon mode on again (no idle stop meanwhile)" sw_ssh n1 $A daemon
wd=$(cat "$SBX_SWARM_DIR/sshbox/n3/run/watchdog.pid")
kill "$wd"
wd_gone() { ! kill -0 "$wd" 2>/dev/null; }
check "(n3's watchdog stopped)" wait_for 10 wd_gone
umount -l "$FLAGS"
old=$(sw_task $A | jq -r .Status.ContainerStatus.ContainerID)
api n3 POST "/containers/$old/kill" >/dev/null
dead() { sw_no_task "$A"; }
check "(her task ends; swarm does not restart it)" wait_for 20 dead
svc=$(sw_service $A)
api n1 POST "/services/$(jq -r .ID <<<"$svc")/update?version=$(jq -r .Version.Index <<<"$svc")" \
	"$(jq -c '.Spec | .Mode.Replicated.Replicas = 0' <<<"$svc")" >/dev/null
sw_ssh_bg n1 $A true
early=$SW_BG
restarted() { local c; c=$(sw_task "$A" | jq -r .Status.ContainerStatus.ContainerID) && [ "$c" != "$old" ]; }
check "(a login starts her task while n3's watchdog is down)" wait_for 20 restarted
bare=$(sw_task $A | jq -r .Status.ContainerStatus.ContainerID)
check "n3's watchdog comes back" "$SBX_SRC/tests/bed/swarm-sshbox.sh" up
stale() { grep -q "user \"$A\": task container ${bare:0:12} has a stale flag dir" "$LOG"; }
check "it finds the task bound the bare directory and stops it" wait_for 15 stale
early_done() { ! kill -0 "$early" 2>/dev/null; }
check "the early login ends (it started the task again)" wait_for 60 early_done
out=$(sw_ssh n2 $A 'stat -f -c %T /run/sshbox; daemon' 2>&1)
expect_match "the next task has the flag dir again, and daemon works" "^tmpfs.*daemon mode on" "${out//$'\n'/ }"
check "n3 sees that flag" test -e "$FLAGS/daemon"

# cleanuser (the service deleted): n3 lets go of her flag dir.
api n1 DELETE "/services/$SBX_SWARM_INSTANCE-$A" >/dev/null
released() { ! mountpoint -q "$SBX_SWARM_DIR/sshbox/n3/state/users/$A/flags"; }
check "with her service gone, n3 unmounts her flag dir" wait_for 10 released

echo "took $((SECONDS - began)) s"
finish

#!/usr/bin/env bash
# Issue 14, the mailbox's withdrawal: a stop asked through n1 while the home
# node's watchdog (n3) is frozen times out with one line saying the request
# is withdrawn; once n3 runs again, the container was NOT stopped and no
# request is left in the labels.
. "$(dirname "$0")/swarm-lib.sh"
began=$SECONDS
A=sbt-sw-olga
WD=$(cat "$SBX_SWARM_DIR/sshbox/n3/run/watchdog.pid")
LOG=$SBX_SWARM_DIR/sshbox/n3/watchdog.log
trap 'kill -CONT "$WD" 2>/dev/null; sw_cleanup $A; api n3 DELETE "/images/$SBX_SWARM_INSTANCE-user:$A?force=1" >/dev/null 2>&1; rm -rf "$T"' EXIT
sw_cleanup $A

check "olga is provisioned with home n3" sw_user $A n3
out=$(sw_ssh n1 $A daemon 2>&1)
expect_contains "her container runs, in daemon mode (no idle stop)" "daemon mode on" "$out"
task=$(sw_task $A | jq -r .ID)
label() { sw_service "$A" | jq -r ".Spec.Labels[\"$1\"] // empty"; }

check "n3's watchdog (the bed's, pid $WD) is frozen" kill -STOP "$WD"
t0=$SECONDS
out=$(sw_ssh n1 $A stop 2>&1)
took=$((SECONDS - t0))
echo "# the stop gave up after $took s"
expect_contains "stop through n1 times out, naming the home node" "your container's node n3 did not answer within 30 s" "$out"
expect_contains "and says the request is withdrawn" "the request is withdrawn: nothing was done" "$out"
check "no request is left in the labels" test -z "$(label sshbox.op)"
lines=$(wc -l <"$LOG")
check "n3's watchdog runs again" kill -CONT "$WD"

# A request n3 must serve after the resume: it ran rounds since.
out=$(sw_ssh n1 $A commit 2>&1)
expect_contains "after the resume n3 serves a new request" "committed your container" "$out"
expect_eq "the container was NOT stopped (the same task)" "$task" "$(sw_task $A | jq -r .ID)"
expect_eq "replicas are still 1" 1 "$(sw_replicas $A)"
check "no request is left in the labels" test -z "$(label sshbox.op)$(label sshbox.taken)"
check_not "n3 logged no stop of hers" bash -c "tail -n +$((lines + 1)) '$LOG' | grep -q 'user \"$A\": task container .* stopped'"
echo "took $((SECONDS - began)) s"
finish

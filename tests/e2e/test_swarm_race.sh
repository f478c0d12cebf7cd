#!/usr/bin/env bash
# Issue 14, must-show 4 on a real three-node swarm: a login through n1 racing
# the idle stop that n3 (the home node) decides, 50 times: no login fails,
# and afterwards no container is left running without a session past grace.
# The home node's grace is 1 s here (SIGHUP), and each login comes 0.6 to
# 1.8 s after the previous session ended: some land before the stop, some
# on its compare-and-swaps, some after the scale to 0.
. "$(dirname "$0")/swarm-lib.sh"
began=$SECONDS
D=sbt-sw-dave
CONF3=$(sbx_swarm_conf n3)
WD3=$(cat "$SBX_SWARM_DIR/sshbox/n3/run/watchdog.pid")
restore() {
	sed -i 's/^idle_grace_seconds = .*/idle_grace_seconds = 3/' "$CONF3"
	kill -HUP "$WD3"
	sw_cleanup "$D"
	rm -rf "$T"
}
trap restore EXIT
sw_cleanup $D
check "dave is provisioned with home n3" sw_user $D n3
sed -i 's/^idle_grace_seconds = .*/idle_grace_seconds = 1/' "$CONF3"
kill -HUP "$WD3"
stops0=$(grep -c "user \"$D\": task container .* stopped (idle" "$SBX_SWARM_DIR/sshbox/n3/watchdog.log")

fails=0 cold=0
for i in $(seq 1 50); do
	sw_has_task $D || cold=$((cold + 1))
	out=$(sw_ssh n1 $D "echo round-$i" 2>&1)
	[ "$out" = "round-$i" ] || { fails=$((fails + 1)); echo "# round $i: $out"; }
	sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.6 + (r % 120) / 100 }')"
done
stops=$(($(grep -c "user \"$D\": task container .* stopped (idle" "$SBX_SWARM_DIR/sshbox/n3/watchdog.log") - stops0))
expect_eq "50 logins racing idle stops: none failed" 0 "$fails"
echo "# $stops idle stops happened between the rounds, $cold logins found no task running"
check "the race was run: some idle stops happened between logins" test "$stops" -gt 0
check "and some logins came while the container still ran" test "$cold" -lt 50
check "after the last session, the container is stopped after grace" wait_for 10 sw_no_task $D
expect_eq "replicas 0, no mark left" "0 null" "$(sw_service $D | jq -r '"\(.Spec.Mode.Replicated.Replicas) \(.Spec.Labels["sshbox.stopping"])"')"

echo "took $((SECONDS - began)) s"
finish

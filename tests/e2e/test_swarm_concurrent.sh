#!/usr/bin/env bash
# Issue 14, must-show 2 on a real three-node swarm: 20 simultaneous first
# logins of a new user, spread over the three login nodes, all succeed, and
# exactly one service, one task and one container exist.
. "$(dirname "$0")/swarm-lib.sh"
began=$SECONDS
C=sbt-sw-carol
trap 'sw_cleanup $C; rm -rf "$T"' EXIT
sw_cleanup $C
check "carol is provisioned (home: the least loaded node)" sw_user $C

pids=()
for i in $(seq 1 20); do
	sw_ssh "n$((i % 3 + 1))" $C "echo login-$i" >"$T/out.$i" 2>&1 &
	pids+=($!)
done
fails=0
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || fails=$((fails + 1))
done
expect_eq "all 20 logins through n1, n2 and n3 succeed" 0 "$fails"
good=0
for i in $(seq 1 20); do [ "$(cat "$T/out.$i")" = "login-$i" ] && good=$((good + 1)); done
expect_eq "each ran its command in the container" 20 "$good"
expect_eq "one service" 1 "$(api n1 GET "/services?filters=$(sbx_swarm_filters "{\"label\":[\"sshbox.user=$C\"]}")" | jq length)"
expect_eq "one task meant to run" 1 "$(api n1 GET "/tasks?filters=$(sbx_swarm_filters "{\"service\":[\"$SBX_SWARM_INSTANCE-$C\"],\"desired-state\":[\"running\"]}")" | jq length)"
expect_eq "one container in the whole cluster" 1 "$(sw_containers $C)"
expect_eq "on its home node" "$(sw_service $C | jq -r '.Spec.Labels["sshbox.node"]')" "$(sw_task_node $C)"

echo "took $((SECONDS - began)) s"
finish

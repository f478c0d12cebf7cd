#!/usr/bin/env bash
# Issue 14: an admin manages a swarm user from any manager node, not only the
# one createuser ran on. kim is created through n1 with home n3; through n2:
# set (the limit applies at the next start), node= refused with the way to
# move, move refused while the container runs and done while it is stopped
# (the next login lands on the new home node; no data moved, as it says),
# cleanuser --purge refused off the home node, naming it; cleanuser works.
. "$(dirname "$0")/swarm-lib.sh"
began=$SECONDS
K=sbt-sw-kim
trap 'sw_cleanup $K; rm -rf "$T"' EXIT
sw_cleanup $K
adm() { "$SW_ADMIN" --config "$(sbx_swarm_conf "$1")" "${@:2}"; }
check "kim is provisioned through n1 with home n3" sw_user $K n3
out=$(adm n1 createuser sbt-sw-nobody "$SBX_SWARM_IMAGE:latest" "$SW_KEYS/$K.pub" --node n9 2>&1)
expect_ne "createuser --node of a node that does not exist fails" 0 $?
expect_contains "naming the nodes there are" "no swarm node has the label sshbox.node=n9 (nodes: " "$out"
check_not "and leaves no account behind" id sbt-sw-nobody

# set through n2 (the record is the swarm's, not n1's file).
out=$(adm n2 set $K memory=300m pids=321 2>&1)
expect_contains "set through n2" "applies at the container's next start" "$out"
limits() { # the task container's, as its engine (n3) has them
	sw_ssh n1 $K true >/dev/null 2>&1
	api n3 GET "/containers/$(sw_task $K | jq -r .Status.ContainerStatus.ContainerID)/json" |
		jq -r '"\(.HostConfig.Memory) \(.HostConfig.PidsLimit)"'
}
expect_eq "the next start has the new limits" "314572800 321" "$(limits)"
adm n1 set $K pids=322 >/dev/null
expect_eq "set through n1 (createuser's node) writes the swarm's record" "pids = 322" \
	"$(sw_service $K | jq -r '.Spec.Labels["sshbox.rec"]' | grep '^pids')"
expect_eq "and keeps n1's local copy the same" "pids = 322" \
	"$(grep '^pids' "$SBX_SWARM_DIR/sshbox/n1/state/users/$K/record")"
out=$(adm n2 set $K node=n1 2>&1)
expect_ne "set node= is refused" 0 $?
expect_contains "with the way to move a user" "sshbox move USER NODE" "$out"

# move: only while stopped.
sw_ssh n2 $K 'echo on-n3 >/root/where' >/dev/null 2>&1
out=$(adm n2 move $K n1 2>&1)
expect_ne "move while the container runs is refused" 0 $?
expect_contains "naming its node" "is running on n3" "$out"
expect_eq "the user stops it" "stopped your container" "$(sw_ssh n2 $K stop 2>&1)"
check "scaled to 0" wait_for 15 sw_no_task $K
out=$(adm n2 move $K n1 2>&1)
expect_contains "move while stopped says what stays behind" "moved $K from node n3 to node n1. No data moved" "$out"
expect_contains "and the volume's name" "$SBX_SWARM_INSTANCE-home-$K" "$out"
expect_eq "the next login lands on n1, with an empty home as told" "missing" \
	"$(sw_ssh n2 $K 'cat /root/where 2>/dev/null || echo missing' 2>&1)"
expect_eq "its task runs on n1" n1 "$(sw_task_node $K)"
check "n3 keeps the old home volume" quiet api n3 GET "/volumes/$SBX_SWARM_INSTANCE-home-$K"
out=$(adm n2 move $K n1 2>&1)
expect_contains "moving to the same node says so" "is n1 already" "$out"

# cleanuser from a node that is neither createuser's nor the home node.
out=$(adm n3 cleanuser $K --purge 2>&1)
expect_ne "cleanuser --purge off the home node is refused" 0 $?
expect_contains "naming the home node" "are on node n1" "$out"
check "nothing was removed" quiet sw_service $K
out=$(adm n3 cleanuser $K 2>&1)
expect_contains "cleanuser through n3 works" "removed $K" "$out"
check_not "the service is gone" quiet sw_service $K
check_not "and the account" id $K

echo "took $((SECONDS - began)) s"
finish

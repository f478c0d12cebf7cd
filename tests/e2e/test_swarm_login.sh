#!/usr/bin/env bash
# Issue 14, must-show 1 and 3 on a real three-node swarm: alice, provisioned
# on n1 with home n3, logs in through n2's sshd and lands in her container on
# n3; a file she writes is there through n1; sessions through two login nodes
# keep the container, closing both stops it after grace (service at 0).
. "$(dirname "$0")/swarm-lib.sh"
began=$SECONDS
A=sbt-sw-alice
trap 'sw_cleanup $A; rm -rf "$T"' EXIT
sw_cleanup $A

check "alice is provisioned on n1 with home node n3" sw_user $A n3
svc=$(sw_service $A)
expect_eq "her service starts at 0 replicas" 0 "$(jq -r .Spec.Mode.Replicated.Replicas <<<"$svc")"
expect_eq "her home node is n3" n3 "$(jq -r '.Spec.Labels["sshbox.node"]' <<<"$svc")"
expect_eq "no port is published" "[]" "$(jq -c '.Endpoint.Ports // []' <<<"$svc")"

# 1. In through n2, out on n3.
out=$(sw_ssh n2 $A 'hostname; echo written-through-n2 >/root/proof; id -un' 2>&1)
expect_eq "a login through n2 lands as root in alice's container" "$A root" "${out//$'\n'/ }"
expect_eq "her task runs on n3 (API)" n3 "$(sw_task_node $A)"
expect_eq "one container of hers in the cluster" 1 "$(sw_containers $A)"
expect_eq "the file is there through n1" written-through-n2 "$(sw_ssh n1 $A cat /root/proof 2>&1)"
# shellcheck disable=SC2016 # expands in the container
exe=$(sw_ssh n2 $A 'readlink /proc/$PPID/exe' 2>&1)
check "her sshd is sshbox's bundle, not the image's own ($exe)" test "${exe#/.sshbox/sshd/}" != "$exe"
expect_eq "the bundle is bound from her home node's (n3's) state dir" \
	"$SBX_SWARM_DIR/sshbox/n3/state/bundles/current" \
	"$(sw_service $A | jq -r '.Spec.TaskTemplate.ContainerSpec.Mounts[] | select(.Target == "/.sshbox/sshd") | .Source')"
check "its privilege-separation user was added to her /etc/passwd" sw_ssh n1 $A 'grep -q "^sshd:" /etc/passwd'
cid=$(sw_task $A | jq -r .Status.ContainerStatus.ContainerID)
expect_eq "the home node fenced her task container" "$cid" "$(sw_service $A | jq -r '.Spec.Labels["sshbox.fenced"]')"

# 3. Two sessions through two login nodes; grace is 3 s on this bed.
sw_ssh_bg n1 $A 'sleep 30'
s1=$SW_BG
sw_ssh_bg n2 $A 'sleep 30'
s2=$SW_BG
established() { # USER: TCP sessions to the task's sshd, as the home node counts them
	local pid
	pid=$(api n3 GET "/containers/$(sw_task "$1" | jq -r .Status.ContainerStatus.ContainerID)/json" | jq -r .State.Pid)
	nsenter --net="/proc/$pid/ns/net" ss -Htn state established '( sport = :22 )' | wc -l
}
two_sessions() { [ "$(established "$A")" -ge 2 ]; }
check "both sessions are up" wait_for 20 two_sessions
kill $s1
wait $s1 2>/dev/null
sleep 5 # past the 3 s grace: proves the other session keeps it
check "closing one session keeps the container (other node's session open)" sw_has_task $A
expect_eq "replicas stay 1" 1 "$(sw_replicas $A)"
kill $s2
wait $s2 2>/dev/null
check "closing both stops it after grace (scaled to 0)" wait_for 15 sw_no_task $A
expect_eq "replicas 0" 0 "$(sw_replicas $A)"
check "n3's watchdog says why" grep -q "user \"$A\": task container .* stopped (idle" "$SBX_SWARM_DIR/sshbox/n3/watchdog.log"
expect_eq "the next login (through n1) works and the file is kept" written-through-n2 "$(sw_ssh n1 $A cat /root/proof 2>&1)"

echo "took $((SECONDS - began)) s"
finish

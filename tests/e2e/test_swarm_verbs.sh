#!/usr/bin/env bash
# Issue 14, must-show 5 on a real three-node swarm: commit, stop, remove and
# hostkey from n1, a node that is not the home node (n3); port says cluster
# mode publishes none; after remove, the next login starts from the
# committed image on the home node.
. "$(dirname "$0")/swarm-lib.sh"
began=$SECONDS
E=sbt-sw-erin
trap 'sw_cleanup $E; sw_images_gone user $E; rm -rf "$T"' EXIT
sw_cleanup $E
check "erin is provisioned with home n3" sw_user $E n3

pin=$(sw_service $E | jq -r '.Spec.Labels["sshbox.hostkey"]' | cut -d' ' -f1-2)
expect_eq "hostkey through n1 gives the pinned key" "[127.0.0.1]:* $pin" "$(sw_ssh n1 $E hostkey 2>&1)"
out=$(sw_ssh n1 $E port 2>&1)
expect_contains "port through n1 says no port is published" "publishes no port" "$out"
out=$(sw_ssh n1 $E commit 2>&1)
expect_contains "commit with no running container is refused plainly" "not running" "$out"

sw_ssh n2 $E 'echo outside-the-home >/etc/sshbox-marker' >/dev/null 2>&1
check "a login wrote a file outside the home" sw_has_task $E
sw_ssh_bg n2 $E 'sleep 20'
session=$SW_BG
holds() { [ "$(sw_ssh n1 "$E" stop 2>&1)" != "stopped your container" ]; }
check "wait for the held session to count" wait_for 10 holds
out=$(sw_ssh n1 $E stop 2>&1)
expect_contains "stop through n1 is refused while a session lives (counted on n3)" "session(s) of yours are live" "$out"
out=$(sw_ssh n1 $E commit 2>&1)
expect_contains "commit through n1 runs on n3" "committed your container as $SBX_SWARM_INSTANCE-user:$E" "$out"
check "the committed image is on n3" quiet api n3 GET "/images/$SBX_SWARM_INSTANCE-user:$E/json"
check_not "and on no other node" quiet api n1 GET "/images/$SBX_SWARM_INSTANCE-user:$E/json"
out=$(sw_ssh n1 $E remove --force 2>&1)
expect_contains "remove --force through n1" "removed your container" "$out"
check "the task is gone" wait_for 15 sw_no_task $E
kill $session 2>/dev/null
wait $session 2>/dev/null

expect_eq "after remove, the next login starts from the committed image on n3" outside-the-home \
	"$(sw_ssh n1 $E cat /etc/sshbox-marker 2>&1)"
expect_eq "on n3" n3 "$(sw_task_node $E)"
expect_contains "the service's image is the committed one" "$SBX_SWARM_INSTANCE-user:$E" \
	"$(sw_service $E | jq -r .Spec.TaskTemplate.ContainerSpec.Image)"
out=$(sw_ssh n1 $E stop 2>&1)
expect_eq "stop through n1 with no other session" "stopped your container" "$out"
check "scaled to 0" wait_for 15 sw_no_task $E
expect_eq "stop again" "your container is already stopped" "$(sw_ssh n2 $E stop 2>&1)"

echo "took $((SECONDS - began)) s"
finish

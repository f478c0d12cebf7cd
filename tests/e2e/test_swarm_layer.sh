#!/usr/bin/env bash
# Issue 14, design-cluster.md 3.10 on a real three-node swarm: what a user
# changes outside /root survives a stop although every start is a new task
# container. lena (home n3) writes /opt/kept through n2; after the idle stop
# (service at 0) n3 saves the exited task container as her layer image and
# removes it; the next login, through n1, finds the file. stop --force and
# stop from other nodes save too. A login racing a slow save waits for it and
# never lands on the older image. A session that changed nothing is not
# saved; remove forgets the layer.
. "$(dirname "$0")/swarm-lib.sh"
began=$SECONDS
L=sbt-sw-lena
LAYER=$SBX_SWARM_INSTANCE-layer:$L
trap 'sw_cleanup $L; sw_images_gone layer $L; rm -rf "$T"' EXIT
sw_cleanup $L
sw_images_gone layer $L
label() { sw_service $L | jq -r --arg k "$1" '.Spec.Labels[$k] // empty'; } # KEY
saved() { [ -z "$(label sshbox.saving)" ] && [ -n "$(label sshbox.layer)" ]; }
marked() { [ -n "$(label sshbox.saving)" ]; }
unmarked() { [ -z "$(label sshbox.saving)" ]; }
stopped() { [ "$(sw_replicas "$L")" = 0 ]; }
n3log=$SBX_SWARM_DIR/sshbox/n3/watchdog.log
n2log=$SBX_SWARM_DIR/sshbox/n2/watchdog.log

check "lena is provisioned with home n3" sw_user $L n3

# 1. A change outside the home, through a node that is not the home node.
out=$(sw_ssh n2 $L 'echo kept-across-stop >/opt/kept && cat /opt/kept' 2>&1)
expect_eq "a login through n2 writes /opt/kept" kept-across-stop "$out"
c1=$(sw_service $L | jq -r '.Spec.Labels["sshbox.fenced"]')
check "the idle stop scales her service to 0" wait_for 20 stopped
check "n3 saves the exited task container and clears the mark" wait_for 30 saved
check "the saved layer is an image on n3" quiet api n3 GET "/images/$LAYER/json"
check_not "and on no other node" quiet api n1 GET "/images/$LAYER/json"
expect_eq "the service starts from it next" "$LAYER" \
	"$(sw_service $L | jq -r .Spec.TaskTemplate.ContainerSpec.Image)"
expect_eq "the label names it" "$(api n3 GET "/images/$LAYER/json" | jq -r .Id)" \
	"$(label sshbox.layer)"
gone() { ! quiet api n3 GET "/containers/$c1/json"; }
check "n3 removed the task container it saved" wait_for 15 gone
check "n3's watchdog says so" grep -q "user \"$L\": task container ${c1:0:12} saved as" "$n3log"

# 2. The next login, through another node, finds it (a new task container).
expect_eq "the next login (through n1) finds /opt/kept" kept-across-stop \
	"$(sw_ssh n1 $L cat /opt/kept 2>&1)"
c2=$(sw_service $L | jq -r '.Spec.Labels["sshbox.fenced"]')
expect_ne "in a new task container" "$c1" "$c2"

# 2b. stop --force, written on n2 (not the home node): n3 finds the mark on
# its own and saves all the same.
sw_ssh n1 $L 'echo forced >/opt/forced' >/dev/null 2>&1
expect_eq "stop --force through n2" "stopped your container" "$(sw_ssh n2 $L stop --force 2>&1)"
check "n3 saves the container a stop --force marked" wait_for 20 saved
expect_eq "the next login finds what that session wrote" forced \
	"$(sw_ssh n1 $L cat /opt/forced 2>&1)"

# 3. A login racing the save: a slow save (100 MiB to commit), and a login
# through n2 the moment the stop's mark is written.
before=$(grep -c "waiting for the home node to save" "$n2log")
sw_ssh n1 $L 'head -c 100M /dev/urandom >/opt/big && echo newer >/opt/kept' >/dev/null 2>&1
check "the idle stop marks the service for its save" wait_for 20 marked
out=$(sw_ssh n2 $L 'cat /opt/kept; stat -c %s /opt/big' 2>&1)
expect_eq "a login racing the save lands on the saved layer, never the older image" \
	"newer 104857600" "${out//$'\n'/ }"
after=$(grep -c "waiting for the home node to save" "$n2log")
check "that login waited for the save (n2's log)" test "$after" -gt "$before"

# 4. A session that changed nothing outside the home: no commit.
c3=$(sw_service $L | jq -r '.Spec.Labels["sshbox.fenced"]')
layer=$(label sshbox.layer)
nothing() { grep -q "user \"$L\": task container ${1:0:12} had nothing to save" "$n3log"; }
check "the racing session's stop is saved too" wait_for 20 nothing "$c3"
expect_eq "it held nothing to save: the layer is the same image" "$layer" "$(label sshbox.layer)"

# 5. remove forgets the layer: the next start is from the record's image,
# and a fresh container of it has nothing to save (what sshd writes at a
# start does not count).
expect_contains "remove through n1" "removed your container" "$(sw_ssh n1 $L remove 2>&1)"
expect_eq "no layer any more" "" "$(label sshbox.layer)"
out=$(sw_ssh n1 $L 'cat /opt/kept 2>&1 || echo none' 2>&1)
expect_contains "after remove, the next login starts from her image again" none "$out"
expect_eq "the service's image is the record's" "$SBX_SWARM_IMAGE:latest" \
	"$(sw_service $L | jq -r .Spec.TaskTemplate.ContainerSpec.Image)"
c4=$(sw_service $L | jq -r '.Spec.Labels["sshbox.fenced"]')
expect_eq "stop through n2 (the home node's mailbox)" "stopped your container" \
	"$(sw_ssh n2 $L stop 2>&1)"
check "a fresh container of her image has nothing to save at its stop" wait_for 20 nothing "$c4"
expect_eq "and no layer is made" "" "$(label sshbox.layer)"

echo "took $((SECONDS - began)) s"
finish

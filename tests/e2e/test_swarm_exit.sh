#!/usr/bin/env bash
# Issue 14, design-cluster.md 3.10 on a real three-node swarm: an exit that is
# not a stop loses nothing. ivy (home n3) writes /opt/mark in a session
# through n2; her task container is killed on n3's engine (docker kill, not a
# stop). Swarm does not restart it (RestartPolicy none); n3 turns the exit
# into a stop and saves the layer, and her next login, through n1 at once,
# finds /opt/mark. The same when n3's dockerd is killed and started again. A
# save that fails is retried, then the container is kept and `sshbox list`
# says so.
. "$(dirname "$0")/swarm-lib.sh"
began=$SECONDS
SWARM=$SBX_SRC/tests/bed/swarm.sh
I=sbt-sw-ivy
LAYER=$SBX_SWARM_INSTANCE-layer:$I
images_gone() { api n3 DELETE "/images/$LAYER?force=1" >/dev/null 2>&1; }
restore() { [ -n "${moved:-}" ] && [ -d "$moved.off" ] && mv "$moved.off" "$moved"; }
trap 'restore; "$SWARM" start n3 >/dev/null 2>&1; sw_cleanup $I; images_gone; rm -rf "$T"' EXIT
sw_cleanup $I
images_gone
label() { sw_service $I | jq -r --arg k "$1" '.Spec.Labels[$k] // empty'; } # KEY
n3log=$SBX_SWARM_DIR/sshbox/n3/watchdog.log
fenced() { label sshbox.fenced; }
# has FILE: the running task container (fenced) holds FILE.
has() { local c; c=$(fenced) && [ -n "$c" ] && quiet api n3 GET "/containers/$c/archive?path=$1"; }
saved_layer() { [ -z "$(label sshbox.saving)" ] && [ -n "$(label sshbox.layer)" ]; }

check "ivy is provisioned with home n3" sw_user $I n3
expect_eq "her service is never restarted by swarm" none \
	"$(sw_service $I | jq -r .Spec.TaskTemplate.RestartPolicy.Condition)"

# 1. docker kill on the home node's engine, with a session open through n2.
sw_ssh_bg n2 $I 'echo marked >/opt/mark && sleep 120'
bg=$SW_BG
check "a session through n2 writes /opt/mark" wait_for 30 has /opt/mark
c1=$(fenced)
check "her task container is killed on n3 (not a stop)" quiet api n3 POST "/containers/$c1/kill"
wait "$bg" 2>/dev/null
out=$(sw_ssh n1 $I 'cat /opt/mark' 2>&1)
expect_eq "her next login, through n1 at once, finds /opt/mark" marked "$out"
expect_ne "in a new task container" "$c1" "$(fenced)"
check "n3 turned the exit into a stop" grep -q "user \"$I\": task container ${c1:0:12} ended on its own" "$n3log"
check "and saved it" grep -q "user \"$I\": task container ${c1:0:12} saved as" "$n3log"
gone() { ! quiet api n3 GET "/containers/$1/json"; }
check "then removed the killed container" wait_for 15 gone "$c1"
stopped() { [ "$(sw_replicas "$I")" = 0 ] && saved_layer; }
check "her container stops after grace as usual, and that stop is saved" wait_for 30 stopped

# 2. n3's dockerd killed and started again: every container of n3 ends.
sw_ssh_bg n2 $I 'echo crash >/opt/crash && sleep 120'
bg=$SW_BG
check "a session through n2 writes /opt/crash" wait_for 30 has /opt/crash
c2=$(fenced)
check "n3's dockerd is killed" "$SWARM" kill n3
kill "$bg" 2>/dev/null # its container outlives dockerd until the next one starts
check "n3's dockerd starts again" "$SWARM" start n3
back() { [ "$(sw_ssh n1 "$I" 'cat /opt/crash' 2>/dev/null)" = crash ]; }
check "her next login finds /opt/crash" wait_for 60 back
check "n3 saved the container its dockerd's restart ended" \
	grep -q "user \"$I\": task container ${c2:0:12} saved as" "$n3log"
check "her container stops after grace and is saved" wait_for 30 stopped

# 3. A save that fails (its layer's directory taken away on n3) is tried
# again, then the container is kept and named.
sw_ssh_bg n2 $I 'echo lost >/opt/lost && sleep 120'
bg=$SW_BG
check "a session through n2 writes /opt/lost" wait_for 30 has /opt/lost
c3=$(fenced)
moved=$(api n3 GET "/containers/$c3/json" | jq -r .GraphDriver.Data.UpperDir)
check "its layer's directory is taken away" mv "$moved" "$moved.off"
check "the container is killed on n3" quiet api n3 POST "/containers/$c3/kill"
wait "$bg" 2>/dev/null
retried() { grep -q "user \"$I\": cannot save task container ${c3:0:12}: .*retrying in" "$n3log"; }
check "n3 tries the save again" wait_for 20 retried
kept() { [ "$(label sshbox.unsaved)" = "${c3:0:12}" ]; }
check "after its last try the service names the kept container" wait_for 30 kept
check "n3's log says it is kept" grep -q "user \"$I\": cannot save task container ${c3:0:12} after 3 attempts: .* kept on this node" "$n3log"
restore
sleep 2 # two rounds of n3's scan
check "the container is kept on n3" quiet api n3 GET "/containers/$c3/json"
expect_contains "sshbox list says so" "save failed, kept on n3: container ${c3:0:12}" \
	"$(sw_list_row n1 $I)"
expect_eq "her next login works (from the older image)" ok "$(sw_ssh n1 $I 'echo ok' 2>&1)"

echo "took $((SECONDS - began)) s"
finish

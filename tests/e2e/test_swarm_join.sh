#!/usr/bin/env bash
# Issue 14, security: a node that joins the swarm later is added to the
# fences already in place (docs/design-cluster.md 3.3). jo's task is fenced
# on n2 while the swarm has three nodes; then n4 joins (a worker, running no
# sshbox). Within seconds n2's watchdog applies jo's fence again with n4's
# address, and from jo's container n4's swarm port is refused, though it
# answers from outside. When n4 leaves, the fences are renewed once more.
. "$(dirname "$0")/swarm-lib.sh"
began=$SECONDS
J=sbt-sw-jo
n4=$(sbx_swarm_addr n4)
holder=
trap '[ -n "$holder" ] && kill "$holder" 2>/dev/null; "$SBX_SRC/tests/bed/swarm.sh" leave; sw_cleanup $J; rm -rf "$T"' EXIT
"$SBX_SRC/tests/bed/swarm.sh" leave
sw_cleanup $J
check "jo is provisioned with home n2" quiet sw_user $J n2
gcc -static -O2 -o "$T/netprobe" "$(dirname "$0")/tools/netprobe.c" || { not_ok "netprobe builds"; finish; }
sw_ssh_bg n1 $J 'sleep 90'
holder=$SW_BG
check "jo's netprobe is in place" quiet wait_for 20 sw_ssh n1 $J \
	'cat > /tmp/netprobe && chmod 755 /tmp/netprobe' <"$T/netprobe"
pid=$(api n2 GET "/containers/$(sw_task $J | jq -r .Status.ContainerStatus.ContainerID)/json" | jq -r .State.Pid)
fenced_n4() { nsenter --net="/proc/$pid/ns/net" iptables -S OUTPUT | grep -q -- "-d $n4/32 -p tcp"; }
check_not "jo's fence does not name n4 yet (no such node)" fenced_n4

check "n4 joins the swarm" "$SBX_SRC/tests/bed/swarm.sh" join
ready() { [ "$(api n1 GET /nodes | jq --arg a "$n4" '[.[] | select(.Status.Addr == $a and .Status.State == "ready")] | length')" = 1 ]; }
check "and is ready" wait_for 20 ready
check "n2 renews jo's fence with n4's address" wait_for 15 fenced_n4
check "and says so" grep -q "user \"$J\": task container .* fenced again" \
	"$SBX_SWARM_DIR/sshbox/n2/watchdog.log"
expect_eq "n4's swarm port 7946 answers from outside" open \
	"$(nsenter --net=/run/netns/sbxsw-hub "$T/netprobe" connect "$n4" 7946)"
expect_ne "jo's container cannot connect to it" open \
	"$(sw_ssh n1 $J "/tmp/netprobe connect $n4 7946")"
check "jo's session went on meanwhile" kill -0 "$holder"

renewals() { grep -c "user \"$J\": task container .* fenced again" "$SBX_SWARM_DIR/sshbox/n2/watchdog.log"; }
before=$(renewals)
check "n4 leaves" "$SBX_SRC/tests/bed/swarm.sh" leave
more() { [ "$(renewals)" -gt "$before" ]; }
check "n2 renews the fence again for the smaller swarm" wait_for 15 more
echo "took $((SECONDS - began)) s"
finish

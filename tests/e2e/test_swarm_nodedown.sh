#!/usr/bin/env bash
# Issue 14, must-show 6 on a real three-node swarm: n3's dockerd killed (a
# crash). A login of alice (home n3) through n1 gets one line naming n3; bob's
# session through n1 to his container on n2 goes on streaming; once n3's
# dockerd is back, alice's logins work again.
. "$(dirname "$0")/swarm-lib.sh"
began=$SECONDS
SWARM=$SBX_SRC/tests/bed/swarm.sh
a=sbt-sw-fay b=sbt-sw-gus
trap '"$SWARM" start n3 >/dev/null 2>&1; kill $stream 2>/dev/null; sw_cleanup $a $b; rm -rf "$T"' EXIT
sw_cleanup $a $b
check "fay (home n3) and gus (home n2) are provisioned" quiet eval "sw_user $a n3 && sw_user $b n2"
expect_eq "fay logs in through n1 before the crash" ok "$(sw_ssh n1 $a 'echo ok' 2>&1)"

# gus streams through n1 for the whole test.
nsenter --net=/run/netns/sbxsw-hub ssh "${sbx_ssh_opts[@]}" -i "$SW_KEYS/$b" "$b@$(sbx_swarm_addr n1)" \
	'while :; do echo tick; sleep 0.2; done' >"$T/stream" 2>&1 </dev/null &
stream=$!
grows() { local n; [ -s "$T/stream" ] || return 1; n=$(wc -l <"$T/stream"); sleep 1; [ "$(wc -l <"$T/stream")" -gt "$n" ]; }
check "gus's session streams" wait_for 20 grows

check "n3's dockerd is killed" "$SWARM" kill n3
n3_down() { api n1 GET /nodes | jq -e '.[] | select(.Spec.Labels["sshbox.node"] == "n3") | .Status.State == "down"' >/dev/null; }
check "the managers see n3 down" wait_for 30 n3_down
# Her container is stopped once the managers give up on n3 (the next one is
# pending "no suitable node").
gone() { sw_no_task "$a"; }
check "fay's task is no longer running" wait_for 30 gone
out=$(sw_ssh n1 $a 'echo ok' 2>&1)
rc=$?
expect_ne "fay's login through n1 fails" 0 "$rc"
expect_eq "with one line" 1 "$(printf '%s\n' "$out" | grep -c .)"
expect_contains "naming the node" "node n3 is down" "$out"
check "gus's session through n1 goes on streaming" grows

check "n3's dockerd starts again" "$SWARM" start n3
back() { [ "$(sw_ssh n1 "$a" 'echo ok' 2>/dev/null)" = ok ]; }
if wait_for 60 back; then ok "then fay's logins work again"; else
	not_ok "then fay's logins work again"
	api n1 GET "/tasks?filters=$(sbx_swarm_filters "{\"service\":[\"$SBX_SWARM_INSTANCE-$a\"]}")" |
		jq -c '.[] | ["# task", .ID, .DesiredState, .Status.State, .Status.Err, .Status.Timestamp]'
fi
expect_eq "on n3" n3 "$(sw_task_node $a)"
check "gus's session is still streaming" grows

echo "took $((SECONDS - began)) s"
finish

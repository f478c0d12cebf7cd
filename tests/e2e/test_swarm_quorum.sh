#!/usr/bin/env bash
# Issue 14, failures of the swarm itself (docs/design-cluster.md 3.9), on a
# real three-node swarm of three managers: L is the raft leader, F1 and F2
# the others (so that no election muddles part 1).
# - F1's own dockerd killed: a login through F1 gets one line naming F1's
#   engine (not the home-node line); F2 serves the same user; `sshbox list`
#   on F2 shows the user homed on F1 as "home node down".
# - F2's killed too (1 of 3 managers left, no quorum): through L, a login of
#   a stopped user and a verb get the quorum line within their deadline; a
#   login to the container that still runs (on L, last reached through L)
#   works, as the issue asks.
# - both back: logins work again through L and F1.
. "$(dirname "$0")/swarm-lib.sh"
began=$SECONDS
SWARM=$SBX_SRC/tests/bed/swarm.sh
a=sbt-sw-qia b=sbt-sw-qub
role() { api n1 GET /nodes | jq -r --argjson l "$1" '.[] | select((.ManagerStatus.Leader // false) == $l) | .Spec.Labels["sshbox.node"]'; }
L=$(role true)
read -r F1 F2 <<<"$(role false | sort | tr '\n' ' ')"
echo "# leader $L, the others $F1 $F2"
restore() { "$SWARM" start "$F1" >/dev/null 2>&1; "$SWARM" start "$F2" >/dev/null 2>&1; }
trap 'restore; sw_cleanup $a $b; rm -rf "$T"' EXIT
sw_cleanup $a $b
check "qia (home $L) and qub (home $F1) are provisioned" quiet eval "sw_user $a $L && sw_user $b $F1"
# Through F1 and L once: each node's watchdog learns its own name and
# where qia's task is.
expect_eq "qia logs in through $F1 before anything fails" ok "$(sw_ssh "$F1" $a 'echo ok' 2>&1)"
expect_eq "and through $L" ok "$(sw_ssh "$L" $a 'echo ok' 2>&1)"

# 1. The login node's own engine.
check "$F1's dockerd is killed" "$SWARM" kill "$F1"
out=$(sw_ssh "$F1" $a 'echo ok' 2>&1)
rc=$?
expect_ne "qia's login through $F1 fails" 0 "$rc"
expect_eq "with one line" 1 "$(printf '%s\n' "$out" | grep -c .)"
expect_contains "naming $F1's own engine" "container engine of this node ($F1) is not available" "$out"
if [[ $out == *"node $F1 is down"* ]]; then not_ok "not the home-node line: $out"; else ok "not the home-node line"; fi
expect_eq "$F2 serves qia meanwhile" ok "$(sw_ssh "$F2" $a 'echo ok' 2>&1)"
f1_down() { [[ $(sw_list_row "$F2" "$b") == *"home node down ($F1 is down)"* ]]; }
check "sshbox list on $F2 shows qub's home node down" wait_for 20 f1_down

# 2. No quorum: L is the only manager left.
check "$F2's dockerd is killed too" "$SWARM" kill "$F2"
t0=$SECONDS
# The leader steps down once it misses its followers; from then on its /info
# hangs (dockerd waits 20 s for a leader), later it reports none.
leaderless() { ! SBX_API_TIMEOUT=2 api "$L" GET /info 2>/dev/null | jq -e '.Swarm.Error == ""' >/dev/null; }
if wait_for 60 leaderless; then ok "$L has no leader after $((SECONDS - t0)) s"; else not_ok "$L has no leader"; fi
s=$SECONDS
out=$(sw_ssh "$L" $b 'echo ok' 2>&1)
rc=$? took=$((SECONDS - s))
expect_ne "qub's login through $L fails (his container is stopped)" 0 "$rc"
expect_eq "with one line" 1 "$(printf '%s\n' "$out" | grep -c .)"
expect_contains "saying why, with the managers counted" "the cluster has no manager quorum (1 of its 3 managers reachable" "$out"
expect_contains "and what cannot happen" "cannot be started or stopped now" "$out"
check "within 10 s (took $took s)" test "$took" -le 10
out=$(sw_ssh "$L" $a stop 2>&1)
expect_contains "qia's stop through $L gets the quorum line" "the cluster has no manager quorum" "$out"
s=$SECONDS
expect_eq "qia's container still runs: her login through $L works" "ok $a" \
	"$(sw_ssh "$L" $a 'echo ok; hostname' 2>&1 | tr '\n' ' ' | sed 's/ $//')"
echo "# the login without quorum took $((SECONDS - s)) s"
expect_contains "sshbox list on $L says why it cannot list" "no manager quorum (1 of its 3 managers reachable" "$(sw_admin "$L" list 2>&1)"

# 3. Quorum back.
s=$SECONDS
# shellcheck disable=SC2016 # eval expands them
check "$F1's and $F2's dockerds start again" eval '"$SWARM" start "$F1" && "$SWARM" start "$F2"'
back() { [ "$(sw_ssh "$L" "$b" 'echo ok' 2>/dev/null)" = ok ]; }
if wait_for 60 back; then ok "qub's login through $L works again ($((SECONDS - s)) s after the restart)"; else not_ok "qub's login through $L works again"; fi
expect_eq "on his home node" "$F1" "$(sw_task_node $b)"
back_f1() { [ "$(sw_ssh "$F1" "$a" 'echo ok' 2>/dev/null)" = ok ]; }
check "qia's login through $F1 works again" wait_for 30 back_f1
check "the bed is healthy" wait_for 30 "$SWARM" status

echo "took $((SECONDS - began)) s"
finish

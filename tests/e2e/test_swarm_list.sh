#!/usr/bin/env bash
# Issue 14, `sshbox list` and `sshbox status` over the whole cluster
# (docs/design-cluster.md 3.8): on n2, users homed on n1 and n3 show with
# their nodes and states; sessions are counted on the node the container runs
# on ("?" elsewhere, "-" when none runs); a task swarm cannot place shows as
# pending with swarm's reason.
. "$(dirname "$0")/swarm-lib.sh"
began=$SECONDS
a=sbt-sw-lia b=sbt-sw-lou c=sbt-sw-len
trap 'kill $sa $sb 2>/dev/null; sw_cleanup $a $b $c; rm -rf "$T"' EXIT
sw_cleanup $a $b $c
check "lia (home n1), lou (home n3) and len (home n2) are provisioned on n1" \
	quiet eval "sw_user $a n1 && sw_user $b n3 && sw_user $c n2"

# lia in through n2, lou through n1: sessions held open.
sw_ssh_bg n2 $a 'sleep 60'
sa=$SW_BG
sw_ssh_bg n1 $b 'sleep 60'
sb=$SW_BG
both() { sw_has_task "$a" && sw_has_task "$b"; }
check "both containers run" wait_for 30 both
counted() { [ "$(sw_list_row "$1" "$2" | awk '{print $3}')" = 1 ]; }
check "lia's session is counted on n1, where her container runs" wait_for 20 counted n1 $a
check "lou's session is counted on n3, where his container runs" wait_for 20 counted n3 $b

list=$(sw_admin n2 list 2>&1)
printf "# %s\n" "${list//$'\n'/$'\n# '}"
expect_eq "the header" "USER NODE RUNS-ON SESSIONS IMAGE STATE" "$(head -1 <<<"$list" | tr -s ' ')"
expect_eq "on n2: lia, home n1, running on n1, sessions counted elsewhere (?)" \
	"n1 n1 ? $SBX_SWARM_IMAGE:latest running" "$(sw_list_row n2 $a | tr -s ' ')"
expect_eq "on n2: lou, home n3, running on n3, sessions counted elsewhere (?)" \
	"n3 n3 ? $SBX_SWARM_IMAGE:latest running" "$(sw_list_row n2 $b | tr -s ' ')"
expect_eq "on n2: len, home n2, stopped, no sessions (-)" \
	"n2 - - $SBX_SWARM_IMAGE:latest stopped" "$(sw_list_row n2 $c | tr -s ' ')"
expect_eq "every user of the cluster, once (n2 never provisioned anyone)" 3 \
	"$(grep -cE "^($a|$b|$c) " <<<"$list")"
expect_eq "the same users on n3" "$(awk '{print $1, $2, $5}' <<<"$list" | sort)" \
	"$(sw_admin n3 list 2>&1 | awk '{print $1, $2, $5}' | sort)"

st=$(sw_admin n2 status $b 2>&1)
expect_contains "status on n2 names lou's home node" "node:       n3 (home)" "$st"
expect_contains "and his state" "state:      running" "$st"
expect_contains "and says where his sessions are counted" "sessions:   ? (the container runs on another node" "$st"
expect_contains "status on n3 counts them" "sessions:   1 (counted on this node)" "$(sw_admin n3 status $b 2>&1)"
expect_contains "status of a user without a service says so" "has no service in the cluster" \
	"$(sw_admin n2 status sbt-sw-nobody 2>&1)"

# A task swarm cannot place: len's service asked to run where no node is.
svc=$(sw_service $c)
api n1 POST "/services/$(jq -r .ID <<<"$svc")/update?version=$(jq -r .Version.Index <<<"$svc")" \
	"$(jq -c '.Spec | .Mode.Replicated.Replicas = 1 | .TaskTemplate.Placement.Constraints = ["node.labels.sshbox.node==nowhere"]' <<<"$svc")" >/dev/null
pending() { [[ $(sw_list_row n2 "$c") == *"pending: no suitable node"* ]]; }
check "a task that cannot be placed shows as pending, with swarm's reason" wait_for 15 pending
sw_list_row n2 $c | sed 's/^/# /'

kill $sa $sb 2>/dev/null
echo "took $((SECONDS - began)) s"
finish

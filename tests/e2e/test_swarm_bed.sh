#!/usr/bin/env bash
# Issue 14's groundwork: proves on the real three-node swarm of
# tests/bed/swarm.sh (ctest's swarm fixture) what the cluster mode relies on,
# through the Engine API only (docs/design-cluster.md): a user's service with
# 0/1 replicas pinned to a node; scaling with the version read, a stale
# version refused; the task's node, overlay address and container from the
# API; a per-node "reach" container on the overlay from whose network
# namespace the task's sshd answers; the fence (iptables in the task's
# namespace, as watchdog/netfence.c) is what isolates two users on the
# overlay; what managers say of a node whose dockerd died; no port published.
# It needs no sshd bed and does not touch the suite's engine.
. "$(dirname "$0")/lib.sh"
. "$SBX_SRC/tests/bed/swarm-env.sh"
began=$SECONDS
SWARM=$SBX_SRC/tests/bed/swarm.sh
api() { sbx_swarm_api "$@"; }
quiet() { "$@" >/dev/null 2>&1; } # CMD...: for check, which prints only its verdict
NET=$SBX_SWARM_NET
IMAGE=$SBX_SWARM_IMAGE:latest
ALICE=sbt-swarm-alice BOB=sbt-swarm-bob REACH=sbt-swarm-reach

cleanup() {
	local n
	for s in $ALICE $BOB; do api n1 DELETE "/services/$s" >/dev/null 2>&1; done
	for n in "${SBX_SWARM_NODES[@]}"; do api "$n" DELETE "/containers/$REACH?force=1" >/dev/null 2>&1; done
	rm -rf "$T"
}
trap cleanup EXIT
check "the swarm bed is healthy" quiet "$SWARM" status
cleanup

node_id() { api "$1" GET /info | jq -r .Swarm.NodeID; } # NODE
node_name() { api n1 GET "/nodes/$1" | jq -r '.Spec.Labels["sshbox.node"]'; } # ID
# service_create VIA USER NODE: a user's service as the implementation makes
# it: 0 replicas, pinned by node label, on the overlay, no VIP, no ports.
service_create() {
	api "$1" POST /services/create "$(jq -nc --arg name "$2" --arg node "$3" --arg img "$IMAGE" --arg net "$NET" '{
		Name: $name, Labels: {"sshbox.user": $name},
		TaskTemplate: {
			ContainerSpec: {Image: $img, Hostname: $name, Init: true,
				Command: ["/bin/sh", "-c", "ssh-keygen -A >/dev/null && exec /usr/sbin/sshd -D -e"],
				CapabilityDrop: ["ALL"], CapabilityAdd: ["CHOWN", "DAC_OVERRIDE", "FOWNER",
					"FSETID", "KILL", "SETUID", "SETGID", "SYS_CHROOT", "NET_BIND_SERVICE", "AUDIT_WRITE"],
				Ulimits: [{Name: "nofile", Soft: 1024, Hard: 4096}]},
			Resources: {Limits: {MemoryBytes: 268435456, NanoCPUs: 500000000, Pids: 512}},
			Placement: {Constraints: ["node.labels.sshbox.node==" + $node]},
			Networks: [{Target: $net}], RestartPolicy: {Condition: "any"}},
		Mode: {Replicated: {Replicas: 0}},
		EndpointSpec: {Mode: "dnsrr"}}')"
}
version() { api "$1" GET "/services/$2" | jq -r .Version.Index; } # VIA SERVICE
# scale VIA SERVICE N VERSION: the update the watchdog sends (spec as read).
scale() {
	local spec
	spec=$(api "$1" GET "/services/$2" | jq -c --argjson n "$3" '.Spec | .Mode.Replicated.Replicas = $n')
	api "$1" POST "/services/$2/update?version=$4" "$spec"
}
running_task() { # SERVICE: its task meant to run and running, as JSON
	api n1 GET "/tasks?filters=$(sbx_swarm_filters "{\"service\":[\"$1\"],\"desired-state\":[\"running\"]}")" |
		jq -ce '[.[] | select(.Status.State == "running")] | if length == 1 then .[0] else error("none") end' 2>/dev/null
}
overlay_ip() { jq -r --arg net "$NET" '.NetworksAttachments[] | select(.Network.Spec.Name == $net) | .Addresses[0] | sub("/.*"; "")' <<<"$1"; }
# tcp_open NETNS_PID IP PORT: a TCP connect from that namespace (host tools).
tcp_open() { nsenter --net="/proc/$1/ns/net" timeout 3 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; }
ssh_banner() { nsenter --net="/proc/$1/ns/net" timeout 3 bash -c "exec 3<>/dev/tcp/$2/22 && head -c 8 <&3" 2>/dev/null; }
sshd_answers() { [ "$(ssh_banner "$1" "$2")" = SSH-2.0- ]; } # NETNS_PID IP
no_task() { ! running_task "$1" >/dev/null; }                # SERVICE

# 1. A service with 0 replicas, pinned to n3, created through n2.
check "alice's service is created through n2 with 0 replicas" quiet service_create n2 $ALICE n3
v0=$(version n1 $ALICE)
check_not "no task runs at 0 replicas" running_task $ALICE

# 2. Scale 0 -> 1 with the version read; the same version again is refused.
check "scaling to 1 with the version read (through n1)" quiet scale n1 $ALICE 1 "$v0"
stale=$(scale n2 $ALICE 0 "$v0")
expect_contains "an update with the stale version fails" "update out of sequence" "$stale"
check "alice's task runs" quiet wait_for 20 running_task $ALICE

# 3. Node, overlay address and container from the API.
task=$(running_task $ALICE)
expect_eq "the task runs on the pinned node" n3 "$(node_name "$(jq -r .NodeID <<<"$task")")"
a_ip=$(overlay_ip "$task")
expect_match "the task has an overlay address" "^10\.78\.0\.[0-9]+$" "$a_ip"
a_cid=$(jq -r .Status.ContainerStatus.ContainerID <<<"$task")
a_pid=$(api n3 GET "/containers/$a_cid/json" | jq -r .State.Pid)
expect_eq "the home node's engine has the task's container, same pid" "$(jq -r .Status.ContainerStatus.PID <<<"$task")" "$a_pid"
check_not "another node's engine does not have it" api n1 GET "/containers/$a_cid/json"

# A login's "touch": a service label changed with the version read moves the
# version (so a racing stop with the old one fails) and keeps the task.
touch_service() { # VIA SERVICE VERSION VALUE
	local spec
	spec=$(api "$1" GET "/services/$2" | jq -c --arg v "$4" '.Spec | .Labels["sshbox.login"] = $v')
	api "$1" POST "/services/$2/update?version=$3" "$spec"
}
v1=$(version n1 $ALICE)
check "a login's touch through n1 (a service label, version read)" quiet touch_service n1 $ALICE "$v1" touch-1
expect_ne "the touch moved the version" "$v1" "$(version n2 $ALICE)"
expect_contains "an idle stop with the version read before the touch fails" "update out of sequence" "$(scale n3 $ALICE 0 "$v1")"
sleep 1 # a task replaced by the touch would be replaced within this second
expect_eq "the touch kept the task and its container" "$a_cid" "$(running_task $ALICE | jq -r .Status.ContainerStatus.ContainerID)"

# 4. A reach container on n1, on the overlay: the sshd answers from its netns.
reach=$(jq -nc --arg img "$IMAGE" --arg net "$NET" '{Image: $img, Cmd: ["sleep", "infinity"],
	Labels: {"sshbox.role": "reach"}, HostConfig: {NetworkMode: $net, Init: true},
	NetworkingConfig: {EndpointsConfig: {($net): {}}}}')
api n1 POST "/containers/create?name=$REACH" "$reach" >/dev/null && api n1 POST "/containers/$REACH/start" >/dev/null
r_pid=$(api n1 GET "/containers/$REACH/json" | jq -r .State.Pid)
check "n1's reach container runs" test "$r_pid" -gt 0
check "alice's sshd answers over the overlay from n1's reach container" wait_for 10 sshd_answers "$r_pid" "$a_ip"

# 5. bob on n2. The overlay alone does not isolate: alice reaches bob (and the
# nodes' swarm port) until each task is fenced in its own namespace.
check "bob's service is created through n3" quiet service_create n3 $BOB n2
check "scaling bob to 1" quiet scale n1 $BOB 1 "$(version n1 $BOB)"
check "bob's task runs" quiet wait_for 20 running_task $BOB
task=$(running_task $BOB)
b_ip=$(overlay_ip "$task")
b_pid=$(api n2 GET "/containers/$(jq -r .Status.ContainerStatus.ContainerID <<<"$task")/json" | jq -r .State.Pid)
check "unfenced, alice reaches bob's sshd on the overlay" wait_for 10 tcp_open "$a_pid" "$b_ip" 22
check "unfenced, alice reaches a node's swarm port" tcp_open "$a_pid" "$(sbx_swarm_addr n1)" 2377

# fence PID: as watchdog/netfence.c, in the task's namespace: new outgoing
# connections to its own subnets (the overlay, docker_gwbridge) and to every
# node of the swarm are refused; loopback and answers stay open.
fence() {
	local rules nodes
	rules=$'*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -o lo -j ACCEPT\n'
	rules+=$'-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED --ctdir REPLY -j ACCEPT\n'
	nodes=$(api n1 GET /nodes | jq -r '.[].Status.Addr')
	for d in $(nsenter --net="/proc/$1/ns/net" ip -o -4 addr show scope global | awk '{print $4}') $nodes; do
		rules+="-A OUTPUT -d $d -p tcp -j REJECT --reject-with tcp-reset"$'\n'
		rules+="-A OUTPUT -d $d -j REJECT --reject-with icmp-admin-prohibited"$'\n'
	done
	nsenter --net="/proc/$1/ns/net" iptables-restore <<<"${rules}COMMIT"
}
check "alice's task is fenced" fence "$a_pid"
check "bob's task is fenced" fence "$b_pid"
# The limits and capabilities of the local spec carry over to a service
# (API 1.41); no-new-privileges does not (no such field on 20.10).
hc=$(api n2 GET "/containers/$(jq -r .Status.ContainerStatus.ContainerID <<<"$task")/json" | jq -c .HostConfig)
expect_eq "the task's container has the spec's limits and capabilities" \
	'["ALL"] 10 512 268435456 500000000 4096' \
	"$(jq -r '"\(.CapDrop | tojson) \(.CapAdd | length) \(.PidsLimit) \(.Memory) \(.NanoCpus) \(.Ulimits[0].Hard)"' <<<"$hc")"
expect_eq "... but not no-new-privileges" null "$(jq -c .SecurityOpt <<<"$hc")"
check_not "fenced, alice cannot connect to bob's sshd" tcp_open "$a_pid" "$b_ip" 22
check_not "fenced, bob cannot connect to alice's sshd" tcp_open "$b_pid" "$a_ip" 22
check_not "fenced, alice cannot reach another node's swarm port" tcp_open "$a_pid" "$(sbx_swarm_addr n1)" 2377
check_not "fenced, alice cannot reach her own node's swarm port" tcp_open "$a_pid" "$(sbx_swarm_addr n3)" 2377
expect_eq "fenced, alice's sshd still answers the reach container" SSH-2.0- "$(ssh_banner "$r_pid" "$a_ip")"
expect_eq "fenced, bob's sshd still answers the reach container" SSH-2.0- "$(ssh_banner "$r_pid" "$b_ip")"

# 6. No port published anywhere: no service endpoint port, no container port
# binding, no listener on the nodes' addresses besides the swarm's own (and
# the node's own sshd on 22, once tests/bed/swarm-sshbox.sh has started it).
for n in "${SBX_SWARM_NODES[@]}"; do
	expect_eq "$n: no container publishes a port" 0 "$(api "$n" GET /containers/json | jq '[.[].Ports[] | select(.PublicPort)] | length')"
	expect_eq "$n: the node listens on the swarm ports only" "2377 7946" \
		"$(sbx_swarm_net "$n" ss -Hltn | awk '{sub(/.*:/, "", $4); print $4}' | grep -vx 22 | sort -un | xargs)"
done
expect_eq "no service has an endpoint port" 0 "$(api n1 GET /services | jq '[.[].Endpoint.Ports // [] | .[]] | length')"

# 7. Scale 1 -> 0 with the version read: the task stops; the next start is a
# new container (its writable layer is not the last one's).
check "alice scaled to 0" quiet scale n2 $ALICE 0 "$(version n2 $ALICE)"
check "alice's task is gone" wait_for 20 no_task $ALICE
check "alice scaled to 1 again" quiet scale n1 $ALICE 1 "$(version n1 $ALICE)"
check "alice's task runs again" quiet wait_for 20 running_task $ALICE
task=$(running_task $ALICE)
expect_ne "the new task is a new container" "$a_cid" "$(jq -r .Status.ContainerStatus.ContainerID <<<"$task")"
a_ip=$(overlay_ip "$task")
a_cid2=$(jq -r .Status.ContainerStatus.ContainerID <<<"$task")
a_pid=$(api n3 GET "/containers/$a_cid2/json" | jq -r .State.Pid)

# 8. n3's dockerd killed: the managers left (n1, n2 keep quorum) report it.
"$SWARM" kill n3
n3=$(api n1 GET /nodes | jq -r '.[] | select(.Spec.Labels["sshbox.node"] == "n3") | .ID')
n3_down() { [ "$(api n1 GET "/nodes/$n3" | jq -r '"\(.Status.State) \(.ManagerStatus.Reachability)"')" = "down unreachable" ]; }
check "a manager reports n3 down and unreachable" wait_for 15 n3_down
expect_eq "its message says why" "heartbeat failure" "$(api n1 GET "/nodes/$n3" | jq -r .Status.Message)"
f=$(sbx_swarm_filters "{\"service\":[\"$ALICE\"]}")
# The orchestrator reacts to the node's state a moment after it changes.
old_marked() { # alice's container's task: desired shutdown, last state running
	[ "$(api n1 GET "/tasks?filters=$f" | jq -r --arg c "$a_cid2" '.[] | select(.Status.ContainerStatus.ContainerID == $c) | "\(.DesiredState) \(.Status.State)"')" = "shutdown running" ]
}
check "the manager marks alice's task to shut down (its state is the last reported)" wait_for 10 old_marked
no_node_fits() { api n1 GET "/tasks?filters=$f" | jq -e '[.[] | select(.Status.State == "pending") | .Status.Err | select(contains("no suitable node"))] | length == 1' >/dev/null; }
check "a new task is pending: no suitable node" wait_for 10 no_node_fits
check "swarm updates still work with one manager gone" quiet scale n2 $BOB 0 "$(version n2 $BOB)"
# A banner read can time out while the swarm re-plans around the dead node
# on a loaded machine: a few tries, not one.
check "alice's sshd still answers the reach container (no dockerd on the data path)" wait_for 10 sshd_answers "$r_pid" "$a_ip"
check "the dead node's engine does not answer" bash -c "! curl -sf --max-time 2 --unix-socket $(sbx_swarm_sock n3) http://localhost/_ping"
check "alice's container process outlives its node's dockerd" test -d "/proc/$a_pid"

# n3 returns: the swarm is healthy again, and alice runs there anew.
start=$SECONDS
check "n3's dockerd starts again" "$SWARM" start n3
check "the swarm is healthy again" quiet wait_for 30 "$SWARM" status
echo "# n3 back and the swarm healthy after $((SECONDS - start)) s"
check "alice's task runs on n3 again" quiet wait_for 30 running_task $ALICE
expect_eq "... on n3" n3 "$(node_name "$(running_task $ALICE | jq -r .NodeID)")"
echo "# took $((SECONDS - began)) s"
finish

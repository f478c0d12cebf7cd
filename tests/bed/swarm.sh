#!/usr/bin/env bash
# A real three-node Docker Swarm on this machine, for issue 14's tests
# (facts and traps: the swarm test bed note). Each node is a dockerd of its
# own in a network namespace of its own (sbxsw-n1..3, 10.77.0.11..13 on a
# bridge in a "hub" namespace, so the host's links and iptables are never
# touched) and a mount/UTS namespace of its own (its own hostname and an
# empty /etc/docker, so every node has its own engine ID). All three are
# managers: each node's watchdog serves the swarm API locally, and one node
# may fail without losing quorum. The machine's dockerd and the suite's bed
# engine are never touched.
#   tests/bed/swarm.sh up            bring it up (kept when it is healthy)
#   tests/bed/swarm.sh down          stop everything; keep each node's image
#                                    store as a cache (next up in seconds)
#   tests/bed/swarm.sh purge         down, and drop the caches too
#   tests/bed/swarm.sh status        one line per node; fails unless healthy
#   tests/bed/swarm.sh kill NODE     SIGKILL that node's dockerd (a crash)
#   tests/bed/swarm.sh start NODE    start that node's dockerd again
#   tests/bed/swarm.sh join          a fourth node (n4, a worker) joins
#   tests/bed/swarm.sh leave         n4 leaves, and is gone
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/swarm-env.sh"
. "$(dirname "${BASH_SOURCE[0]}")/noinherit.sh"
S=$SBX_SWARM_DIR
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HUB=sbxsw-hub
EXTRA=n4 # the node `join` adds

alive() { # PID: exists and is not a zombie
	local state
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [ -n "$state" ] && [ "$state" != Z ]
}
dockerd_pid() { # NODE: its dockerd, by pid file and command line
	local pid
	pid=$(cat "$S/$1/docker.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] &&
		tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qx -- "--pidfile=$S/$1/docker.pid" && echo "$pid"
}
answers() { curl -sf --max-time 2 --unix-socket "$(sbx_swarm_sock "$1")" http://localhost/_ping >/dev/null 2>&1; }
api() { sbx_swarm_api "$@"; }

# Every process of a node, whatever survived: its dockerd, the containerd it
# started, the container shims (by containerd namespace) and the containers
# themselves (by cgroup parent; a killed shim leaves them running).
node_pids() { # NODE
	local n=$1 pid
	pid=$(dockerd_pid "$n") && echo "$pid"
	pid=$(cat "$S/$n/exec/containerd/containerd.pid" 2>/dev/null) &&
		alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$S/$n/exec/containerd/" && echo "$pid"
	pgrep -f "containerd-shim-runc-v2 -namespace sbxswarm-$n " || true
	# cgroup v1 (this machine) or v2
	cat /sys/fs/cgroup/pids/sbxswarm-"$n"/*/cgroup.procs /sys/fs/cgroup/sbxswarm-"$n"/*/cgroup.procs 2>/dev/null || true
}

stop_node() { # NODE SIGNAL: stop its dockerd (TERM stops its containers too)
	local n=$1 pid
	pid=$(dockerd_pid "$n") || return 0
	kill "-$2" "$pid" 2>/dev/null || true
	for _ in $(seq 1 150); do alive "$pid" || break; sleep 0.1; done
	alive "$pid" && kill -KILL "$pid" 2>/dev/null
	return 0
}

kill_leftovers() { # NODE: what a stop or crash left running
	local n=$1 pids
	for _ in 1 2 3; do
		pids=$(node_pids "$n" | sort -u)
		[ -n "$pids" ] || break
		# shellcheck disable=SC2086 # a list of pids
		kill -KILL $pids 2>/dev/null || true
		sleep 0.2
	done
	rm -f "$S/$n/docker.pid" "$S/$n/exec/containerd/containerd.pid"
	# The containers' cgroups (one per container under the node's parent).
	local c
	for c in /sys/fs/cgroup/*/sbxswarm-"$n" /sys/fs/cgroup/sbxswarm-"$n"; do
		[ -d "$c" ] || continue
		find "$c" -depth -mindepth 1 -type d -exec rmdir {} + 2>/dev/null || true
		rmdir "$c" 2>/dev/null || true
	done
}

start_node() { # NODE: start its dockerd in its namespaces; wait until it answers
	local n=$1
	dockerd_pid "$n" >/dev/null && answers "$n" && return 0
	stop_node "$n" TERM
	# A killed dockerd's containerd outlives it: the next one would wait for
	# its socket. The new dockerd starts its own (container shims live on).
	local pid
	pid=$(cat "$S/$n/exec/containerd/containerd.pid" 2>/dev/null) && alive "$pid" &&
		tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$S/$n/exec/containerd/" && kill -KILL "$pid" &&
		for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
	rm -f "$S/$n/docker.pid" "$S/$n/exec/containerd/containerd.pid"
	install -d -m 0700 "$S/$n" "$S/$n/data" "$S/$n/exec"
	echo '{}' >"$S/$n/daemon.json"
	# Mount and UTS namespaces of its own: its hostname is its swarm name,
	# and an empty /etc/docker gives it an engine ID of its own; /run/docker
	# and /run/containerd hide the machine's engine. No registry is reachable:
	# tasks use the image the node has (DOCKER_SERVICE_PREFER_OFFLINE_IMAGE).
	# shellcheck disable=SC2016 # the inner sh expands its own arguments
	(no_inherit env DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 nsenter --net="/run/netns/$(sbx_swarm_netns "$n")" -- \
		setsid unshare --mount --uts --propagation slave -- sh -c '
		hostname "$1" || exit 1
		for d in /etc/docker /run/docker /run/containerd; do
			if [ -d "$d" ]; then mount -t tmpfs -o mode=0755 tmpfs "$d" || exit 1; fi
		done
		shift
		exec dockerd "$@"' sh "$(sbx_swarm_host "$n")" \
		--config-file="$S/$n/daemon.json" --data-root="$S/$n/data" --exec-root="$S/$n/exec" \
		--pidfile="$S/$n/docker.pid" -H "unix://$(sbx_swarm_sock "$n")" \
		--containerd-namespace="sbxswarm-$n" --containerd-plugins-namespace="sbxswarm-$n-plugins" \
		--cgroup-parent="/sbxswarm-$n") </dev/null >>"$S/$n/dockerd.log" 2>&1 &
	for _ in $(seq 1 600); do
		answers "$n" && dockerd_pid "$n" >/dev/null && return 0
		sleep 0.05
	done
	echo "swarm: node $n's dockerd did not answer within 30 s; see $S/$n/dockerd.log" >&2
	return 1
}

node_net_up() { # NODE: its namespace, linked to the hub's bridge
	local n=$1 ns
	ns=$(sbx_swarm_netns "$n")
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip -n "$HUB" link add "v$n" type veth peer name eth0 netns "$ns"
	ip -n "$HUB" link set "v$n" master br0 up
	ip -n "$ns" addr add "$(sbx_swarm_addr "$n")/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add default via "$SBX_SWARM_UNDERLAY.1"
}

net_up() {
	ip netns add "$HUB"
	ip -n "$HUB" link set lo up
	ip -n "$HUB" link add br0 type bridge
	ip -n "$HUB" addr add "$SBX_SWARM_UNDERLAY.1/24" dev br0
	ip -n "$HUB" link set br0 up
	local n
	for n in "${SBX_SWARM_NODES[@]}"; do node_net_up "$n"; done
}

net_down() {
	local ns
	for ns in "$HUB" $(for n in "${SBX_SWARM_NODES[@]}" "$EXTRA"; do sbx_swarm_netns "$n"; done); do
		if [ -e "/run/netns/$ns" ]; then ip netns del "$ns"; fi
	done
}

# A node's data root outlives the bed for its image store only: the swarm's
# state and any container or volume of an earlier bed are dropped.
scrub_data() { rm -rf "$S/$1/data/swarm" "$S/$1/exec"; }
scrub_engine() { # NODE: remove every container and volume it still has
	local n=$1 id
	for id in $(api "$n" GET '/containers/json?all=1' | jq -r '.[].Id'); do
		api "$n" DELETE "/containers/$id?force=1&v=1" >/dev/null
	done
	api "$n" POST /volumes/prune >/dev/null
}

load_image() { # NODE: the base image from the bed's cached rootfs tar
	SSHBOX_ENGINE_SOCKET=$(sbx_swarm_sock "$1") SSHBOX_BASE_REPO=$SBX_SWARM_IMAGE \
		SSHBOX_ROOTFS_CACHE=$SBX_SWARM_ROOTFS_CACHE "$SRC/installer/image/build-base.sh" >/dev/null
}

swarm_form() {
	local n1=${SBX_SWARM_NODES[0]} n
	# Short heartbeats: a dead node shows as down within seconds.
	api "$n1" POST /swarm/init "$(jq -nc --arg a "$(sbx_swarm_addr "$n1")" \
		'{ListenAddr: ($a + ":2377"), AdvertiseAddr: $a,
		  Spec: {Dispatcher: {HeartbeatPeriod: 1000000000}}}')" >/dev/null
	local token
	token=$(api "$n1" GET /swarm | jq -r .JoinTokens.Manager)
	for n in "${SBX_SWARM_NODES[@]:1}"; do
		api "$n" POST /swarm/join "$(jq -nc --arg a "$(sbx_swarm_addr "$n")" \
			--arg m "$(sbx_swarm_addr "$n1"):2377" --arg t "$token" \
			'{ListenAddr: ($a + ":2377"), AdvertiseAddr: $a, RemoteAddrs: [$m], JoinToken: $t}')" >/dev/null
	done
	# Node labels: sshbox.node names the node as the tests and docs do.
	local id spec version
	for n in "${SBX_SWARM_NODES[@]}"; do
		id=$(api "$n" GET /info | jq -r .Swarm.NodeID)
		spec=$(api "$n1" GET "/nodes/$id")
		version=$(jq -r .Version.Index <<<"$spec")
		api "$n1" POST "/nodes/$id/update?version=$version" \
			"$(jq -c --arg n "$n" '.Spec | .Labels["sshbox.node"] = $n' <<<"$spec")" >/dev/null
	done
	api "$n1" POST /networks/create "$(jq -nc --arg name "$SBX_SWARM_NET" --arg sub "$SBX_SWARM_SUBNET" \
		'{Name: $name, Driver: "overlay", Attachable: true, CheckDuplicate: true,
		  IPAM: {Config: [{Subnet: $sub}]}, Labels: {"sshbox.test": "swarm-bed"}}')" >/dev/null
}

healthy() { # every node answers, is a ready manager, the overlay exists
	local n
	for n in "${SBX_SWARM_NODES[@]}"; do answers "$n" || return 1; done
	local nodes
	nodes=$(SBX_API_TIMEOUT=5 api "${SBX_SWARM_NODES[0]}" GET /nodes 2>/dev/null) || return 1
	[ "$(jq '[.[] | select(.Status.State == "ready" and .ManagerStatus.Reachability == "reachable")] | length' <<<"$nodes")" = "${#SBX_SWARM_NODES[@]}" ] || return 1
	SBX_API_TIMEOUT=5 api "${SBX_SWARM_NODES[0]}" GET "/networks/$SBX_SWARM_NET" >/dev/null 2>&1
}

# The bed's directory is a shared mount of itself: the machine's / is
# private, so without it the flag dirs (tmpfs) a node's watchdog mounts under
# its state dir would not reach that node's dockerd, whose mount namespace
# is a copy, and tasks would bind the bare directory.
shared_dir() { [ "$(findmnt -n -o PROPAGATION --target "$S" 2>/dev/null)" = shared ] && mountpoint -q "$S"; }
make_shared() {
	install -d -m 0700 "$S"
	mountpoint -q "$S" || mount --bind "$S" "$S"
	mount --make-shared "$S"
}

up() {
	healthy && shared_dir && return 0
	down
	make_shared
	net_up
	local n pids=()
	for n in "${SBX_SWARM_NODES[@]}"; do start_node "$n" & pids+=($!); done
	for p in "${pids[@]}"; do wait "$p"; done
	for n in "${SBX_SWARM_NODES[@]}"; do scrub_engine "$n"; done
	# The first node debootstraps when the rootfs tar is not cached yet; the
	# others then import the tar, together.
	load_image "${SBX_SWARM_NODES[0]}"
	pids=()
	for n in "${SBX_SWARM_NODES[@]:1}"; do load_image "$n" & pids+=($!); done
	for p in "${pids[@]}"; do wait "$p"; done
	swarm_form
	for _ in $(seq 1 100); do healthy && return 0; sleep 0.1; done
	echo "swarm: the nodes did not become ready managers; see $S/*/dockerd.log" >&2
	return 1
}

# n4 joins as a worker (no sshbox there: a node joining later, for the
# fences already in place) and leaves again; it keeps no state.
join() {
	healthy || { echo "swarm: the bed is not up" >&2; return 1; }
	[ -e "/run/netns/$(sbx_swarm_netns "$EXTRA")" ] || node_net_up "$EXTRA"
	start_node "$EXTRA"
	local token
	token=$(api n1 GET /swarm | jq -r .JoinTokens.Worker)
	api "$EXTRA" POST /swarm/join "$(jq -nc --arg a "$(sbx_swarm_addr "$EXTRA")" \
		--arg m "$(sbx_swarm_addr n1):2377" --arg t "$token" \
		'{ListenAddr: ($a + ":2377"), AdvertiseAddr: $a, RemoteAddrs: [$m], JoinToken: $t}')" >/dev/null
}

leave() {
	local id
	if answers "$EXTRA"; then
		id=$(api "$EXTRA" GET /info | jq -r '.Swarm.NodeID // empty')
		SBX_API_TIMEOUT=10 api "$EXTRA" POST '/swarm/leave?force=1' >/dev/null 2>&1 || true
		[ -z "$id" ] || SBX_API_TIMEOUT=10 api n1 DELETE "/nodes/$id?force=1" >/dev/null 2>&1 || true
	fi
	stop_node "$EXTRA" TERM
	kill_leftovers "$EXTRA"
	rm -rf "${S:?}/$EXTRA"
	if [ -e "/run/netns/$(sbx_swarm_netns "$EXTRA")" ]; then
		ip netns del "$(sbx_swarm_netns "$EXTRA")"
		ip -n "$HUB" link del "v$EXTRA" 2>/dev/null || true
	fi
}

down() {
	local n
	# sshbox's watchdogs and sshds on the nodes (swarm-sshbox.sh) go first.
	"$SRC/tests/bed/swarm-sshbox.sh" down
	leave
	for n in "${SBX_SWARM_NODES[@]}"; do
		# Leaving first: the node's task containers go with the swarm.
		if answers "$n"; then
			SBX_API_TIMEOUT=10 api "$n" POST '/swarm/leave?force=1' >/dev/null 2>&1 || true
			scrub_engine "$n" 2>/dev/null || true
		fi
	done
	for n in "${SBX_SWARM_NODES[@]}"; do stop_node "$n" TERM & done
	wait
	for n in "${SBX_SWARM_NODES[@]}"; do
		kill_leftovers "$n"
		scrub_data "$n"
		rm -f "$(sbx_swarm_sock "$n")"
	done
	net_down
}

status() {
	local n rc=0
	for n in "${SBX_SWARM_NODES[@]}"; do
		if answers "$n"; then
			echo "$n: $(api "$n" GET /info | jq -r '"\(.Name) swarm=\(.Swarm.LocalNodeState) manager=\(.Swarm.ControlAvailable) images=\(.Images) containers=\(.ContainersRunning)"')"
		else
			echo "$n: dockerd not answering"
			rc=1
		fi
	done
	healthy || { echo "swarm: not healthy"; rc=1; }
	return $rc
}

node_arg() {
	local n
	for n in "${SBX_SWARM_NODES[@]}"; do [ "$n" = "${1:-}" ] && return 0; done
	echo "swarm.sh: unknown node \"${1:-}\" (${SBX_SWARM_NODES[*]})" >&2
	exit 2
}

[ "$(id -u)" = 0 ] || { echo "swarm.sh: run as root" >&2; exit 1; }
# One change of the bed at a time (SBX_SWARM_LOCKED=1: the caller holds it).
if [ "${1:-status}" != status ] && [ "${SBX_SWARM_LOCKED:-0}" != 1 ]; then
	exec 9>>/run/lock/sshbox-test-swarm.lock
	flock -w 600 9 || { echo "swarm.sh: another swarm.sh held the bed for 10 minutes" >&2; exit 1; }
fi
case ${1:-} in
up) up ;;
down) down ;;
purge)
	down
	if mountpoint -q "$S"; then umount -l "$S"; fi
	rm -rf "$S"
	;;
status) status ;;
kill) node_arg "${2:-}"; stop_node "$2" KILL ;;
start) node_arg "${2:-}"; start_node "$2" ;;
join) join ;;
leave) leave ;;
*) echo "swarm.sh: unknown action \"${1:-}\" (up, down, purge, status, kill NODE, start NODE, join, leave)" >&2; exit 2 ;;
esac

# shellcheck shell=bash
# Settings and helpers of the swarm test bed (tests/bed/swarm.sh): three
# dockerd nodes on this machine, each in its own network namespace, forming
# one Docker Swarm. Apart from the suite's bed engine and the machine's
# dockerd: own directories, sockets, namespaces, containerd namespaces and
# cgroup parents, all named sbxsw*/sbxswarm-*.
SBX_SWARM_DIR=${SBX_SWARM_DIR:-/var/tmp/sshbox-test-swarm}
# shellcheck disable=SC2034 # read by the scripts that source this file
SBX_SWARM_NODES=(n1 n2 n3)
SBX_SWARM_NET=${SBX_SWARM_NET:-sshbox-sbt}   # the attachable overlay for sshbox
SBX_SWARM_SUBNET=${SBX_SWARM_SUBNET:-10.78.0.0/24}
SBX_SWARM_UNDERLAY=10.77.0                   # node i is $SBX_SWARM_UNDERLAY.1i/24
SBX_SWARM_IMAGE=${SBX_SWARM_IMAGE:-sshbox-base}
# shellcheck disable=SC2034
SBX_SWARM_ROOTFS_CACHE=${SBX_ROOTFS_CACHE:-/var/cache/sshbox-test}

sbx_swarm_netns() { echo "sbxsw-$1"; }                 # NODE: its network namespace's name
sbx_swarm_host() { echo "sbxsw-$1"; }                  # NODE: its hostname (swarm's node.hostname)
sbx_swarm_sock() { echo "$SBX_SWARM_DIR/$1/docker.sock"; }
sbx_swarm_addr() { echo "$SBX_SWARM_UNDERLAY.1${1#n}"; } # NODE: its underlay address

# sbx_swarm_api NODE METHOD PATH [JSON]: that node's Engine API (v1.41).
# Prints the body, an error's too; fails (22) on an HTTP error status.
sbx_swarm_api() {
	local node=$1 method=$2 path=$3 body=${4:-}
	local args=(-sS --fail-with-body --max-time "${SBX_API_TIMEOUT:-30}"
		--unix-socket "$(sbx_swarm_sock "$node")" -X "$method")
	# A POST always carries a body: curl would read stdin otherwise.
	[ "$method" = GET ] || args+=(-H 'Content-Type: application/json' --data-binary "$body")
	curl "${args[@]}" "http://localhost/v1.41$path"
}

# sbx_swarm_net NODE CMD...: CMD in that node's network namespace (use
# nsenter, not `ip netns exec`: that remounts /sys and hides the cgroups).
sbx_swarm_net() {
	local node=$1
	shift
	nsenter --net="/run/netns/$(sbx_swarm_netns "$node")" -- "$@"
}

# sbx_swarm_filters JSON: a filters= query value, URL-encoded.
sbx_swarm_filters() { jq -rn --arg f "$1" '$f | @uri'; }

# sshbox on the swarm bed (tests/bed/swarm-sshbox.sh): its instance and group.
SBX_SWARM_INSTANCE=${SBX_SWARM_INSTANCE:-sbsw}
SBX_SWARM_GROUP=${SBX_SWARM_GROUP:-sbswtest}
# sshbox-keys (sshd's AuthorizedKeysCommand) and the account it runs as:
# sshd runs it only from a path whose every directory is root's and not
# group or world writable (/var/tmp is).
# shellcheck disable=SC2034 # read by swarm-sshbox.sh and the tests
SBX_SWARM_KEYS_BIN=/var/lib/sshbox-test-swarm/libexec
# shellcheck disable=SC2034
SBX_SWARM_KEYS_USER=sbt-swkeys
sbx_swarm_conf() { echo "$SBX_SWARM_DIR/sshbox/$1/sshbox.conf"; } # NODE: its sshbox.conf

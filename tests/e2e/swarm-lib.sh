# shellcheck shell=bash
# Helpers for the swarm e2e tests: sshbox on the swarm bed (tests/bed/swarm.sh
# and tests/bed/swarm-sshbox.sh, which each test brings up if needed; both are
# idempotent). Logins come from the bed's hub namespace to a node's sshd.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$SBX_SRC/tests/bed/swarm-env.sh"
SW_KEYS=$SBX_SWARM_DIR/keys
SW_ADMIN=$SBX_SWARM_DIR/sshbox/bin/sshbox

"$SBX_SRC/tests/bed/swarm-sshbox.sh" up || { echo "not ok - sshbox on the swarm bed did not come up"; exit 1; }

api() { sbx_swarm_api "$@"; }
quiet() { "$@" >/dev/null 2>&1; } # CMD...: for check, which prints only its verdict
# sw_ssh NODE USER [ssh args...]: a real OpenSSH client into that node's sshd.
sw_ssh() {
	local node=$1 user=$2
	shift 2
	nsenter --net=/run/netns/sbxsw-hub ssh "${sbx_ssh_opts[@]}" -i "$SW_KEYS/$user" \
		"$user@$(sbx_swarm_addr "$node")" "$@"
}
# sw_ssh_bg NODE USER CMD...: the same in the background; SW_BG is the ssh
# client's own pid (nsenter execs it), so a kill ends the session itself.
sw_ssh_bg() {
	local node=$1 user=$2
	shift 2
	nsenter --net=/run/netns/sbxsw-hub ssh "${sbx_ssh_opts[@]}" -i "$SW_KEYS/$user" \
		"$user@$(sbx_swarm_addr "$node")" "$@" </dev/null >/dev/null 2>&1 &
	# shellcheck disable=SC2034 # read by the tests
	SW_BG=$!
}
# sw_user USER [NODE]: provisioned through n1 (home NODE, or least loaded).
sw_user() {
	install -d -m 0700 "$SW_KEYS"
	[ -f "$SW_KEYS/$1" ] || ssh-keygen -q -t ed25519 -N '' -f "$SW_KEYS/$1"
	"$SW_ADMIN" --config "$(sbx_swarm_conf n1)" createuser ${2:+--node "$2"} "$1" \
		"$SBX_SWARM_IMAGE:latest" "$SW_KEYS/$1.pub"
}
sw_service() { api n1 GET "/services/$SBX_SWARM_INSTANCE-$1"; } # USER: inspect JSON
sw_replicas() { sw_service "$1" | jq -r .Spec.Mode.Replicated.Replicas; }
sw_task() { # USER: its running task, as JSON (fails when none)
	api n1 GET "/tasks?filters=$(sbx_swarm_filters "{\"service\":[\"$SBX_SWARM_INSTANCE-$1\"],\"desired-state\":[\"running\"]}")" |
		jq -ce '[.[] | select(.Status.State == "running")] | if length == 1 then .[0] else error("none") end' 2>/dev/null
}
sw_task_node() { # USER: the sshbox.node name of the node its task runs on
	local id
	id=$(sw_task "$1" | jq -r .NodeID) || return 1
	api n1 GET "/nodes/$id" | jq -r '.Spec.Labels["sshbox.node"]'
}
sw_has_task() { sw_task "$1" >/dev/null; }
sw_no_task() { ! sw_has_task "$1"; }
# sw_containers USER: the user's task containers running on all nodes.
sw_containers() {
	local n total=0 c
	for n in "${SBX_SWARM_NODES[@]}"; do
		c=$(api "$n" GET "/containers/json?filters=$(sbx_swarm_filters "{\"label\":[\"sshbox.swarm.user=$1\"]}")" | jq length)
		total=$((total + c))
	done
	echo "$total"
}
# sw_cleanup USER...: their services, secrets, configs, volumes and accounts.
sw_cleanup() {
	local u n
	for u in "$@"; do
		api n1 DELETE "/services/$SBX_SWARM_INSTANCE-$u" >/dev/null 2>&1
	done
	for u in "$@"; do
		for _ in $(seq 1 50); do [ "$(sw_containers "$u")" = 0 ] && break; sleep 0.2; done
		api n1 DELETE "/secrets/$SBX_SWARM_INSTANCE-hostkey-$u" >/dev/null 2>&1
		api n1 DELETE "/configs/$SBX_SWARM_INSTANCE-authkeys-$u" >/dev/null 2>&1
		api n1 DELETE "/configs/$SBX_SWARM_INSTANCE-innerkey-$u" >/dev/null 2>&1
		api n1 DELETE "/configs/$SBX_SWARM_INSTANCE-provision-$u" >/dev/null 2>&1
		for n in "${SBX_SWARM_NODES[@]}"; do
			api "$n" DELETE "/volumes/$SBX_SWARM_INSTANCE-home-$u" >/dev/null 2>&1
			findmnt -rn -o TARGET | awk -v p="$SBX_SWARM_DIR/sshbox/$n/state/users/$u/" 'index($0, p) == 1' | xargs -r -n1 umount -l
			rm -rf "$SBX_SWARM_DIR/sshbox/$n/state/users/$u"
		done
		userdel --remove "$u" >/dev/null 2>&1
	done
	return 0
}
# sw_images_gone KIND USER: the user's image INSTANCE-KIND:USER (user: a
# commit, layer: the saved layer) removed from every node.
sw_images_gone() {
	local n
	for n in "${SBX_SWARM_NODES[@]}"; do
		api "$n" DELETE "/images/$SBX_SWARM_INSTANCE-$1:$2?force=1" >/dev/null 2>&1
	done
	return 0
}
# sw_admin NODE ARGS...: the admin CLI on that node (its sshbox.conf, in its
# network namespace, as an admin on that host).
sw_admin() {
	local node=$1
	shift
	sbx_swarm_net "$node" "$SW_ADMIN" --config "$(sbx_swarm_conf "$node")" "$@"
}
# sw_list_row NODE USER: that user's row of `sshbox list` on NODE:
# "NODE RUNS-ON SESSIONS IMAGE STATE..." (the header's columns).
sw_list_row() { sw_admin "$1" list 2>&1 | awk -v u="$2" '$1 == u {$1 = ""; sub(/^ /, ""); print}'; }

#!/usr/bin/env bash
# Issue 14, must-show 7 on a real three-node swarm: no port published on any
# node; the shim's path is the only way in, and a host key that does not match
# the pinned one is refused; from alice's container (home n2) no TCP
# connection reaches bob's (n3) or cora's (n2) on any port tried, nor any
# node's swarm or ssh ports, though all sit on the cluster's overlay.
. "$(dirname "$0")/swarm-lib.sh"
began=$SECONDS
a=sbt-sw-alice2 b=sbt-sw-bob c=sbt-sw-cora
holders=()
trap 'kill "${holders[@]}" 2>/dev/null; sw_cleanup $a $b $c; rm -rf "$T"' EXIT
sw_cleanup $a $b $c
check "alice (n2), bob (n3) and cora (n2) are provisioned" \
	quiet eval "sw_user $a n2 && sw_user $b n3 && sw_user $c n2"
gcc -static -O2 -o "$T/netprobe" "$(dirname "$0")/tools/netprobe.c" || { not_ok "netprobe builds"; finish; }
for u in $a $b $c; do
	sw_ssh_bg n1 "$u" 'sleep 120' # keeps each container running through the test
	holders+=("$SW_BG")
done
for u in $a $b $c; do
	check "$u's netprobe is in place" quiet wait_for 20 sw_ssh n1 "$u" 'cat > /tmp/netprobe && chmod 755 /tmp/netprobe' <"$T/netprobe"
done
ip_of() { sw_task "$1" | jq -r --arg net "$SBX_SWARM_INSTANCE-net" '.NetworksAttachments[] | select(.Network.Spec.Name == $net) | .Addresses[0] | sub("/.*"; "")'; }
bob_ip=$(ip_of $b) cora_ip=$(ip_of $c)
expect_eq "bob's task runs on n3" n3 "$(sw_task_node $b)"
expect_eq "cora's task runs on n2, beside alice's" n2 "$(sw_task_node $c)"

for u in $b $c; do sw_ssh n1 "$u" 'nohup /tmp/netprobe listen 8000 >/dev/null 2>&1 &'; done
bob_self=$(sw_ssh n3 $b "/tmp/netprobe connect $bob_ip 8000")
expect_eq "bob reaches his own server on his overlay address" open "$bob_self"
for port in 22 8000; do
	expect_ne "alice cannot connect to bob's container (other node) on $port" open \
		"$(sw_ssh n1 $a "/tmp/netprobe connect $bob_ip $port")"
	expect_ne "alice cannot connect to cora's container (same node) on $port" open \
		"$(sw_ssh n1 $a "/tmp/netprobe connect $cora_ip $port")"
done
for n in "${SBX_SWARM_NODES[@]}"; do
	for port in 22 2377 7946; do
		expect_ne "alice cannot reach node $n's port $port" open \
			"$(sw_ssh n1 $a "/tmp/netprobe connect $(sbx_swarm_addr "$n") $port")"
	done
done

# The fence in alice's task namespace names every node's underlay address.
apid=$(api n2 GET "/containers/$(sw_task $a | jq -r .Status.ContainerStatus.ContainerID)/json" | jq -r .State.Pid)
for n in "${SBX_SWARM_NODES[@]}"; do
	check "alice's fence rejects node $n's address" quiet eval \
		"nsenter --net=/proc/$apid/ns/net iptables -S OUTPUT | grep -q -- '-d $(sbx_swarm_addr "$n")/32 -p tcp'"
done

published=0
for n in "${SBX_SWARM_NODES[@]}"; do
	published=$((published + $(api "$n" GET /containers/json | jq '[.[].Ports[] | select(.PublicPort)] | length')))
done
expect_eq "no container on any node publishes a port" 0 "$published"

# The pinned key: a service whose pinned key is not the container's is
# refused by the shim, as on a single host; with the right one it works.
svc=$(sw_service $c)
other=$(ssh-keygen -q -t ed25519 -N '' -f "$T/other" && cut -d' ' -f1-2 "$T/other.pub")
api n1 POST "/services/$(jq -r .ID <<<"$svc")/update?version=$(jq -r .Version.Index <<<"$svc")" \
	"$(jq -c --arg k "$other" '.Spec | .Labels["sshbox.hostkey"] = $k' <<<"$svc")" >/dev/null
out=$(sw_ssh n2 $c true 2>&1)
rc=$?
expect_ne "a login with a pinned key that does not match is refused" 0 "$rc"
expect_contains "saying so" "host key" "$out"
echo "took $((SECONDS - began)) s"
finish

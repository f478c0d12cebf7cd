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

# The binds of alice's task, attacked from inside as root (must-show 7 on a
# swarm, as e2e_anyimage and e2e_isolation do on one host): the bundled sshd
# (/.sshbox/sshd, from n2's state dir), the in-container commands, the fence
# token dir, the flag dir, /run/sshd. Judged from the host: n2's state dir and the bundle's
# checksums before and after.
ST=$SBX_SWARM_DIR/sshbox/n2/state
host_state() { # what alice must not change on n2 (flag dirs aside: names are hers to make)
	(cd "$ST" && find -L bundles/current users/$a/bin users/$c/bin -type f -print0 | sort -z | xargs -0 sha256sum &&
		find bundles users -path '*/flags' -prune -o -printf '%y %m %s %T@ %p %l\n' | sort)
}
before=$(host_state)
check "(n2's state has the bundle and alice's commands)" grep -q " bundles/current/sshd$" <<<"$before"
# shellcheck disable=SC2016 # the probe runs in the container
probe=$(sw_ssh n1 $a 'r() { if "$@" >/dev/null 2>&1; then echo "$n=yes"; else echo "$n=no"; fi; }
B=/.sshbox/sshd D=/usr/local/bin/daemon G=/.sshbox/fence
echo planted >/tmp/planted; mkdir -p /tmp/empty
n=ctl r touch /root/probe-ctl
n=b_touch r touch $B/planted
n=b_append r sh -c "echo x >> $B/sshd"
n=b_chmod r chmod 4777 $B/sshd
n=b_rename r mv $B/sshd_config $B/sshd_config.old
n=b_renamemnt r mv $B /.sshbox/moved
n=b_remount r mount -o remount,rw $B
n=b_remount_bind r mount -o remount,rw,bind $B
n=b_umount r umount $B
n=b_umount_lazy r umount -l $B
n=b_tmpfs r mount -t tmpfs none $B
n=b_bind r mount --bind /tmp/empty $B
n=c_append r sh -c "echo x >> $D"
n=c_chmod r chmod 4777 $D
n=c_rename r mv $D /usr/local/bin/daemon.old
n=c_remount r mount -o remount,rw,bind $D
n=c_umount r umount $D
n=c_bind r mount --bind /tmp/planted $D
n=c_tmpfs r mount -t tmpfs none /usr/local/bin
n=g_touch r touch $G/forged
n=g_remount r mount -o remount,rw,bind $G
n=g_umount r umount $G
n=f_remount r mount -o remount,size=100m /run/sshbox
n=f_umount r umount /run/sshbox
n=unshare r unshare -m true
n=ro r grep -Eq " $B ro[, ]" /proc/self/mountinfo
n=sshd_ctl r touch /run/sshd/mark-alice' 2>&1)
field() { sed -n "s/^$1=//p" <<<"$probe"; }
expect_eq "(the probe can say yes: alice writes her home)" yes "$(field ctl)"
expect_eq "alice's bundle bind is read-only" yes "$(field ro)"
for f in b_touch b_append b_chmod b_rename b_renamemnt b_remount b_remount_bind b_umount b_umount_lazy b_tmpfs b_bind \
	c_append c_chmod c_rename c_remount c_umount c_bind c_tmpfs g_touch g_remount g_umount f_remount f_umount unshare; do
	expect_eq "from alice's task as root, $f fails" no "$(field $f)"
done
same_state() { diff <(printf '%s\n' "$before") <(host_state); } # prints what changed
check "n2's state dir and the bundle are unchanged on the host" same_state
host_sshd=$(sha256sum "$ST/bundles/current/sshd" | cut -d' ' -f1)
# shellcheck disable=SC2016 # expands in the container
out=$(sw_ssh n3 $a 'readlink /proc/$PPID/exe; sha256sum /.sshbox/sshd/sshd | cut -d" " -f1' 2>&1)
expect_eq "the next login (through n3) runs the bundle's sshd, unchanged" \
	"/.sshbox/sshd/sshd $host_sshd" "${out//$'\n'/ }"

# /run/sshd: the task's own tmpfs, neither a host directory nor bob's or cora's.
pid_of() { api "$2" GET "/containers/$(sw_task "$1" | jq -r .Status.ContainerStatus.ContainerID)/json" | jq -r .State.Pid; }
runsshd() { awk '$5 == "/run/sshd" {d = $3; split($0, s, " - "); split(s[2], f, " ")} END {print f[1], d}' "/proc/$1/mountinfo"; }
a_sshd=$(runsshd "$apid") c_sshd=$(runsshd "$(pid_of $c n2)") b_sshd=$(runsshd "$(pid_of $b n3)")
expect_eq "alice's /run/sshd is a tmpfs" tmpfs "${a_sshd% *}"
expect_ne "not cora's (same node)" "$a_sshd" "$c_sshd"
expect_ne "not bob's (n3)" "$a_sshd" "$b_sshd"
check_not "no host mount has its device (${a_sshd#* })" grep -q " ${a_sshd#* } " /proc/self/mountinfo
expect_eq "(alice could write there)" yes "$(field sshd_ctl)"
expect_eq "what alice wrote there is neither in bob's nor cora's /run/sshd" "absent absent" \
	"$(sw_ssh n1 $b 'test -e /run/sshd/mark-alice && echo there || echo absent' 2>&1) $(sw_ssh n1 $c 'test -e /run/sshd/mark-alice && echo there || echo absent' 2>&1)"
check_not "nor in the host's /run/sshd" test -e /run/sshd/mark-alice

# The flag dir: names alice makes reach her own flags only. cora's flag dir
# sits beside hers on n2; the watchdog there looks at names, never follows.
CF=$ST/users/$c/flags
c_flags=$(ls -A "$CF")
wdlog=$SBX_SWARM_DIR/sshbox/n2/watchdog.log
mark=$(wc -l <"$wdlog")
# shellcheck disable=SC2016 # the probe runs in the container
sw_ssh n1 $a "cd /run/sshbox && ln -s ../../$c/flags/daemon daemon && ln -s $CF/stopnow $c &&
	mkdir -p users/$c/flags && : > users/$c/flags/stopnow && : > users/$c/flags/daemon" >/dev/null 2>&1
newlog() { tail -n +"$((mark + 1))" "$wdlog"; }
a_daemon() { newlog | grep -q "user \"$a\": daemon mode on"; }
check "(alice's names reached her flag dir on n2, the symlink as a symlink)" test -L "$ST/users/$a/flags/daemon"
expect_eq "cora's flag dir on n2 has no new name" "$c_flags" "$(ls -A "$CF")"
check "n2 takes alice's symlinked daemon flag as hers" wait_for 5 a_daemon
c_logged() { newlog | grep -Eq "user \"$c\": (daemon|stopnow)"; }
check_not "and nothing for cora" c_logged

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

# Sessions end: bob's and cora's containers stop after grace (nothing alice
# wrote made them daemons); alice's own symlinked daemon flag keeps hers.
kill "${holders[@]}" 2>/dev/null
others_stopped() { sw_no_task "$b" && sw_no_task "$c"; }
check "bob's and cora's containers stop after grace" wait_for 20 others_stopped
sleep 1 # one more polling round on n2
check "alice's is kept in daemon mode" sw_has_task $a
echo "took $((SECONDS - began)) s"
finish

#!/usr/bin/env bash
# Issue 12: a container sees only itself. From alice's container, as root
# there: no TCP connection reaches bob's container (his sshd, a server he runs
# on 0.0.0.0), the bridge's gateway (the host) or the host's published ports;
# no raw socket opens; no mount privilege. 600 connection attempts at bob's
# sshd neither count as his sessions nor lock him out.
. "$(dirname "$0")/lib.sh"
a=sbt-alice b=sbt-bob
net="$SBX_INSTANCE-net"

gcc -static -O2 -o "$T/netprobe" "$(dirname "$0")/tools/netprobe.c" || { not_ok "netprobe builds"; finish; }
for u in $a $b; do
	sbx_ssh "$u" 'cat > /tmp/netprobe && chmod 755 /tmp/netprobe && daemon >/dev/null' <"$T/netprobe"
done
check "both containers run" container_running $a
# Its networks, by name (Podman's HostConfig.NetworkMode says "bridge" for any).
networks() { container_field "$1" '.NetworkSettings.Networks | keys | join(",")'; }
expect_eq "on the instance's own network, and only there" "$net" "$(networks $a)"
# Docker's bridge keeps containers apart (icc off); Podman's netavark has no
# such option: there the fence alone does (proved below with it lifted).
icc=$(sbx_api GET "/networks/$net" | jq -r '.Options["com.docker.network.bridge.enable_icc"]')
if [ "$SBX_ENGINE_KIND" = podman ]; then
	expect_eq "Podman's network has no icc option (the fence carries the isolation)" null "$icc"
else
	expect_eq "which keeps containers apart (icc off)" false "$icc"
fi
bob_ip=$(container_field $b ".NetworkSettings.Networks[\"$net\"].IPAddress")
gw=$(container_field $b ".NetworkSettings.Networks[\"$net\"].Gateway")
bob_port=$(container_field $b '.NetworkSettings.Ports["22/tcp"][0].HostPort')
expect_match "bob has an address on it" '^[0-9.]+$' "$bob_ip"

# bob's own server on 0.0.0.0:8000; bob reaches it (so a refusal below means
# the fence, not a server that is not there).
sbx_ssh $b 'nohup /tmp/netprobe listen 8000 >/dev/null 2>&1 &'
sleep 0.5
expect_eq "bob reaches his own server on his address" open "$(sbx_ssh $b "/tmp/netprobe connect $bob_ip 8000")"

for port in 22 8000; do
	out=$(sbx_ssh $a "/tmp/netprobe connect $bob_ip $port")
	expect_ne "alice cannot connect to bob's container on $port" open "$out"
done
out=$(sbx_ssh $a "/tmp/netprobe connect $gw $bob_port")
expect_ne "alice cannot reach bob's published port through the gateway" open "$out"
out=$(sbx_ssh $a "/tmp/netprobe connect 127.0.0.1 $bob_port")
expect_ne "nor on her own loopback" open "$out"
out=$(sbx_ssh $a "/tmp/netprobe connect $gw $SBX_PORT")
expect_ne "nor the host's sshd through the gateway" open "$out"
# A host server on every address: reachable from the host, not from alice.
# "The host" is the engine's network namespace, where the bridge and its
# gateway are (the suite's dockerd has one of its own).
nsenter --net="$(sbx_engine_netns)" python3 -c 'import socket,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 22399)); s.listen(8); time.sleep(60)' &
host_srv=$!
sleep 0.5
check "the host's own server answers on 127.0.0.1" sbx_engine_net bash -c 'exec 3<>/dev/tcp/127.0.0.1/22399'
out=$(sbx_ssh $a "/tmp/netprobe connect $gw 22399")
expect_ne "alice cannot reach a host server on 0.0.0.0 through the gateway" open "$out"
kill $host_srv 2>/dev/null

# A connection opened before the fence went up (as code run by the image's
# own /bin/sh at start could) is cut by it: only replies to connections made
# *to* the container pass. Simulated by lifting alice's fence by hand, as
# root on the host, and letting a restarted watchdog put it back.
nsenter --net="$(sbx_engine_netns)" python3 -c 'import socket,threading
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 22398)); s.listen(8)
def echo(c):
    while True:
        d = c.recv(100)
        if not d: break
        c.sendall(d)
for _ in range(4):
    c, _a = s.accept(); threading.Thread(target=echo, args=(c,), daemon=True).start()
threading.Event().wait(40)' &
echo_srv=$!
apid=$(container_field $a .State.Pid)
nsenter --net=/proc/"$apid"/ns/net iptables -F OUTPUT
out=$(sbx_ssh $a "/tmp/netprobe connect $bob_ip 8000")
if [ "$SBX_ENGINE_KIND" = podman ]; then
	expect_eq "with alice's fence lifted she reaches bob's server: under Podman the fence alone kept them apart" open "$out"
else
	expect_ne "with alice's fence lifted the network itself still keeps her from bob (icc off)" open "$out"
fi
# shellcheck disable=SC2016 # the container's shell expands it
sbx_ssh $a "exec 3<>/dev/tcp/$gw/22398 || exit 1"'; echo one >&3; read -t 3 x <&3; echo "first: $x"
	sleep 8; echo two >&3 2>/dev/null; if read -t 3 y <&3 && [ "$y" = two ]; then echo "later: alive"; else echo "later: cut"; fi' >"$T/prefence" 2>&1 &
early=$!
sleep 2
wd=$(cat "$SBX_ROOT/run/watchdog.pid")
kill "$wd"
wd_gone() { ! kill -0 "$wd" 2>/dev/null; }
wait_for 10 wd_gone
sbx_start_watchdog
sbx_ssh $a true
wait $early
expect_contains "with the fence lifted, alice's connection to the gateway works" "first: one" "$(cat "$T/prefence")"
expect_contains "the fence put back cuts that connection" "later: cut" "$(cat "$T/prefence")"
kill $echo_srv 2>/dev/null

out=$(sbx_ssh $a '/tmp/netprobe raw')
expect_ne "alice cannot open a raw socket (no NET_RAW)" 0 $?
expect_contains "the kernel says why" "not permitted" "$out"
capeff=$(sbx_ssh $a "awk '/^CapEff/ {print \$2}' /proc/self/status")
for cap in 13:NET_RAW 21:SYS_ADMIN 27:MKNOD 12:NET_ADMIN 31:SETFCAP 8:SETPCAP; do
	bit=${cap%%:*}
	expect_eq "CapEff has no ${cap#*:}" 0 $(((16#$capeff >> bit) & 1))
done
check_not "mount -t proc fails" sbx_ssh $a 'mkdir -p /mnt/p && mount -t proc none /mnt/p'
check_not "unshare -m fails" sbx_ssh $a 'unshare -m true'
check_not "a remount of the bound daemon command fails" sbx_ssh $a 'mount -o remount,rw,bind /usr/local/bin/daemon'
check_not "the daemon command is read-only" sbx_ssh $a 'echo x >> /usr/local/bin/daemon'
check_not "core_pattern is not writable" sbx_ssh $a 'echo "|/tmp/x" > /proc/sys/kernel/core_pattern'
src=$(container_field $a '.Mounts[] | select(.Destination == "/usr/local/bin/daemon") | .Source')
expect_eq "alice's daemon command is her own copy" "$SBX_STATE/users/$a/bin/daemon" "$src"
out=$(sbx_ssh $a 'head -c 1048576 /dev/zero > /run/sshbox/big; echo rc=$?; rm -f /run/sshbox/big')
expect_contains "the flag dir is size-bounded" "rc=1" "$out"

# 600 connection attempts at bob's sshd from alice's container.
sbx_ssh $a "/tmp/netprobe flood $bob_ip 22 600 15" >"$T/flood" &
flood=$!
sleep 3
expect_eq "bob has no direct sessions from them" 0 \
	"$(sbx_admin list | awk -v u=$b '$1 == u {print $5}')"
start=$(date +%s%N)
expect_eq "bob logs in meanwhile" ok "$(sbx_ssh $b 'echo ok')"
echo "# bob's login during the flood: $((($(date +%s%N) - start) / 1000000)) ms"
wait $flood
expect_eq "none of alice's 600 connections was accepted" 0 "$(head -1 "$T/flood")"

for u in $a $b; do sbx_ssh "$u" 'nodaemon >/dev/null; pkill -f "netprobe listen"'; done

# Fenced after every start, whatever number the kernel gives the new
# namespace: it hands a freed namespace's inode to the next one, so the
# watchdog must not take a restarted container for the one it fenced.
fenced=0
for _ in 1 2 3 4; do
	stop_container $a
	sbx_ssh $a true
	apid=$(container_field $a .State.Pid)
	[ "$(nsenter --net=/proc/"$apid"/ns/net iptables -S OUTPUT | grep -c REJECT)" -gt 0 ] && fenced=$((fenced + 1))
done
expect_eq "alice's container is fenced after each of 4 restarts" 4 "$fenced"

# A container of an older sshbox (no spec label, the default bridge,
# SYS_ADMIN): at its next start it is saved and re-created isolated.
name=$(sbx_container $a)
old=$(sbx_api GET "/containers/$name/json" | jq '.Config + {HostConfig: (.HostConfig +
	{NetworkMode: "bridge", CapDrop: null, CapAdd: ["SYS_ADMIN"]})} | .Labels |= del(.["sshbox.spec"])
	| .HostConfig.Ulimits |= (. // [] | map(.Name |= (ascii_downcase | sub("^rlimit_"; ""))))')
# (Podman's inspect names ulimits RLIMIT_NOFILE, which its create refuses.)
stop_container $a
remove_container $a
curl -sS --max-time 60 --unix-socket "$SBX_ENGINE" -H 'Content-Type: application/json' -d "$old" \
	-X POST "http://localhost/v1.41/containers/create?name=$name" >/dev/null
mkdir "$T/etc" && echo kept >"$T/etc/before-upgrade"
tar -C "$T/etc" -c before-upgrade | curl -sS --max-time 60 --unix-socket "$SBX_ENGINE" -X PUT \
	-H 'Content-Type: application/x-tar' --data-binary @- \
	"http://localhost/v1.41/containers/$name/archive?path=/etc"
expect_eq "an old-spec container stands in for alice's" null "$(container_field $a '.Config.Labels["sshbox.spec"]')"
expect_eq "alice's next login works, with what was in the old container" kept "$(sbx_ssh $a 'cat /etc/before-upgrade')"
expect_eq "her container was re-created with the current spec" 5 "$(container_field $a '.Config.Labels["sshbox.spec"]')"
expect_eq "on the instance network" "$net" "$(networks $a)"
capeff=$(sbx_ssh $a "awk '/^CapEff/ {print \$2}' /proc/self/status")
expect_eq "without SYS_ADMIN" 0 $(((16#$capeff >> 21) & 1))
check "the watchdog said so" grep -q "user \"$a\": container .* of spec 0 saved as .* and re-created with spec 5" "$SBX_ROOT/watchdog.log"
finish

#!/usr/bin/env bash
# Issue 2: the shim pins the container's host key and refuses any other,
# offering no key; its path never uses the published host port.
. "$(dirname "$0")/lib.sh"
u=sbt-bob
etc=$SBX_STATE/users/$u/etc
cid_restart() { sbx_api POST "/containers/$(sbx_container $u)/restart?t=1" >/dev/null; }

check "login works before" sbx_ssh $u true
# Swap the key the container's sshd presents; the pin (the .pub) stays.
cp -p "$etc/ssh_host_ed25519_key" "$T/saved_key"
ssh-keygen -q -t ed25519 -N '' -f "$T/other"
install -m 600 "$T/other" "$etc/ssh_host_ed25519_key"
cid_restart
logs() { sbx_api GET "/containers/$(sbx_container $u)/logs?stderr=1&stdout=1" | tr -d '\0'; }
sshd_listening() { logs | tail -1 | grep -q 'listening on ::'; }
wait_for 10 sshd_listening
before=$(logs | wc -l)
out=$(sbx_ssh $u 'echo SHOULD-NOT-RUN' 2>&1)
rc=$?
expect_ne "login with a swapped host key fails" 0 $rc
expect_match "with a clear error about the host key" "host key" "$out"
check_not "the command did not run" grep -q SHOULD-NOT-RUN <<<"$out"
sleep 0.5
new=$(logs | tail -n +$((before + 1)))
check "the impostor sshd saw the connection end before authentication" grep -q 'preauth' <<<"$new"
check_not "and no key was offered to it" grep -qiE 'publickey|Accepted|Failed' <<<"$new"
install -m 600 "$T/saved_key" "$etc/ssh_host_ed25519_key"
cid_restart
check "login works again with the right key" sbx_ssh $u true

# The shim's path does not use the published port: kill its docker-proxy.
port=$(container_field $u '.NetworkSettings.Ports["22/tcp"][0].HostPort')
pkill -P "$(sbx_engine_pid)" -f "docker-proxy .*-host-port $port( |$)"
direct() { sbx_engine_net ssh "${sbx_ssh_opts[@]}" -o ConnectTimeout=3 -i "$SBX_KEYS/$u" -p "$port" root@127.0.0.1 true; }
check_not "the published port is dead" direct
out=$(sbx_ssh $u 'echo via-netns')
expect_eq "the login still works without it" via-netns "$out"
cid_restart # brings the proxy back for later tests
finish

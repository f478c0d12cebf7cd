#!/usr/bin/env bash
# Issue 5: host verbs. commit -> remove -> login keeps both the committed
# filesystem and the home volume; remove/stop refuse with live sessions
# unless --force; port and freeport; hostkey; help.
. "$(dirname "$0")/lib.sh"
u=sbt-bob

sbx_ssh $u 'echo from-image > /opt/marker; echo from-home > /root/home-marker'
out=$(sbx_ssh $u commit)
expect_eq "commit exits 0" 0 $?
expect_match "commit says what it made" "committed your container as $SBX_INSTANCE-user:$u" "$out"
out=$(sbx_ssh $u remove)
expect_eq "remove with no other session works" 0 $?
expect_eq "the container is gone" 0 "$(container_count $u)"
out=$(sbx_ssh $u 'cat /opt/marker /root/home-marker')
expect_eq "after remove the next login starts from the committed image, home kept" \
	"from-image
from-home" "$out"
# (Podman names it docker.io/library/NAME.)
expect_eq "the new container runs the committed image" "$SBX_INSTANCE-user:$u" \
	"$(container_field $u '.Config.Image | sub("^(docker.io/library|localhost)/"; "")')"
check "the flags were not baked into the image" sbx_ssh $u 'test ! -e /run/sshbox/daemon'

open_session live $u
check "a session is live" wait_for 20 sessions_are $u 1
out=$(sbx_ssh $u remove 2>&1)
rc=$?
expect_eq "remove with another live session refuses" 1 $rc
expect_match "and says why" "other session.* live.*--force" "$out"
out=$(sbx_ssh $u stop 2>&1)
expect_eq "stop refuses too" 1 $?
check "the container still runs" container_running $u
sbx_ssh $u remove --force
expect_eq "remove --force removes" 0 "$(container_count $u)"
close_session live 2>/dev/null

out=$(sbx_ssh $u port 2>&1)
expect_eq "port with no running container exits 1" 1 $?
expect_match "and says it is not running" "not running" "$out"
sbx_ssh $u true
port=$(sbx_ssh $u port 2>/dev/null)
expect_eq "port prints the published port" \
	"$(container_field $u '.NetworkSettings.Ports["22/tcp"][0].HostPort')" "$port"
out=$(sbx_ssh $u stop)
expect_eq "stop with no other session works" 0 $?
check_not "and the container is stopped" container_running $u
out=$(sbx_ssh $u port 2>&1)
expect_eq "port while stopped exits 1" 1 $?
fp=$(sbx_ssh $u freeport)
expect_match "freeport prints a port" '^[0-9]+$' "$fp"
check "a test can bind the free port" python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', $fp))"
sbx_ssh $u true
line=$(sbx_ssh $u hostkey)
expect_eq "hostkey prints a known_hosts line with the pinned key" \
	"[127.0.0.1]:$(sbx_ssh $u port) $(cut -d' ' -f1-2 "$SBX_STATE/users/$u/etc/ssh_host_ed25519_key.pub")" "$line"
echo "$line" >"$T/known_hosts"
out=$(sbx_engine_net ssh -F /dev/null -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$T/known_hosts" -o BatchMode=yes \
	-o IdentitiesOnly=yes -i "$SBX_KEYS/$u" -p "$(sbx_ssh $u port)" root@127.0.0.1 'echo pinned')
expect_eq "direct ssh with that known_hosts line verifies the key" pinned "$out"
out=$(sbx_ssh $u help)
expect_match "help lists the verbs" "commit.*stop.*remove.*port" "$out"
out=$(sbx_ssh $u stop --bogus 2>&1)
expect_eq "a bad verb option exits 1" 1 $?
expect_match "naming the option" '"--bogus"' "$out"
expect_eq "a non-verb runs in the container" "port-like" "$(sbx_ssh $u 'echo port-like')"
# Leave the user as other tests expect: no committed image.
remove_container $u
sbx_api DELETE "/images/$SBX_INSTANCE-user:$u?force=1" >/dev/null
finish

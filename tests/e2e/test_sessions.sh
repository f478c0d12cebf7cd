#!/usr/bin/env bash
# Issue 3: every kind of session works through the shim: sshfs, scp (SFTP and
# -O), sftp batch, agent forwarding, X11, window resize, signals, LANG.
. "$(dirname "$0")/lib.sh"
u=sbt-alice
key=$SBX_KEYS/$u
direct_port() { sbx_ssh $u port; }

# 1. sshfs
mkdir "$T/mnt"
sshfs -p "$SBX_PORT" -o IdentityFile="$key",IdentitiesOnly=yes,StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null,BatchMode=yes,LogLevel=ERROR $u@127.0.0.1:/root "$T/mnt"
check "sshfs mounts the container's /root" mountpoint -q "$T/mnt"
head -c $((32 << 20)) /dev/urandom >"$T/big"
want=$(sha256sum <"$T/big" | cut -d' ' -f1)
cp "$T/big" "$T/mnt/big.bin"
expect_eq "32 MiB written and read back through sshfs" "$want" "$(sha256sum <"$T/mnt/big.bin" | cut -d' ' -f1)"
expect_eq "the file is there inside the container" "$want" "$(sbx_ssh $u 'sha256sum /root/big.bin' | cut -d' ' -f1)"
mv "$T/mnt/big.bin" "$T/mnt/renamed.bin"
check "rename is visible inside" sbx_ssh $u 'test -f /root/renamed.bin && test ! -e /root/big.bin'
check "listing shows it" bash -c "ls '$T/mnt' | grep -qx renamed.bin"
rm "$T/mnt/renamed.bin"
check "delete is visible inside" sbx_ssh $u 'test ! -e /root/renamed.bin'
check "unmount is clean" fusermount3 -u "$T/mnt"

# 2. scp (SFTP protocol and the legacy -O), sftp batch
scpo=(-P "$SBX_PORT" -i "$key" -o IdentitiesOnly=yes -o StrictHostKeyChecking=no
	-o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR)
for mode in "" -O; do
	rm -f "$T/back"
	scp $mode "${scpo[@]}" "$T/big" $u@127.0.0.1:/root/scp.bin
	expect_eq "scp $mode upload" "$want" "$(sbx_ssh $u 'sha256sum /root/scp.bin' | cut -d' ' -f1)"
	scp $mode "${scpo[@]}" $u@127.0.0.1:/root/scp.bin "$T/back"
	expect_eq "scp $mode download" "$want" "$(sha256sum <"$T/back" | cut -d' ' -f1)"
done
rm -f "$T/back"
cat >"$T/batch" <<B
put $T/big /root/sftp.bin
get /root/sftp.bin $T/back
ls /root
rm /root/sftp.bin
B
out=$(sftp -b "$T/batch" "${scpo[@]}" $u@127.0.0.1 2>&1)
expect_eq "sftp batch put/get/ls/rm exits 0" 0 $?
expect_eq "sftp round trip is byte-identical" "$want" "$(sha256sum <"$T/back" | cut -d' ' -f1)"
expect_match "sftp ls lists the file" "sftp.bin" "$out"
check "sftp rm removed it" sbx_ssh $u 'test ! -e /root/sftp.bin'
sbx_ssh $u 'rm -f /root/scp.bin'

# 3. agent forwarding
eval "$(ssh-agent -s)" >/dev/null
ssh-add -q "$key"
fp=$(ssh-add -l | awk '{print $2}')
out=$(ssh "${sbx_ssh_opts[@]}" -A -i "$key" -p "$SBX_PORT" $u@127.0.0.1 'ssh-add -l')
expect_contains "ssh -A: ssh-add -l inside lists the client's key" "$fp" "$out"
out=$(ssh "${sbx_ssh_opts[@]}" -A -i "$key" -p "$SBX_PORT" $u@127.0.0.1 \
	'ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR root@127.0.0.1 echo agent-auth-ok')
expect_eq "an ssh inside the container authenticates with the forwarded agent" agent-auth-ok "$out"
out=$(ssh "${sbx_ssh_opts[@]}" -i "$key" -p "$SBX_PORT" $u@127.0.0.1 'ssh-add -l 2>&1; true')
expect_match "without -A there is no agent inside" "Could not open|no agent|Error connecting" "$out"
ssh-agent -k >/dev/null

# 4. X11
Xvfb :57 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
sleep 1
out=$(DISPLAY=:57 ssh "${sbx_ssh_opts[@]}" -Y -i "$key" -p "$SBX_PORT" $u@127.0.0.1 'echo $DISPLAY; xdpyinfo | grep -m1 dimensions' 2>&1)
expect_match "ssh -Y: an X client in the container reaches the user's display" "dimensions: +[0-9]+x[0-9]+" "$out"
kill $xvfb 2>/dev/null
wait $xvfb 2>/dev/null

# 5. window resize in a tmux-driven pty session
pty_resize_check "" $u "$key"
tmux send-keys -t "$pty_s" 'exit' Enter
tmux kill-session -t "$pty_s" 2>/dev/null

# 6. signals and hang-ups
sbx_ssh $u 'kill -TERM $$' >"$T/sig.out" 2>&1
shim_rc=$?
sbx_engine_net ssh "${sbx_ssh_opts[@]}" -i "$key" -p "$(direct_port)" root@127.0.0.1 'kill -TERM $$' >"$T/sigd.out" 2>&1
direct_rc=$?
expect_eq "a signal-killed command ends as over a direct ssh" "$direct_rc" "$shim_rc"
expect_eq "the client reports the same" "$(cat "$T/sigd.out")" "$(cat "$T/sig.out")"
ssh "${sbx_ssh_opts[@]}" -i "$key" -p "$SBX_PORT" $u@127.0.0.1 'sleep 1000' &
client=$!
sleeping() { sbx_ssh "$u" 'pgrep -x sleep' >/dev/null; }
check "the long command runs" wait_for 10 sleeping
kill -9 $client
wait $client 2>/dev/null
no_sleep() { ! sleeping; }
check "killing the client leaves no sleep in the container" wait_for 10 no_sleep
no_shim() { [ "$(pgrep -u "$u" -f sshbox-shim | wc -l)" = 0 ]; }
check "and no shim on the host" wait_for 10 no_shim

# 7. LANG
out=$(LANG=C.UTF-8 ssh "${sbx_ssh_opts[@]}" -o SendEnv=LANG -i "$key" -p "$SBX_PORT" $u@127.0.0.1 'echo $LANG')
expect_eq "LANG reaches the container" C.UTF-8 "$out"
# shellcheck disable=SC2016 # the remote shell expands it
out=$(sbx_ssh $u 'echo $SSHBOX_SESSION')
expect_match "the session id is visible inside" '^[0-9a-f-]{36}$' "$out"
check "and in the watchdog's log" grep -q "session $out" "$SBX_ROOT/watchdog.log"
finish

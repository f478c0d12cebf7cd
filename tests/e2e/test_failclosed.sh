#!/usr/bin/env bash
# Issue 12: fail closed. An sshbox account's login shell is the shim, so an
# account taken out of the group, or an sshd that lost the sshbox drop-in,
# lands in the container or is refused: never a host shell.
. "$(dirname "$0")/lib.sh"
u=sbt-bob
host=$(hostname)
expect_eq "the account's login shell is the shim" "$SBX_BIN/sshbox-shim" "$(getent passwd $u | cut -d: -f7)"
box=$(sbx_ssh $u hostname)
expect_ne "the normal login lands in the container" "$host" "$box"

# never_host DESCRIPTION OUTPUT: no sign of the host in what came back.
never_host() {
	if [[ $2 == *"HOST:$host"* ]]; then not_ok "$1: a host shell answered ($2)"; else ok "$1"; fi
}
# shellcheck disable=SC2016 # expanded by the shell at the other end
probe='echo HOST:$(hostname)'

# 1. Out of the group: sshd's Match Group no longer applies.
gpasswd -d $u "$SBX_GROUP" >/dev/null
out=$(sbx_ssh $u "$probe" 2>&1)
never_host "out of the group, a command never runs on the host" "$out"
out=$(printf '%s\n' "$probe" | sbx_ssh $u 2>&1)
never_host "nor a shell" "$out"
out=$(sbx_ssh $u -tt "$probe" 2>&1 </dev/null)
never_host "nor a command with a pty" "$out"
expect_contains "the shim refuses it in one line" "sshd did not send this sshbox account into its container" "$out"
gpasswd -a $u "$SBX_GROUP" >/dev/null
expect_eq "back in the group, the login lands in the container again" "$box" "$(sbx_ssh $u hostname)"

# 2. An sshd without the drop-in (same host keys, another port).
port=$((SBX_PORT + 4))
grep -v '^Include ' "$SBX_ROOT/sshd/sshd_config" | sed -e "s/^Port .*/Port $port/" \
	-e "s|^PidFile .*|PidFile $T/sshd.pid|" >"$T/sshd_config"
/usr/sbin/sshd -f "$T/sshd_config" -E "$T/sshd.log"
bare() { ssh "${sbx_ssh_opts[@]}" -i "$SBX_KEYS/$u" -p "$port" "$u@127.0.0.1" "$@"; }
out=$(bare "$probe" 2>&1)
never_host "without the drop-in, a command never runs on the host" "$out"
out=$(printf '%s\n' "$probe" | bare 2>&1)
never_host "nor a shell" "$out"
# A host sftp-server would list the host's /home (it holds sbt-plain's).
out=$(echo 'ls /home' | sftp -b - -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o IdentitiesOnly=yes -o BatchMode=yes -i "$SBX_KEYS/$u" -P "$port" "$u@127.0.0.1" 2>&1)
if [[ $out == *"$SBX_PLAIN"* ]]; then not_ok "nor the sftp subsystem serves host files ($out)"; else ok "nor the sftp subsystem serves host files"; fi
# The account's keys carry "restrict" (plus pty, agent, X11): even this
# sshd, which allows forwarding, opens no forward for them.
out=$(bare -o ExitOnForwardFailure=yes -N -R 22397:127.0.0.1:22 2>&1)
expect_contains "a remote forward is refused for the key" "forwarding failed" "$out"
out=$(timeout 10 ssh "${sbx_ssh_opts[@]}" -i "$SBX_KEYS/$u" -p "$port" -W "127.0.0.1:$SBX_PORT" "$u@127.0.0.1" </dev/null 2>&1)
if [[ $out == *SSH-2.0* ]]; then not_ok "-W to a host port got a banner ($out)"; else ok "-W to a host port gets nothing"; fi
expect_match "the key's options say so" '^restrict,pty,agent-forwarding,X11-forwarding ssh-' "$(head -1 "/home/$u/.ssh/authorized_keys")"
kill "$(cat "$T/sshd.pid")"
finish

#!/usr/bin/env bash
# "The old way", the reference row of bench/run.sh: the ForceCommand the
# bash tool before sshbox used. The account is in the docker group; the
# docker CLI finds the container's published sshd port, then ssh goes in as
# root with agent forwarding, the original command through a host shell.
#   ForceCommand /path/oldway.sh CONTAINER
port=$(/usr/bin/docker inspect -f '{{(index (index .NetworkSettings.Ports "22/tcp") 0).HostPort}}' "$1") || exit 255
opts=(-A -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -p "$port")
if [ -n "${SSH_ORIGINAL_COMMAND:-}" ]; then
	exec ssh "${opts[@]}" root@localhost "$SSH_ORIGINAL_COMMAND"
fi
exec ssh -t "${opts[@]}" root@localhost

#!/usr/bin/env bash
# Issue 14 with issue 13's jump path: in swarm mode no port is published, so
# the user's own OpenSSH client reaches the container's sshd through any
# login node's "jump" verb (the block "config" prints). Through n1, into a
# container on n3: a shell, an -L forward to a server in the container, the
# pinned key (a swapped one is refused), and the jump session counts for the
# home node's idle stop.
. "$(dirname "$0")/swarm-lib.sh"
began=$SECONDS
J=sbt-sw-jack
pids=()
cleanup() {
	[ ${#pids[@]} = 0 ] || kill "${pids[@]}" 2>/dev/null
	sw_cleanup "$J"
	rm -rf "$T"
}
trap cleanup EXIT
sw_cleanup $J
check "jack is provisioned with home n3" sw_user $J n3
hub() { nsenter --net=/run/netns/sbxsw-hub "$@"; }

sw_ssh n1 $J config --ssh-config >"$T/cfg" 2>&1
sw_ssh n1 $J config --known-hosts >"$T/kh" 2>&1
alias=$(awk '$1 == "Host" {print $2; exit}' "$T/cfg")
check "config through n1 prints a block ($alias)" test -n "$alias"
check "its ProxyCommand goes through n1's sshd" grep -q "ProxyCommand ssh .*$(sbx_swarm_addr n1) jump" "$T/cfg"
pin=$(sw_service $J | jq -r '.Spec.Labels["sshbox.hostkey"]' | cut -d' ' -f1-2)
check "the known_hosts line pins the key of the swarm's record" grep -qF "$pin" "$T/kh"
sed -i "s|ProxyCommand ssh |ProxyCommand ssh ${sbx_ssh_opts[*]} -i $SW_KEYS/$J |" "$T/cfg"
boxcmd=(ssh -F "$T/cfg" -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes -i "$SW_KEYS/$J"
	-o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=30)
box() { hub "${boxcmd[@]}" -o UserKnownHostsFile="$T/kh" "$@"; }

# shellcheck disable=SC2016 # the container's shell expands it
out=$(box "$alias" 'echo $(id -u) $(hostname)' 2>&1)
expect_eq "ssh $alias through n1 lands as root in jack's container" "0 $J" "$out"
expect_eq "which runs on n3" n3 "$(sw_task_node $J)"

# -L to a server on the container's 127.0.0.1:8080.
token=swarm-jump-$RANDOM
box "$alias" 'cat >/root/http.pl' <<'PERL'
use IO::Socket::INET;
my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 8080, Listen => 4, ReuseAddr => 1) or die;
while (my $c = $l->accept) { while (my $x = <$c>) { last if $x =~ /^\r?$/ } print $c "HTTP/1.0 200 OK\r\n\r\n$ARGV[0] from " . `hostname`; close $c }
PERL
box "$alias" "nohup perl /root/http.pl $token >/dev/null 2>&1 &"
lport=$((20000 + RANDOM % 10000))
# nsenter execs ssh: $! is the client itself (not a shell function's subshell).
nsenter --net=/run/netns/sbxsw-hub "${boxcmd[@]}" -o UserKnownHostsFile="$T/kh" -N \
	-o ExitOnForwardFailure=yes -L "$lport:127.0.0.1:8080" "$alias" </dev/null >/dev/null 2>&1 &
pids+=($!)
fetch() { hub curl -sS --max-time 10 "http://127.0.0.1:$lport/" 2>/dev/null; }
fetched() { [ "$(fetch)" = "$token from $J" ]; }
check "-L through n1 fetches the page of jack's container on n3" wait_for 20 fetched

# The -L client is a session of its own: past grace the container stays.
sleep 5
expect_eq "the jump session keeps the container past grace (replicas)" 1 "$(sw_replicas $J)"
kill "${pids[@]}" 2>/dev/null
check "with the jump session closed, the home node stops it after grace" wait_for 20 sw_no_task $J

# A swapped container key is refused by the user's own client.
ssh-keygen -q -t ed25519 -N '' -f "$T/other"
sed "s|$pin|$(cut -d' ' -f1-2 "$T/other.pub")|" "$T/kh" >"$T/kh.bad"
out=$(hub "${boxcmd[@]}" -o UserKnownHostsFile="$T/kh.bad" "$alias" true 2>&1)
expect_ne "a known_hosts line with another key is refused" 0 $?
expect_contains "by the client's host key check" "REMOTE HOST IDENTIFICATION HAS CHANGED" "$out"

echo "took $((SECONDS - began)) s"
finish

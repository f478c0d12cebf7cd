#!/usr/bin/env bash
# Issue 13: the "jump" verb joins the user's own OpenSSH client to their
# container's sshd through the host's sshd (ProxyCommand), with the ssh
# config block that "config" prints: -L/-R/-D and unix-socket forwards, the
# IDE flow (exec + direct-tcpip in one connection), rsync and git land in the
# container; a changed container host key is refused; a jump session counts
# for the idle logic, and a SIGKILLed client ends it.
. "$(dirname "$0")/lib.sh"
u=sbt-alice
alias=$u-box
g=$(grace)
sbx_ssh $u nodaemon >/dev/null # the idle checks below need a container that may stop
key=$SBX_KEYS/$u
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
stopped() { ! container_running "$u"; }
freeport() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
listening() { ss -Hltn "sport = :$1" | grep -q .; } # on the host (the test's client side)
sha() { sha256sum | cut -c1-64; }

# A fresh container, so it runs with the current sshd options.
remove_container $u 2>/dev/null

# The printed config, used as printed. The only change: the outer ssh (the
# ProxyCommand) gets the test bed's key and options, as a user's own
# ~/.ssh/config for the host would give it.
sbx_ssh $u config >"$T/full" 2>"$T/full.err"
check "config prints a block" grep -q "^Host $alias\$" "$T/full"
check "with the ProxyCommand through the jump verb" \
	grep -qE "^	ProxyCommand ssh .*-p $SBX_PORT -l $u 127\.0\.0\.1 jump\$" "$T/full"
check "with a HostKeyAlias and strict checking" grep -q "^	StrictHostKeyChecking yes" "$T/full"
sbx_ssh $u config --ssh-config >"$T/cfg"
sbx_ssh $u config --known-hosts >"$T/kh"
hostkey=$(cut -d' ' -f1-2 "$SBX_STATE/users/$u/etc/ssh_host_ed25519_key.pub")
expect_eq "the known_hosts line pins the container's key under the alias" \
	"$(awk '/HostKeyAlias/ {print $2}' "$T/cfg") $hostkey" "$(cat "$T/kh")"
out=$(sbx_ssh $u config --port 0 2>&1)
expect_eq "a bad --port is refused with exit 2" 2 $?
expect_contains "naming the value" '--port "0"' "$out"
out=$(sbx_ssh $u config --name 'a%b' 2>&1)
expect_contains "a bad --name is refused, naming it" '--name "a%b"' "$out"
sed -i "s|ProxyCommand ssh |ProxyCommand ssh ${sbx_ssh_opts[*]} -i $key |" "$T/cfg"
boxcmd=(ssh -F "$T/cfg" -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes -i "$key"
	-o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=30)
kh=$T/kh # stands for the user's ~/.ssh/known_hosts
box() { "${boxcmd[@]}" -o UserKnownHostsFile="$kh" "$@"; }
bg() { # a background client (its pid in $!), killed at the end
	"${boxcmd[@]}" -o UserKnownHostsFile="$kh" "$@" &
	pids+=($!)
}

# shellcheck disable=SC2016 # the container's shell expands it
out=$(box "$alias" 'echo $(id -u) $(hostname)')
expect_eq "ssh $alias lands as root in the container" "0 ${u#_}" "$out"
expect_eq "the container's sshd (the bundle's) allows TCP and stream-local forwarding" \
	"allowtcpforwarding yes allowstreamlocalforwarding yes" \
	"$(box "$alias" '/.sshbox/sshd/sshd -T -f /.sshbox/sshd/sshd_config | grep -E "^allow(tcp|streamlocal)forwarding " | tr "\n" " " | sed "s/ $//"')"
out=$(ssh -tt "${sbx_ssh_opts[@]}" -i "$key" -p "$SBX_PORT" $u@127.0.0.1 jump 2>&1 </dev/null)
expect_contains "jump with a terminal is refused with a hint" "ProxyCommand" "$out"
out=$(sbx_ssh $u jump extra 2>&1)
expect_contains "jump takes no arguments" 'no arguments (got "extra")' "$out"

# A holder session through the jump path keeps the container up meanwhile.
bg -N $alias
holder=$!
check "a jump session is counted" wait_for 20 sessions_are $u 1

# Tools for the rsync and git rows: the host's own rsync and git (same
# Debian release as the base image), sent in through the jump path itself.
tools=(/usr/bin/rsync /usr/bin/git /usr/bin/git-upload-pack /usr/bin/git-receive-pack /usr/lib/git-core/git)
mapfile -t libs < <(ldd /usr/bin/rsync /usr/bin/git | awk '/=> \// {print $3}' | sed 's|^/lib/|/usr/lib/|' | sort -u)
tar -chf - "${tools[@]}" "${libs[@]}" 2>/dev/null | box $alias 'tar -x --skip-old-files -C / 2>/dev/null; true'
check "rsync and git are in the container" box $alias 'rsync --version >/dev/null && git --version >/dev/null'

# 1. -L to a web server on the container's 127.0.0.1:8080.
token=jump-$RANDOM$RANDOM
cat >"$T/http.pl" <<'PERL'
use IO::Socket::INET;
my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $ARGV[0], Listen => 16, ReuseAddr => 1) or die "listen: $!";
while (my $c = $l->accept) {
	while (my $line = <$c>) { last if $line =~ /^\r?$/ }
	my $body = "$ARGV[1] from " . `hostname`;
	print $c "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " . length($body) . "\r\n\r\n$body";
	close $c;
}
PERL
cat >"$T/echo.pl" <<'PERL'
# Echo server, one connection: a TCP port chosen by the kernel (printed the
# way VS Code's server does), or a unix socket path.
use IO::Socket::INET; use IO::Socket::UNIX;
$| = 1;
my $l;
if ($ARGV[0] =~ m{^/}) { unlink $ARGV[0]; $l = IO::Socket::UNIX->new(Local => $ARGV[0], Listen => 1) or die "listen: $!"; print "listeningOn==$ARGV[0]==\n" }
else { $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 1) or die "listen: $!"; print "listeningOn==", $l->sockport, "==\n" }
my $c = $l->accept; my $buf;
while (my $n = sysread($c, $buf, 65536)) { my $o = 0; while ($o < $n) { $o += syswrite($c, $buf, $n - $o, $o) } }
shutdown($c, 1); close $c;
PERL
box $alias 'mkdir -p /root/jumptest && cat > /root/jumptest/http.pl' <"$T/http.pl"
box $alias 'cat > /root/jumptest/echo.pl' <"$T/echo.pl"
box $alias "nohup perl /root/jumptest/http.pl 8080 $token >/dev/null 2>&1 &"
lport=$(freeport)
bg -N -o ExitOnForwardFailure=yes -L "$lport:127.0.0.1:8080" $alias
check "ssh -L $alias listens on the client side" wait_for 20 listening "$lport"
out=$(curl -sS --max-time 20 "http://127.0.0.1:$lport/")
expect_eq "-L fetches the container's page" "$token from ${u#_}" "$out"
check_not "nothing listens on the host's 8080" listening 8080
# The normal path still refuses host-side forwards (sshd's refusal).
nport=$(freeport)
info_opts=("${sbx_ssh_opts[@]/LogLevel=ERROR/LogLevel=INFO}")
ssh "${info_opts[@]}" -i "$key" -p "$SBX_PORT" -L "$nport:127.0.0.1:8080" \
	$u@127.0.0.1 'sleep 8' >/dev/null 2>"$T/normal.err" &
normal=$!
wait_for 20 listening "$nport"
check_not "-L on the normal path fetches nothing" curl -sS --max-time 5 "http://127.0.0.1:$nport/" 2>/dev/null
wait $normal
expect_contains "sshd's refusal is what the troubleshooting doc quotes" "administratively prohibited" "$(cat "$T/normal.err")"

# 2. -R: a listener in the container reaches a server on the client side.
mkdir -p "$T/www" && echo "client-side $token" >"$T/www/f"
hport=$(freeport)
(cd "$T/www" && exec python3 -m http.server --bind 127.0.0.1 "$hport") >/dev/null 2>&1 &
pids+=($!)
wait_for 20 listening "$hport"
rport=$((20000 + RANDOM % 20000))
bg -N -o ExitOnForwardFailure=yes -R "127.0.0.1:$rport:127.0.0.1:$hport" $alias
in_box_listening() { box "$alias" "exec 3<>/dev/tcp/127.0.0.1/$rport" 2>/dev/null; }
check "-R listens inside the container" wait_for 20 in_box_listening
check_not "and not on the host" listening "$rport"
# shellcheck disable=SC2016 # the container's bash expands it
out=$(box $alias "exec 3<>/dev/tcp/127.0.0.1/$rport; printf 'GET /f HTTP/1.0\r\n\r\n' >&3; cat <&3" | tail -1)
expect_eq "-R reaches the client's server from the container" "client-side $token" "$out"
# -D: a SOCKS proxy whose connections start in the container.
dport=$(freeport)
bg -N -o ExitOnForwardFailure=yes -D "127.0.0.1:$dport" $alias
check "-D listens on the client side" wait_for 20 listening "$dport"
out=$(curl -sS --max-time 20 --socks5-hostname "127.0.0.1:$dport" "http://localhost:8080/")
expect_eq "-D: curl --socks5-hostname reaches the container's 127.0.0.1:8080" "$token from ${u#_}" "$out"

# 3. The IDE flow, as VS Code Remote-SSH does it: "ssh -T -D PORT host bash",
# a script on stdin starts a server on a random port and prints it; then a
# direct-tcpip channel of the same connection carries 16 MiB each way.
cat >"$T/client.py" <<'PY'
import hashlib, socket, sys, threading
mode, where, path = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(path, "rb").read()
if mode == "unix":
    s = socket.socket(socket.AF_UNIX)
    s.connect(where)
else:  # socks: PROXYPORT:TARGETPORT, target on the far side's 127.0.0.1
    proxy, target = (int(x) for x in where.split(":"))
    s = socket.create_connection(("127.0.0.1", proxy))
    s.sendall(b"\x05\x01\x00")
    assert s.recv(2) == b"\x05\x00"
    s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + target.to_bytes(2, "big"))
    r = b""
    while len(r) < 10:
        r += s.recv(10 - len(r))
    assert r[1] == 0, "socks refused: %d" % r[1]
s.settimeout(120)
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send)
t.start()
h, n = hashlib.sha256(), 0
while True:
    b = s.recv(1 << 16)
    if not b:
        break
    h.update(b)
    n += len(b)
t.join()
print(h.hexdigest(), n)
PY
head -c $((16 << 20)) /dev/urandom >"$T/16m"
want="$(sha <"$T/16m") $((16 << 20))"
ideport=$(freeport)
mkfifo "$T/ide.in"
"${boxcmd[@]}" -o UserKnownHostsFile="$kh" -T -D "127.0.0.1:$ideport" $alias bash <"$T/ide.in" >"$T/ide.out" 2>&1 &
ide=$!
pids+=("$ide")
exec {idein}>"$T/ide.in"
echo 'perl /root/jumptest/echo.pl 0 </dev/null' >&$idein
printed() { grep -q '^listeningOn==[0-9]*==$' "$T/ide.out"; }
check "the script's server printed its port" wait_for 20 printed
sport=$(sed -n 's/^listeningOn==\([0-9]*\)==$/\1/p' "$T/ide.out")
check "the client's SOCKS port is up" wait_for 10 listening "$ideport"
out=$(timeout 120 python3 "$T/client.py" socks "$ideport:$sport" "$T/16m")
expect_eq "16 MiB through a direct-tcpip channel of the same connection, byte-identical both ways" "$want" "$out"
exec {idein}>&-
wait $ide
expect_eq "the IDE connection ends cleanly" 0 $?
# Unix-socket forward: -L /local.sock:/remote.sock.
box $alias 'nohup perl /root/jumptest/echo.pl /tmp/jump-echo.sock >/tmp/jump-echo.out 2>&1 &'
remote_sock() { box "$alias" 'test -S /tmp/jump-echo.sock'; }
wait_for 10 remote_sock
bg -N -o ExitOnForwardFailure=yes -L "$T/local.sock:/tmp/jump-echo.sock" $alias
local_sock() { [ -S "$T/local.sock" ]; }
check "-L /local.sock:/remote.sock listens" wait_for 20 local_sock
out=$(timeout 120 python3 "$T/client.py" unix "$T/local.sock" "$T/16m")
expect_eq "16 MiB through a unix-socket forward, byte-identical both ways" "$want" "$out"

# Multiplexing over one jump connection, and the proof that the relay moves
# the bytes with splice(2), never reading or writing them itself.
bg -N -o ControlMaster=yes -o ControlPath="$T/cm" $alias
master=$!
cm_up() { [ -S "$T/cm" ]; }
check "a ControlMaster connection through jump" wait_for 20 cm_up
shimpid=$(pgrep -n -u $u -f sshbox-shim)
strace -qq -e trace=read,write,splice -o "$T/strace" -p "$shimpid" &
tracer=$!
sleep 1
got=$(box -o ControlPath="$T/cm" $alias 'head -c 33554432 /dev/zero' | wc -c)
expect_eq "a multiplexed session carries 32 MiB" 33554432 "$got"
kill "$tracer"
wait "$tracer"
spliced=$(awk -F' = ' '/^splice\(/ && $NF + 0 > 0 {s += $NF} END {print s + 0}' "$T/strace")
copied=$(awk -F' = ' '/^(read|write)\(/ && $NF + 0 > 0 {s += $NF} END {print s + 0}' "$T/strace")
check "the relay spliced them ($spliced bytes in and out of its pipes)" test "$spliced" -ge $((32 << 20))
check "and read or wrote almost nothing itself ($copied bytes)" test "$copied" -lt 65536
kill "$master"

# 4. rsync -a of 1,000 files both ways; git clone and push.
mkdir -p "$T/tree"
for d in $(seq 1 10); do
	mkdir -p "$T/tree/d$d"
	for f in $(seq 1 100); do echo "$d/$f $token" >"$T/tree/d$d/f$f"; done
done
touch -d '2001-02-03 04:05:06' "$T/tree/d1/f1"
box $alias 'rm -rf /root/jumptree /root/jumpback'
rsh="${boxcmd[*]} -o UserKnownHostsFile=$kh"
check "rsync -a up" rsync -a -e "$rsh" "$T/tree/" "$alias:/root/jumptree/"
expect_eq "1,000 files arrived" 1000 "$(box $alias 'find /root/jumptree -type f | wc -l')"
expect_eq "with their times" "$(stat -c %Y "$T/tree/d1/f1")" "$(box $alias 'stat -c %Y /root/jumptree/d1/f1')"
box $alias 'echo changed > /root/jumptree/d5/f50'
check "rsync -a down" rsync -a -e "$rsh" "$alias:/root/jumptree/" "$T/back/"
echo changed >"$T/tree/d5/f50"
check "the tree came back identical" diff -r "$T/tree" "$T/back"
box $alias 'rm -rf /root/jump.git && git init -q --bare /root/jump.git'
git init -q "$T/repo"
(cd "$T/repo" && echo "$token" >file && git add file && git -c user.name=t -c user.email=t@t commit -qm one)
export GIT_SSH_COMMAND=$rsh
check "git push over ssh into the container" git -C "$T/repo" push -q "$alias:/root/jump.git" HEAD:refs/heads/main
expect_eq "the container's repo has the commit" "$(git -C "$T/repo" rev-parse HEAD)" \
	"$(box $alias 'git --git-dir=/root/jump.git rev-parse main')"
check "git clone over ssh from the container" git clone -q -b main "$alias:/root/jump.git" "$T/clone"
expect_eq "the clone has the file" "$token" "$(cat "$T/clone/file" 2>/dev/null)"
unset GIT_SSH_COMMAND

# 6a. Rejoin: a watchdog restart keeps the jump sessions counted.
for p in "${pids[@]}"; do [ "$p" = "$holder" ] || kill "$p" 2>/dev/null; done
check "the holder alone is counted" wait_for 20 sessions_are $u 1
wd=$(cat "$SBX_ROOT/run/watchdog.pid")
kill -9 "$wd"
wd_gone() { ! kill -0 "$wd" 2>/dev/null; }
wait_for 5 wd_gone
sbx_start_watchdog
check "the jump session re-registers with a restarted watchdog" wait_for 15 sessions_are $u 1
check "and still carries traffic" box $alias true
kill "$holder"
check "ending the holder drops the count" wait_for 10 sessions_are $u 0

# 5. A container whose host key changed is refused by the client.
etc=$SBX_STATE/users/$u/etc
restart() { sbx_api POST "/containers/$(sbx_container $u)/restart?t=1" >/dev/null; }
check "the pinned key is accepted" box $alias true
cp -p "$etc/ssh_host_ed25519_key" "$T/saved_key"
ssh-keygen -q -t ed25519 -N '' -f "$T/other"
install -m 600 "$T/other" "$etc/ssh_host_ed25519_key"
restart
out=$(box $alias 'echo SHOULD-NOT-RUN' 2>&1)
expect_ne "a changed container host key fails the login" 0 $?
expect_match "the client says why" "IDENTIFICATION HAS CHANGED|Host key verification failed" "$out"
check_not "the command did not run" grep -q SHOULD-NOT-RUN <<<"$out"
install -m 600 "$T/saved_key" "$etc/ssh_host_ed25519_key"
restart
: >"$T/empty_kh"
kh=$T/empty_kh
out=$(box $alias 'echo SHOULD-NOT-RUN' 2>&1)
expect_match "an unpinned key is refused too (no silent trust)" "Host key verification failed" "$out"
kh=$T/kh
check "the restored key is accepted again" box $alias true

# 6. Idle: a jump session alone keeps the container up; it stops after grace
# once the session ends; a SIGKILLed client ends the relay and the count.
sessions_are $u 0 || wait_for 10 sessions_are $u 0
bg -N $alias
j=$!
check "the jump session is the only one counted" wait_for 20 sessions_are $u 1
sleep $((g + 3))
check "with only a jump session open the container keeps running" container_running $u
kill $j
check "closing it drops the count" wait_for 10 sessions_are $u 0
check "and the container stops after grace" wait_for $((g + 2 + 5)) stopped
proxy_of() { pgrep -P "$1" -f ' jump$'; } # the ProxyCommand ssh under a client
for victim in client proxy; do
	bg -N $alias
	j=$!
	check "a new jump session ($victim to be killed) is counted" wait_for 20 sessions_are $u 1
	if [ $victim = proxy ]; then
		p=$(proxy_of $j)
		kill -9 "$p"
	else
		p=$(proxy_of $j)
		kill -9 $j
	fi
	check "SIGKILL of the $victim ends the relay and the count" wait_for 10 sessions_are $u 0
	check "no shim is left running after the $victim's SIGKILL" wait_for 10 bash -c "! pgrep -u $u -f sshbox-shim >/dev/null"
	kill "$p" 2>/dev/null
	wait $j 2>/dev/null
done
check "the container stops after grace" wait_for $((g + 2 + 5)) stopped
finish

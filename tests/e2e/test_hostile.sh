#!/usr/bin/env bash
# Issue 8 (part): hostile local users. Raw protocol messages naming another
# user are refused and logged; forwards of host sockets and ports are refused
# by the drop-in; links and FIFOs planted in the flag dir fool nothing and
# block nothing.
. "$(dirname "$0")/lib.sh"

# 1. bob speaks the protocol himself, naming alice's container.
sbx_ssh sbt-alice daemon >/dev/null
check "alice's container runs" container_running sbt-alice
cat >"$T/raw.py" <<'PY'
import socket, struct, json, sys, uuid
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
msg = {"v": 1, "op": "verb", "verb": sys.argv[2], "session": str(uuid.uuid4()), "user": "sbt-alice"}
body = json.dumps(msg).encode(); s.sendall(struct.pack(">I", len(body)) + body)
data = s.recv(65536); print(data[4:].decode())
PY
chmod 644 "$T/raw.py"
for verb in stop remove commit; do
	out=$(runuser -u sbt-bob -- python3 "$T/raw.py" "$SBX_SOCKET" $verb)
	expect_match "a raw '$verb' naming another user is refused" '"ok": ?false' "$out"
done
check "alice's container still runs" container_running sbt-alice
check "the refusals are logged with the caller" grep -q 'user "sbt-bob" uid [0-9]* pid [0-9]*: bad request: only "keys" names a user' "$SBX_ROOT/watchdog.log"
out=$(runuser -u sbt-bob -- python3 -c "
import socket, struct, json, uuid
s = socket.socket(socket.AF_UNIX); s.connect('$SBX_SOCKET')
b = json.dumps({'v': 1, 'op': 'list', 'session': str(uuid.uuid4())}).encode()
s.sendall(struct.pack('>I', len(b)) + b); print(s.recv(65536)[4:].decode())")
expect_match "list is for root only" "only root" "$out"

# 2. Forwards through an sshbox account.
ssh "${sbx_ssh_opts[@]}" -i "$SBX_KEYS/sbt-bob" -p "$SBX_PORT" -N \
	-L "$T/docker.sock:$SBX_ENGINE" -L "127.0.0.1:22399:127.0.0.1:$SBX_PORT" sbt-bob@127.0.0.1 &
fwd=$!
sleep 2
check_not "-L to the docker socket gets nothing" curl -s --max-time 5 --unix-socket "$T/docker.sock" http://localhost/_ping
check_not "-L to a host port gets no banner" bash -c "exec 3<>/dev/tcp/127.0.0.1/22399; timeout 3 head -c 4 <&3 | grep -q SSH"
kill $fwd 2>/dev/null
check "sshd refused the socket forward" grep -q "refused streamlocal port forward.*target $SBX_ENGINE" "$SBX_ROOT/sshd/sshd.log"
check "sshd refused the port forward" grep -q "refused local port forward.*port $SBX_PORT" "$SBX_ROOT/sshd/sshd.log"

# 3. Planted links and FIFOs in the flag dir.
sbx_ssh sbt-alice 'rm -f /run/sshbox/daemon; mkfifo /run/sshbox/daemon'
start=$(date +%s%N)
sbx_admin list >/dev/null
ms=$((($(date +%s%N) - start) / 1000000))
check "a FIFO named daemon does not block the watchdog (list in ${ms} ms)" test "$ms" -lt 5000
check "it counts as the flag, nothing more" bash -c "$SBX_BIN/sshbox --config $SBX_CONF list | grep -q '^sbt-alice .* yes '"
shadow=$(sha256sum /etc/shadow)
sbx_ssh sbt-alice 'rm -f /run/sshbox/daemon; ln -s /etc/shadow /run/sshbox/stopnow' >/dev/null 2>&1
stopped() { ! container_running sbt-alice; }
check "a symlink named stopnow stops the container (the name is all that counts)" wait_for 10 stopped
expect_eq "and the link's target on the host is untouched" "$shadow" "$(sha256sum /etc/shadow)"
check "the link itself was removed" test ! -L "$SBX_STATE/users/sbt-alice/flags/stopnow"
expect_eq "the watchdog serves on" ok "$(sbx_ssh sbt-bob 'echo ok')"

# 4. Port squatting: the moment bob's container stops, a local process (as
# another user, where the engine publishes ports) binds its old published port. Bob's next login goes through
# the container's own network namespace, never that port: it works, and the
# squatter hears nothing.
sbx_ssh sbt-bob true
old=$(sbx_ssh sbt-bob port)
expect_match "port prints just the number" '^[0-9]+$' "$old"
cat >"$T/squat.py" <<'PY'
import socket, sys, select, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
deadline = time.time() + 10
while True:  # the port frees when the container's proxy exits
    try:
        s.bind(("127.0.0.1", int(sys.argv[1]))); break
    except OSError:
        if time.time() > deadline: raise
        time.sleep(0.01)
s.listen(16); print("bound", flush=True)
log = open(sys.argv[2], "a")
while True:
    c, a = s.accept(); c.settimeout(2)
    try: data = c.recv(65536)
    except OSError: data = b""
    log.write("connection from %s:%d, %d bytes\n" % (a[0], a[1], len(data))); log.flush(); c.close()
PY
chmod 644 "$T/squat.py"
: >"$T/squat.log"
chmod 666 "$T/squat.log"
stop_container sbt-bob
nsenter --net="$(sbx_engine_netns)" runuser -u sbt-alice -- python3 "$T/squat.py" "$old" "$T/squat.log" >"$T/squat.out" 2>&1 &
squatter=$!
check "the squatter holds bob's old port" wait_for 10 grep -q bound "$T/squat.out"
expect_eq "bob's next login works" ok "$(sbx_ssh sbt-bob 'echo ok')"
expect_eq "in his own container (its host key file is his)" \
	"$(cut -d' ' -f1-2 "$SBX_STATE/users/sbt-bob/etc/ssh_host_ed25519_key.pub")" \
	"$(sbx_ssh sbt-bob 'cut -d" " -f1-2 /etc/sshbox/ssh_host_ed25519_key.pub')"
new=$(sbx_ssh sbt-bob port)
expect_ne "the container got another port" "$old" "$new"
sleep 1
expect_eq "the squatter heard nothing" "" "$(cat "$T/squat.log")"
line=$(sbx_ssh sbt-bob hostkey)
expect_match "hostkey gives the line to pin the new port" "^\[127\.0\.0\.1\]:$new ssh-ed25519 " "$line"
kill $squatter
finish

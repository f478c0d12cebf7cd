#!/usr/bin/env bash
# Issue 4: 200 idle connections from one uid plus garbage and 10 MiB
# messages from another: a third user's login still succeeds promptly and the
# watchdog's memory stays bounded. Also: docker stop / docker rm behind the
# watchdog's back.
. "$(dirname "$0")/lib.sh"
wd=$(cat "$SBX_ROOT/run/watchdog.pid")
rss() { awk '/^VmRSS/ {print $2}' "/proc/$wd/status"; }

cat >"$T/hostile.py" <<'PY'
import socket, sys, time, os
path, mode = sys.argv[1], sys.argv[2]
socks = []
if mode == "idle":
    for _ in range(200):
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path); socks.append(s)
        except OSError:
            pass
    print(len(socks), flush=True)
    time.sleep(30)
else:
    for i in range(20):
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        try:
            if i % 2:
                s.sendall(b"\x00\xa0\x00\x00" + os.urandom(10 << 20))  # 10 MiB
            else:
                s.sendall(os.urandom(4096))  # garbage
        except OSError:
            pass
        socks.append(s)
    print("sent", flush=True)
    time.sleep(30)
PY
chmod 644 "$T/hostile.py"
before=$(rss)
runuser -u sbt-alice -- python3 "$T/hostile.py" "$SBX_SOCKET" idle >"$T/idle.out" 2>&1 &
p1=$!
runuser -u "$SBX_NOREC" -- python3 "$T/hostile.py" "$SBX_SOCKET" garbage >"$T/garbage.out" 2>&1 &
p2=$!
sleep 3
start=$(date +%s%N)
out=$(sbx_ssh sbt-bob 'echo still-serving')
ms=$((($(date +%s%N) - start) / 1000000))
expect_eq "a third user's login succeeds under load" still-serving "$out"
check "promptly (${ms} ms < 10000)" test "$ms" -lt 10000
check "the watchdog still runs" kill -0 "$wd"
after=$(rss)
check "its RSS stays bounded (${before} kB -> ${after} kB)" test "$after" -lt $((before + 65536))
grep -q "too many connections" "$SBX_ROOT/watchdog.log"
check "connections over the per-uid cap were refused and logged" test $? = 0
kill $p1 $p2 2>/dev/null
wait $p1 $p2 2>/dev/null

# Behind its back.
u=sbt-bob
id1=$(container_field $u .Id)
stop_container $u
out=$(sbx_ssh $u 'echo after-stop')
expect_eq "docker stop behind its back, then a login works" after-stop "$out"
expect_eq "same container" "$id1" "$(container_field $u .Id)"
sbx_ssh $u 'echo survives > /root/home-file'
remove_container $u
out=$(sbx_ssh $u 'cat /root/home-file')
expect_eq "docker rm behind its back: the next login re-creates it, home kept" survives "$out"
expect_ne "a new container" "$id1" "$(container_field $u .Id)"
finish

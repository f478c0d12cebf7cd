#!/usr/bin/env python3
"""A fault injector in front of the real dockerd, for tests only.

    engine_proxy.py LISTEN_SOCKET UPSTREAM_SOCKET RULES_FILE DOCKERD_PIDFILE

Listens on a unix socket and passes each HTTP request to the real engine
(one upstream connection per request, "Connection: close" both ways), unless
a rule in RULES_FILE (read again for every request) matches it. A rule line:

    METHOD PATH_REGEX ACTION

ACTION is one of: 500 (an error answer with a JSON message), garbage (200
with a body that is not JSON), hang (never answer), close (close without an
answer), kill-dockerd (pass the request on, then SIGKILL the dockerd named
by DOCKERD_PIDFILE at once: the test suite's own, never any other).
Every request is logged to RULES_FILE.log as "METHOD PATH -> ACTION".
"""
import os
import re
import signal
import socket
import sys
import threading
import time

listen_path, upstream_path, rules_path, dockerd_pidfile = sys.argv[1:5]


def kill_dockerd():
    try:
        with open(dockerd_pidfile) as f:
            pid = int(f.read().strip())
        with open("/proc/%d/comm" % pid) as f:
            if f.read().strip() != "dockerd":
                return
        os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError):
        log("  no dockerd to kill (%s)" % dockerd_pidfile)


def rules():
    try:
        with open(rules_path) as f:
            return [l.split(None, 2) for l in f.read().splitlines() if l.strip()]
    except FileNotFoundError:
        return []


def log(line):
    with open(rules_path + ".log", "a") as f:
        f.write(line + "\n")


def read_request(c):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = 0
    headers = []
    for h in lines[1:]:
        name, _, value = h.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        if name.strip().lower() in (b"connection", b"keep-alive"):
            continue
        headers.append(h)
    while len(body) < length:
        chunk = c.recv(65536)
        if not chunk:
            return None
        body += chunk
    return lines[0], headers, body


def answer(c, status, body, ctype=b"application/json"):
    c.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Type: " + ctype +
              b"\r\nContent-Length: " + str(len(body)).encode() +
              b"\r\nConnection: close\r\n\r\n" + body)


def serve(c):
    with c:
        req = read_request(c)
        if req is None:
            return
        line, headers, body = req
        method, path = line.decode().split()[:2]
        action = "pass"
        for r in rules():
            if len(r) == 3 and r[0] == method and re.search(r[1], path):
                action = r[2]
                break
        log("%s %s -> %s" % (method, path, action))
        if action == "500":
            return answer(c, b"500 Internal Server Error", b'{"message":"injected engine failure"}')
        if action == "garbage":
            return answer(c, b"200 OK", b"<html>this is not the engine</html>", b"text/html")
        if action == "hang":
            time.sleep(3600)
            return
        if action == "close":
            return
        up = socket.socket(socket.AF_UNIX)
        try:
            up.connect(upstream_path)
        except OSError:
            log("  upstream down: closed")
            return
        with up:
            up.sendall(line + b"\r\n" + b"\r\n".join(headers) + b"\r\nConnection: close\r\n\r\n" + body)
            if action == "kill-dockerd":
                kill_dockerd()
            while True:
                chunk = up.recv(65536)
                if not chunk:
                    break
                c.sendall(chunk)


def main():
    try:
        os.unlink(listen_path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX)
    s.bind(listen_path)
    os.chmod(listen_path, 0o600)
    s.listen(64)
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


main()

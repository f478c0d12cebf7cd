#!/usr/bin/env bash
# Issue 2: with dockerd down the user gets one clear line, the watchdog keeps
# running, and serves again once dockerd is back. The dockerd stopped is the
# suite's own (tests/bed/engine.sh), never the machine's.
. "$(dirname "$0")/lib.sh"
u=sbt-alice
wd=$(cat "$SBX_ROOT/run/watchdog.pid")
ping_engine() { curl -sf --max-time 2 --unix-socket "$SBX_ENGINE" http://localhost/_ping >/dev/null; }

check "login works before" sbx_ssh $u true
engine=$SBX_SRC/tests/bed/engine.sh
trap '"$engine" up >/dev/null; rm -rf "$T"' EXIT # never leave the suite without its engine
"$engine" stop
dockerd_gone() { ! sbx_engine_pid >/dev/null; }
engine_down() { ! ping_engine; }
check "dockerd is down" wait_for 30 engine_down
out=$(sbx_ssh $u true 2>&1)
rc=$?
expect_ne "login fails while the engine is down" 0 $rc
expect_eq "with one line" 1 "$(printf '%s\n' "$out" | wc -l)"
expect_match "that names the engine" "container engine is not available" "$out"
check "the watchdog is still running" kill -0 "$wd"
wait_for 60 dockerd_gone
"$engine" up
check "dockerd is back" ping_engine
out=$(sbx_ssh $u 'echo back')
expect_eq "login works again" back "$out"
expect_eq "served by the same watchdog" "$wd" "$(cat "$SBX_ROOT/run/watchdog.pid")"
finish

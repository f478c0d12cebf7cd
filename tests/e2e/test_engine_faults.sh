#!/usr/bin/env bash
# Issue 8 (part): the engine misbehaving. Through a fault injector in front of
# the real dockerd (engine_proxy.py), the engine answers 500, garbage, never,
# or hangs up; dockerd is SIGKILLed right after it took a create and a
# commit. Each time the user gets one clear line, the watchdog serves on, and
# the next login recovers with nothing half-made.
. "$(dirname "$0")/lib.sh"
u=sbt-alice
wd=$(cat "$SBX_ROOT/run/watchdog.pid")
ping_engine() { curl -sf --max-time 2 --unix-socket "$SBX_ENGINE" http://localhost/_ping >/dev/null; }
set_engine() { # ADDRESS: the watchdog reloads its config on SIGHUP
	sed -i "s|^engine = .*|engine = $1|" "$SBX_CONF"
	kill -HUP "$wd"
	wait_for 10 bash -c "tail -n 3 '$SBX_ROOT/watchdog.log' | grep -q 'configuration reloaded'"
}
rules=$T/rules
fault() { printf '%s\n' "$@" >"$rules"; }
python3 "$(dirname "$0")/engine_proxy.py" "$T/engine.sock" "$SBX_ENGINE" "$rules" "$SBX_ENGINE_DIR/docker.pid" &
proxy=$!
wait_for 10 test -S "$T/engine.sock"
trap 'kill $proxy 2>/dev/null; "$SBX_SRC/tests/bed/engine.sh" up >/dev/null; sed -i "s|^engine = .*|engine = $SBX_ENGINE|" "$SBX_CONF"; kill -HUP $wd; rm -rf "$T"' EXIT
set_engine "$T/engine.sock"
expect_eq "a login through the injector works" ok "$(sbx_ssh $u 'echo ok')"
check "it went through the injector" grep -q "^GET /v1.41/containers/$SBX_INSTANCE-$u/json -> pass" "$rules.log"

# refused DESCRIPTION REGEX [USER]: a login fails with one line matching REGEX.
refused() {
	local start=$SECONDS out rc
	out=$(sbx_ssh "${3:-$u}" true 2>&1)
	rc=$?
	expect_ne "$1: the login fails" 0 $rc
	expect_eq "$1: with one line" 1 "$(printf '%s\n' "$out" | wc -l)"
	expect_match "$1: that says what" "$2" "$out"
	check "$1: within the engine deadline ($((SECONDS - start)) s)" test $((SECONDS - start)) -lt 40
}
inspect="GET /containers/$SBX_INSTANCE-$u/json"
fault "$inspect 500"
refused "engine answers 500" "cannot start your container: .*engine answered 500: injected engine failure"
fault "$inspect garbage"
refused "engine answers garbage" "cannot start your container: .*malformed JSON"
fault "$inspect close"
refused "engine hangs up" "container engine is not available right now"
fault "$inspect hang"
refused "engine never answers" "container engine is not available right now .*Timeout"
fault
expect_eq "the next login works" ok "$(sbx_ssh $u 'echo ok')"
expect_eq "served by the same watchdog" "$wd" "$(cat "$SBX_ROOT/run/watchdog.pid")"
expect_eq "one container, as before" 1 "$(container_count $u)"

# A first login whose create fails: nothing is left; the next one creates.
remove_container $u
fault "POST /containers/create 500"
refused "create answers 500" "engine answered 500"
expect_eq "no container is left" 0 "$(container_count $u)"
fault
expect_eq "the next login creates it" ok "$(sbx_ssh $u 'echo ok')"
expect_eq "just one" 1 "$(container_count $u)"

# The suite's own dockerd (the injector kills it by its pid file) killed
# right after it took a create.
dockerd_gone() { ! sbx_engine_pid >/dev/null; }
restart_dockerd() {
	wait_for 60 dockerd_gone
	"$SBX_SRC/tests/bed/engine.sh" up >/dev/null
	ping_engine
}
remove_container $u
fault "POST /containers/create kill-dockerd"
out=$(sbx_ssh $u true 2>&1)
expect_ne "a login while dockerd dies mid-create fails" 0 $?
expect_match "with a clear line" "container engine|cannot start your container" "$out"
fault
check "dockerd comes back" restart_dockerd
expect_eq "the next login recovers" ok "$(sbx_ssh $u 'echo ok')"
expect_eq "with one container" 1 "$(container_count $u)"
check "which runs" container_running $u

# dockerd killed right after it took a commit.
sbx_ssh $u 'echo before > /etc/sbx-commit-mark'
fault "POST /commit kill-dockerd"
out=$(sbx_ssh $u commit 2>&1)
expect_ne "a commit while dockerd dies fails" 0 $?
expect_match "with a clear line" "engine|commit" "$out"
fault
check "dockerd comes back" restart_dockerd
img=$(sbx_api GET "/images/$SBX_INSTANCE-user:$u/json" | jq -r '.Id // "none"')
expect_match "the image is whole or absent" '^(sha256:[0-9a-f]{64}|none)$' "$img"
expect_eq "the next login recovers" ok "$(sbx_ssh $u 'echo ok')"
out=$(sbx_ssh $u commit 2>&1)
expect_eq "and a commit now works" 0 $?
remove_container $u
expect_eq "a container made anew from the committed image holds the change" before \
	"$(sbx_ssh $u 'cat /etc/sbx-commit-mark')"
check "the watchdog served throughout" kill -0 "$wd"
set_engine "$SBX_ENGINE"
# Leave the user as other tests expect: no committed image.
remove_container $u
sbx_api DELETE "/images/$SBX_INSTANCE-user:$u?force=1" >/dev/null
finish

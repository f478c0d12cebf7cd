#!/usr/bin/env bash
# Issue 8 (part): bad configuration, end to end. The real watchdog and admin
# CLI refuse a config with an unknown key, a duplicate key, a bad number, CRLF
# line ends, or no file, in one line naming file, line and key; a bad config
# given to the running watchdog on SIGHUP is refused, the old one is kept, and
# logins go on.
. "$(dirname "$0")/lib.sh"
wd=$(cat "$SBX_ROOT/run/watchdog.pid")
good=$(cat "$SBX_CONF")
lines=$(printf '%s\n' "$good" | wc -l)

refused() { # DESCRIPTION CONFIG_FILE EXPECTED_REGEX
	local out rc
	out=$(timeout 10 "$SBX_BIN/sshbox-watchdog" --config "$2" --stderr 2>&1)
	rc=$?
	expect_eq "$1: the watchdog refuses to start" 1 "$rc"
	expect_match "$1: in a line naming it" "$3" "$out"
	out=$("$SBX_BIN/sshbox" --config "$2" list 2>&1)
	rc=$?
	expect_ne "$1: the admin CLI refuses too" 0 "$rc"
	expect_match "$1: naming it the same way" "$3" "$out"
}
printf '%s\nfrobnicate = 1\n' "$good" >"$T/unknown.conf"
refused "unknown key" "$T/unknown.conf" "unknown.conf:$((lines + 1)): unknown key \"frobnicate\""
printf '%s\nidle_grace_seconds = 9\n' "$good" >"$T/dup.conf"
refused "duplicate key" "$T/dup.conf" "dup.conf:$((lines + 1)): duplicate key \"idle_grace_seconds\""
printf '%s\ndefault_pids = 12x\n' "$good" >"$T/number.conf"
refused "bad number" "$T/number.conf" "number.conf:$((lines + 1)): bad value \"12x\" for \"default_pids\""
printf '%s\n' "$good" | sed 's/$/\r/' >"$T/crlf.conf"
refused "CRLF line ends" "$T/crlf.conf" "crlf.conf:1: line ends in CR"
refused "missing file" "$T/none.conf" "none.conf"
check "the running watchdog is untouched" kill -0 "$wd"

# A bad config on reload: refused, the old one kept, logins go on.
cp "$SBX_CONF" "$T/saved.conf"
printf '%s\ndefault_pids = soon\n' "$good" >"$SBX_CONF"
kill -HUP "$wd"
refusal() { grep -q 'reload refused, keeping the old config: .*bad value "soon" for "default_pids"' "$SBX_ROOT/watchdog.log"; }
check "a bad config on SIGHUP is refused and logged" wait_for 10 refusal
check "the watchdog runs on" kill -0 "$wd"
expect_eq "logins go on (the shim takes just the socket from the file)" ok "$(sbx_ssh sbt-alice 'echo ok')"
printf '%s\nsocket = /elsewhere.sock\n' "$good" >"$SBX_CONF"
out=$(sbx_ssh sbt-alice true 2>&1)
expect_match "a doubled socket line is not guessed at" "configuration is broken; tell your admin" "$out"
cp "$T/saved.conf" "$SBX_CONF"
kill -HUP "$wd"
check "the good config loads again" wait_for 10 bash -c \
	"tail -n 2 '$SBX_ROOT/watchdog.log' | grep -q 'configuration reloaded'"
finish

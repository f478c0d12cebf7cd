#!/usr/bin/env bash
# Issue 12, "the watchdog never stalls": at its descriptor limit it refuses
# in one line without spinning and recovers; one user's long commit does not
# hold up another user's idle stop; worker threads take no signals.
. "$(dirname "$0")/lib.sh"
wd=$(cat "$SBX_ROOT/run/watchdog.pid")
g=$(grace)
hz=$(getconf CLK_TCK)
hold="$SBX_BUILD/bench/sshbox-holdsessions"

# cpu_ticks: user + system time of the watchdog so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$wd/stat"; }
nofile_soft() { awk '/^Max open files/ {print $4}' "/proc/$wd/limits"; }
nofile_hard() { awk '/^Max open files/ {print $5}' "/proc/$wd/limits"; }
# lowest_free_fd: the number the next descriptor would get; a soft limit of
# it makes the next accept fail with EMFILE (a count would not: fds opened
# under a higher limit can sit above it while holes remain below).
lowest_free_fd() { find "/proc/$wd/fd" -mindepth 1 -printf '%f\n' | sort -n | awk '$1 == n {n++} END {print n + 0}'; }

# refused_promptly LABEL REGEX: bob's login is answered within 2 s, either
# with a one-line refusal matching REGEX or by running.
refused_promptly() {
	local start ms out lines
	start=$(date +%s%N)
	out=$(sbx_ssh sbt-bob 'echo in' 2>&1)
	ms=$((($(date +%s%N) - start) / 1000000))
	lines=$(printf '%s\n' "$out" | wc -l)
	check "$1: bob's login is answered within 2 s (${ms} ms)" test "$ms" -lt 2000
	if [ "$out" = in ]; then
		ok "$1: bob's login succeeded"
	else
		expect_match "$1: bob reads a clear refusal" "$2" "$out"
		expect_eq "$1: in one line" 1 "$lines"
	fi
}

# cpu_while_refusing LABEL: the watchdog's CPU over 3 s while bob keeps trying.
cpu_while_refusing() {
	local t0 t1 pct end n0 ms
	t0=$(cpu_ticks)
	n0=$(date +%s%N)
	end=$((SECONDS + 3))
	while [ "$SECONDS" -lt "$end" ]; do sbx_ssh sbt-bob true >/dev/null 2>&1; done
	t1=$(cpu_ticks)
	ms=$((($(date +%s%N) - n0) / 1000000))
	pct=$(((t1 - t0) * 100 * 1000 / (hz * ms)))
	check "$1: the watchdog's CPU stays under 5% while refusing (${pct}% over ${ms} ms)" test "$pct" -lt 5
}

# --- 0. Signals reach only the main thread.
check "the soft descriptor limit was raised to the hard one" test "$(nofile_soft)" = "$(nofile_hard)"
sbx_ssh sbt-bob true # a login starts the worker threads that come and go
bad=0
threads=0
for st in /proc/"$wd"/task/*/status; do
	tid=$(awk '/^Pid:/ {print $2}' "$st")
	[ "$tid" = "$wd" ] && continue
	threads=$((threads + 1))
	blk=$(awk '/^SigBlk:/ {print $2}' "$st")
	# SIGHUP is bit 0, SIGTERM bit 14.
	[ $((16#$blk & 0x4001)) = $((0x4001)) ] || bad=$((bad + 1))
done
check "all $threads worker threads block SIGHUP and SIGTERM" test "$threads" -gt 2 -a "$bad" = 0
blk=$(awk '/^SigBlk:/ {print $2}' "/proc/$wd/task/$wd/status")
check "the main thread takes them" test $((16#$blk & 0x4001)) = 0

# --- 1. At the descriptor limit (Must show 4).
orig=$(nofile_soft)
restore_limit() { prlimit --pid "$wd" --nofile="$orig": 2>/dev/null; }
trap 'restore_limit; kill "$hp" 2>/dev/null; rm -rf "$T"' EXIT
prlimit --pid "$wd" --nofile=96:
# With 96 descriptors the admission cap is 96 - (32 + 96/8) = 52 connections.
"$hold" "$SBX_SOCKET" 60 4 sbt-alice >"$T/hold.out" 2>"$T/hold.err" &
hp=$!
wait_for 120 grep -q '^held' "$T/hold.out"
read -r _ held refused <"$T/hold.out"
check "holding sessions until it refuses (${held:-?} held, ${refused:-?} refused)" \
	test "${held:-0}" -ge 40 -a "${refused:-0}" -ge 1
refused_promptly "at the connection cap" "too many connections"
cpu_while_refusing "at the connection cap"

# No descriptor number left under the limit: accept itself fails with EMFILE.
prlimit --pid "$wd" --nofile="$(lowest_free_fd)":
refused_promptly "out of descriptors" "out of file descriptors"
cpu_while_refusing "out of descriptors"
check "the watchdog still runs" kill -0 "$wd"
check "it logs the shortage" grep -q "out of descriptors (per process)" "$SBX_ROOT/watchdog.log"

restore_limit
kill "$hp"
wait "$hp" 2>/dev/null
check "the held sessions close" wait_for 20 sessions_are sbt-alice 0
expect_eq "once they closed, bob logs in again" back "$(sbx_ssh sbt-bob 'echo back')"
expect_eq "and alice" back "$(sbx_ssh sbt-alice 'echo back')"

# --- 2. One user's long commit, another user's idle stop (Must show 5).
# A 2 GiB file in alice's container (not in her home volume: commit copies it;
# about 20 s here). Her last session ends now: her idle stop falls due in the
# middle of the commit, which holds her lifecycle lock.
expect_eq "alice has a 2 GiB file" 2147483648 \
	"$(sbx_ssh sbt-alice 'fallocate -l 2G /big && stat -c %s /big')"
c0=$SECONDS
log0=$(wc -l <"$SBX_ROOT/watchdog.log")
sbx_ssh sbt-alice commit >"$T/commit.out" 2>&1 &
cp=$!
sleep 1
sbx_ssh sbt-bob true
b0=$(date +%s%N)
check "bob's container runs" container_running sbt-bob
# The watchdog's own word that it stopped bob's container as idle (the
# engine's state alone could change for other reasons).
bob_stopped_idle() {
	tail -n +"$((log0 + 1))" "$SBX_ROOT/watchdog.log" |
		grep -q 'user "sbt-bob": container .* stopped (idle)'
}
if wait_for $((g + 5)) bob_stopped_idle; then
	ms=$((($(date +%s%N) - b0) / 1000000))
	check "the watchdog stopped bob's idle container within grace + 5 s (${ms} ms)" \
		test "$ms" -le $(((g + 5) * 1000))
else
	not_ok "the watchdog stopped bob's idle container within grace + 5 s (not after $((g + 5)) s)"
fi
check "while alice's commit was still running" kill -0 "$cp"
expect_eq "the engine says bob's container is stopped" false \
	"$(container_field sbt-bob .State.Running 2>/dev/null)"
wait "$cp"
expect_eq "alice's commit succeeded" 0 $?
echo "# alice's commit of 2 GiB took $((SECONDS - c0)) s"
expect_match "it says so" "committed your container" "$(cat "$T/commit.out")"
alice_stopped() { [ "$(container_field sbt-alice .State.Running 2>/dev/null)" = false ]; }
check "alice's idle stop still happened after the commit" wait_for $((g + 15)) alice_stopped

# Leave alice as other tests expect: no 2 GiB container, no committed image.
remove_container sbt-alice
sbx_api DELETE "/images/$SBX_INSTANCE-user:sbt-alice?force=1" >/dev/null
finish

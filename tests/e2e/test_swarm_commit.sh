#!/usr/bin/env bash
# Issue 14, the mailbox's commit on a thread of its own: while a slow commit
# of mona's container (home n3, a big file in its writable layer) runs on
# n3, n3 still fences a new user's first task there (the login works within
# a few seconds) and still stops that user's idle container after grace; a
# second commit is refused plainly, so is a stop without --force; a
# remove --force during the commit does not lose it: the next login starts
# from the committed image, big file included. n3's watchdog restarted
# during a commit: the engine finishes it, and the restarted watchdog
# answers it as done (the request's note in the image's Comment), not lost.
. "$(dirname "$0")/swarm-lib.sh"
began=$SECONDS
A=sbt-sw-mona
B=sbt-sw-nia
G=${SBX_SWARM_GRACE:-3}
MB=${SW_COMMIT_MB:-3072}
LOG=$SBX_SWARM_DIR/sshbox/n3/watchdog.log
images() {
	local i
	for i in user layer; do
		api n3 DELETE "/images/$SBX_SWARM_INSTANCE-$i:$A?force=1" >/dev/null 2>&1
	done
}
trap 'sw_cleanup $A $B; images; rm -rf "$T"' EXIT
sw_cleanup $A $B
images

check "mona is provisioned with home n3" sw_user $A n3
check "nia is provisioned with home n3" sw_user $B n3
t0=$SECONDS
out=$(sw_ssh n1 $A "daemon >/dev/null; dd if=/dev/zero of=/var/sshbox-big bs=1M count=$MB status=none && echo written" 2>&1)
expect_eq "a ${MB} MiB file in mona's writable layer (daemon mode: no idle stop)" written "$out"
echo "# writing it took $((SECONDS - t0)) s"
lines=$(wc -l <"$LOG")

label() { sw_service "$1" | jq -r ".Spec.Labels[\"$2\"] // empty"; }
taken() { [ -n "$(label "$A" sshbox.taken)" ]; }
t0=$SECONDS
sw_ssh n1 $A commit >"$T/commit.out" 2>&1 &
commit=$!
check "n3 takes the commit (sshbox.taken)" wait_for 10 taken

out=$(sw_ssh n2 $A commit 2>&1)
expect_contains "a second commit meanwhile is refused plainly" "a commit of your container is already running" "$out"
out=$(sw_ssh n2 $A stop 2>&1)
expect_contains "a stop without --force meanwhile is refused plainly" "a commit of your container is running; stop it when" "$out"

t1=$SECONDS
out=$(sw_ssh n2 $B 'echo first-login' 2>&1)
took=$((SECONDS - t1))
expect_eq "nia's first login on n3 works during the commit" first-login "$out"
check "within a few seconds (${took} s)" test "$took" -le 10
fenced() { [ "$(label "$B" sshbox.fenced)" = "$(sw_task "$B" | jq -r .Status.ContainerStatus.ContainerID)" ]; }
check "her task was fenced by n3" fenced
check "the commit still runs" taken
check "nia's idle container stops after grace during the commit" wait_for $((G * 2 + 10)) sw_no_task $B
check "the commit still runs" taken
out=$(sw_ssh n2 $A remove --force 2>&1)
expect_contains "remove --force during the commit" "removed your container" "$out"
check "the commit still runs after the remove" taken

wait $commit
took=$((SECONDS - t0))
expect_contains "the commit answers when it ends" "committed your container as $SBX_SWARM_INSTANCE-user:$A" "$(cat "$T/commit.out")"
echo "# the commit of ${MB} MiB took $took s"
check "n3 logged it as a commit on a thread" bash -c "tail -n +$((lines + 1)) '$LOG' | grep -q 'user \"$A\": committing task container .* (on a thread)'"
check "no request is left in the labels" test -z "$(label $A sshbox.op)$(label "$A" sshbox.taken)"
check "the task is gone" wait_for 15 sw_no_task $A
out=$(sw_ssh n1 $A 'stat -c %s /var/sshbox-big' 2>&1)
expect_eq "the next login starts from the committed image, the big file in it" $((MB * 1024 * 1024)) "$out"

# 2. n3's watchdog restarted while the engine commits.
out=$(sw_ssh n1 $A "dd if=/dev/zero of=/var/sshbox-big2 bs=1M count=$((MB / 2)) status=none && echo written" 2>&1)
expect_eq "another $((MB / 2)) MiB in her new container" written "$out"
lines=$(wc -l <"$LOG")
sw_ssh n1 $A commit >"$T/commit2.out" 2>&1 &
commit=$!
check "n3 takes the commit" wait_for 10 taken
wd=$(cat "$SBX_SWARM_DIR/sshbox/n3/run/watchdog.pid")
check "n3's watchdog is stopped during the commit" kill "$wd"
wd_gone() { ! kill -0 "$wd" 2>/dev/null; }
check "(it exits)" wait_for 10 wd_gone
paused() { api n3 GET "/containers/$(label "$A" sshbox.fenced)/json" | jq -e .State.Paused >/dev/null; }
check "the engine still commits (her container paused)" paused
check "n3's watchdog starts again" "$SBX_SRC/tests/bed/swarm-sshbox.sh" up
wait $commit
expect_contains "the commit is answered as done" "committed your container as $SBX_SWARM_INSTANCE-user:$A" "$(cat "$T/commit2.out")"
check "by the restarted watchdog, from the image it found" bash -c "tail -n +$((lines + 1)) '$LOG' | grep -q 'user \"$A\": a commit this watchdog lost in a restart completed in the engine'"
expect_eq "the image is the one the service names" "$(api n3 GET "/images/$SBX_SWARM_INSTANCE-user:$A/json" | jq -r .Id)" "$(label $A sshbox.image)"
check "no request is left in the labels" test -z "$(label $A sshbox.op)$(label "$A" sshbox.taken)"
echo "took $((SECONDS - began)) s"
finish

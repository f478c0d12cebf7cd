#!/usr/bin/env bash
# Issue 2: 20 simultaneous first logins of one new user: all succeed and
# exactly one container exists.
. "$(dirname "$0")/lib.sh"
u=sbt-alice

remove_container $u
expect_eq "no container before" 0 "$(container_count $u)"
for i in $(seq 1 20); do
	(sbx_ssh $u "echo login-$i" >"$T/out.$i" 2>"$T/err.$i"; echo $? >"$T/rc.$i") &
done
wait
fails=0
for i in $(seq 1 20); do
	if [ "$(cat "$T/rc.$i")" != 0 ] || [ "$(cat "$T/out.$i")" != "login-$i" ]; then
		fails=$((fails + 1))
		echo "login $i: rc $(cat "$T/rc.$i"): $(cat "$T/err.$i")"
	fi
done
expect_eq "all 20 simultaneous first logins succeed" 0 $fails
expect_eq "exactly one container exists" 1 "$(container_count $u)"
finish

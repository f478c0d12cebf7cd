#!/usr/bin/env bash
# Issue 2: a login lands in the user's own container; commands, exit status,
# stdout/stderr and bulk data pass through the shim unchanged.
. "$(dirname "$0")/lib.sh"
u=sbt-alice

# 1. Inside the container, not on the host.
out=$(sbx_ssh $u hostname)
expect_eq "exit of 'hostname'" 0 $?
expect_ne "hostname is not the host's" "$(hostname)" "$out"
expect_eq "hostname is the container's" "$(container_field $u .Config.Hostname)" "$out"
check "the engine's marker file exists inside (Docker's /.dockerenv, Podman's /run/.containerenv)" \
	sbx_ssh $u 'test -f /.dockerenv || test -f /run/.containerenv'
expect_eq "logged in as root inside" root "$(sbx_ssh $u whoami)"
cid=$(sbx_ssh $u 'cat /proc/self/mountinfo' | grep -o "containers/[0-9a-f]\{64\}" | head -1)
expect_eq "the container's own mounts" "containers/$(container_field $u .Id)" "$cid"

# 2. Exit status, stderr, bytes.
sbx_ssh $u 'exit 7'
expect_eq "exit status 7 comes back" 7 $?
sbx_ssh $u 'echo to-out; echo to-err >&2' >"$T/out" 2>"$T/err"
expect_eq "stdout stays stdout" to-out "$(cat "$T/out")"
expect_eq "stderr stays stderr" to-err "$(cat "$T/err")"
head -c $((64 << 20)) /dev/urandom >"$T/big"
want=$(sha256sum <"$T/big" | cut -d' ' -f1)
got=$(sbx_ssh $u cat <"$T/big" | sha256sum | cut -d' ' -f1)
expect_eq "64 MiB through 'cat' byte-identical" "$want" "$got"
sbx_ssh $u 'cat > f' <"$T/big"
expect_eq "upload exit status" 0 $?
got=$(sbx_ssh $u 'sha256sum f' | cut -d' ' -f1)
expect_eq "64 MiB uploaded with 'cat > f' byte-identical" "$want" "$got"
sbx_ssh $u 'rm f'
# shellcheck disable=SC2016 # the remote shell expands it
out=$(sbx_ssh $u 'printf "%s|" "$0" a\ b "c'"'"'d" $(echo e)' </dev/null)
expect_match "command reaches the container shell verbatim" '\|a b\|c.d\|e\|$' "$out"

# 6. Each user in their own container; accounts without a record refused.
echo "alice was here" | sbx_ssh $u 'cat > /root/owner'
bob_host=$(sbx_ssh sbt-bob hostname)
expect_eq "bob's login lands in bob's container" "$(container_field sbt-bob .Config.Hostname)" "$bob_host"
check "bob does not see alice's files" sbx_ssh sbt-bob 'test ! -e /root/owner'
expect_ne "alice and bob have distinct containers" \
	"$(container_field sbt-alice .Id)" "$(container_field sbt-bob .Id)"
out=$(sbx_ssh "$SBX_NOREC" true 2>&1)
rc=$?
expect_ne "an sshbox account without record is refused" 0 $rc
expect_eq "with one line" 1 "$(printf '%s\n' "$out" | wc -l)"
expect_match "which says what is wrong" "no sshbox container set up" "$out"
for user in $SBX_USERS $SBX_NOREC; do
	check "$user is not in the docker group" bash -c "! id -nG $user | grep -qw docker"
	check "$user cannot open the docker socket" \
		bash -c "! runuser -u $user -- curl -s --max-time 5 --unix-socket $SBX_ENGINE http://localhost/_ping"
	check "$user cannot read another's inner key" \
		bash -c "! runuser -u $user -- cat $SBX_STATE/users/sbt-bob/inner_key 2>/dev/null"
done
finish

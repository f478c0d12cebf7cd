#!/usr/bin/env bash
# Issue 5: the admin CLI. Every bad input is one clear line naming the bad
# thing, a non-zero exit, and nothing half-created.
. "$(dirname "$0")/lib.sh"
key=$SBX_KEYS/sbt-alice.pub
nothing_left() { # USER
	! id "$1" >/dev/null 2>&1 && [ ! -e "$SBX_STATE/users/$1" ] && [ "$(container_count "$1")" = 0 ]
}
# An image without a shell, made from the base image.
noss=$SBX_INSTANCE-noshell:test
cid=$(curl -sS --unix-socket "$SBX_ENGINE" -H 'Content-Type: application/json' \
	-d '{"Image":"sshbox-base:latest","Cmd":["rm","-f","/bin/sh"]}' \
	http://localhost/v1.41/containers/create | jq -r .Id)
sbx_api POST "/containers/$cid/start" >/dev/null
sbx_api POST "/containers/$cid/wait" >/dev/null
sbx_api POST "/commit?container=$cid&repo=${noss%:*}&tag=test" >/dev/null
sbx_api DELETE "/containers/$cid" >/dev/null
head -c 40 /dev/urandom | base64 >"$T/junk.pub"

try() { # DESCRIPTION EXPECTED_REGEX ARGS...
	local what=$1 want=$2
	shift 2
	out=$(sbx_admin createuser "$@" 2>&1)
	rc=$?
	expect_ne "$what: non-zero exit" 0 $rc
	expect_eq "$what: one line" 1 "$(printf '%s\n' "$out" | wc -l)"
	expect_match "$what: names the bad thing" "$want" "$out"
	[ "$1" = sbt-new ] && check "$what: nothing left behind" nothing_left sbt-new
}
try "name ../x" '"\.\./x"' ../x sshbox-base:latest "$key"
try "name root" '"root" is reserved' root sshbox-base:latest "$key"
try "junk key" "junk.pub" sbt-new sshbox-base:latest "$T/junk.pub"
try "missing key file" "nokey.pub" sbt-new sshbox-base:latest "$T/nokey.pub"
try "missing image" '"nosuch:1" does not exist' sbt-new nosuch:1 "$key"
try "image without a shell" "\"$noss\" has no usable shell: /bin/sh is missing" sbt-new "$noss" "$key"
try "bad memory" '"1q"' sbt-new sshbox-base:latest "$key" --memory 1q
try "bad mount" '"rel:/x"' sbt-new sshbox-base:latest "$key" --mount rel:/x
out=$(sbx_admin createuser "$SBX_PLAIN" sshbox-base:latest "$key" 2>&1)
expect_match "an existing non-sshbox account is refused" "not an sshbox account" "$out"
check "and left as it was" bash -c "! id -nG $SBX_PLAIN | grep -qw $SBX_GROUP"
sbx_api DELETE "/images/$noss" >/dev/null

# A good createuser, set, list, cleanuser round trip.
sbx_admin createuser sbt-new sshbox-base:latest "$key" --memory 256m --cpus 0.5 --pids 200 >/dev/null
expect_eq "createuser works" 0 $?
out=$(ssh "${sbx_ssh_opts[@]}" -i "$SBX_KEYS/sbt-alice" -p "$SBX_PORT" sbt-new@127.0.0.1 \
	'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes
	 cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max')
expect_eq "limits from the record reach the container" "268435456
200" "$out"
out=$(sbx_admin set sbt-new memory=lots 2>&1)
expect_match "set with a bad value names it" '"lots"' "$out"
out=$(sbx_admin set sbt-new pids=300)
expect_match "set says when it applies" "next created" "$out"
check "list shows the user" bash -c "$SBX_BIN/sshbox --config $SBX_CONF list | grep -q '^sbt-new .*pids=300'"
sbx_admin cleanuser sbt-new >/dev/null
check "cleanuser removes account, state and container" nothing_left sbt-new
vol=$(sbx_api GET "/volumes/$SBX_INSTANCE-home-sbt-new" | jq -r .Name)
expect_eq "cleanuser keeps the home volume" "$SBX_INSTANCE-home-sbt-new" "$vol"
sbx_api DELETE "/volumes/$SBX_INSTANCE-home-sbt-new" >/dev/null
out=$(sbx_admin cleanuser nobody-here 2>&1)
expect_match "cleanuser of an unknown user says so" '"nobody-here" is not an sshbox user' "$out"
finish

#!/usr/bin/env bash
# Issue 14 (review): a createuser that fails after it created the user's
# swarm secret leaves nothing behind, and one that finds leftovers of an
# earlier attempt (its older keys) replaces them, so the pinned host key
# matches. Secrets and configs are immutable: reusing one would pin the new
# key in front of the old one. 1. A config of the user's config name made
# by hand (not sshbox's) makes createuser fail after the secret: the secret
# is taken back, the hand-made config kept, no service, no account. 2. With
# it gone and leftovers of a crashed attempt in place (sshbox's labels, other
# keys), createuser works and the user logs in. 3. createuser again of a
# user whose service exists touches nothing. 4. One createuser of a user at
# a time in the whole swarm: a lock another createuser holds refuses it
# with a line naming the holder, before any account is made; createusers of
# one new user at once through n1 and n2 leave one service that works.
. "$(dirname "$0")/swarm-lib.sh"
began=$SECONDS
U=sbt-sw-redo
U2=sbt-sw-twice
I=$SBX_SWARM_INSTANCE
trap 'sw_cleanup $U $U2; rm -rf "$T"' EXIT
sw_cleanup $U $U2
adm() { "$SW_ADMIN" --config "$(sbx_swarm_conf n1)" "$@"; }
b64() { base64 -w0 <"$1"; }
blob_id() { api n1 GET "/$1/$2" 2>/dev/null | jq -r .ID; } # KIND NAME
install -d -m 0700 "$SW_KEYS"
[ -f "$SW_KEYS/$U" ] || ssh-keygen -q -t ed25519 -N '' -f "$SW_KEYS/$U"
ssh-keygen -q -t ed25519 -N '' -f "$T/oldhost"

# 1. The config name taken by someone else.
foreign=$(api n1 POST /configs/create "$(jq -nc --arg n "$I-authkeys-$U" --arg d "$(b64 "$T/oldhost.pub")" \
	'{Name: $n, Data: $d, Labels: {owner: "not sshbox"}}')" | jq -r .ID)
check "(a config named $I-authkeys-$U, not sshbox's, exists)" test -n "$foreign"
since=$(date +%s)
out=$(adm createuser --node n3 $U "$SBX_SWARM_IMAGE:latest" "$SW_KEYS/$U.pub" 2>&1)
expect_ne "createuser fails" 0 $?
expect_contains "naming the config in its way" "a swarm config \"$I-authkeys-$U\" exists that is not this instance's" "$out"
events=$(api n1 GET "/events?since=$since&until=$(($(date +%s) + 1))&filters=$(sbx_swarm_filters '{"type":["secret"]}')" |
	jq -rs --arg n "$I-hostkey-$U" '[.[] | select(.Actor.Attributes.name == $n) | .Action] | join(" ")')
expect_eq "it had created the secret, and took it back" "create remove" "$events"
check_not "no secret is left" quiet api n1 GET "/secrets/$I-hostkey-$U"
check_not "nor the inner key's config" quiet api n1 GET "/configs/$I-innerkey-$U"
expect_eq "the hand-made config is untouched" "$foreign" "$(blob_id configs "$I-authkeys-$U")"
check_not "no service" quiet sw_service $U
check_not "no account" id $U
api n1 DELETE "/configs/$foreign" >/dev/null

# 2. Leftovers of an attempt that died after its secret and a config:
# sshbox's names and labels, older keys.
old_secret=$(api n1 POST /secrets/create "$(jq -nc --arg n "$I-hostkey-$U" --arg d "$(b64 "$T/oldhost")" --arg i "$I" \
	'{Name: $n, Data: $d, Labels: {"sshbox.instance": $i}}')" | jq -r .ID)
old_inner=$(api n1 POST /configs/create "$(jq -nc --arg n "$I-innerkey-$U" --arg d "$(b64 "$T/oldhost")" --arg i "$I" --arg u $U \
	'{Name: $n, Data: $d, Labels: {"sshbox.instance": $i, "sshbox.user": $u}}')" | jq -r .ID)
check "(the leftovers are in place)" test -n "$old_secret" -a -n "$old_inner"
check "createuser works" quiet adm createuser --node n3 $U "$SBX_SWARM_IMAGE:latest" "$SW_KEYS/$U.pub"
new_secret=$(blob_id secrets "$I-hostkey-$U")
expect_ne "with a secret of its own" "$old_secret" "$new_secret"
expect_ne "and an inner key config of its own" "$old_inner" "$(blob_id configs "$I-innerkey-$U")"
expect_eq "the user logs in (the pinned host key is the container's)" "$U root" \
	"$(sw_ssh n1 $U 'hostname; id -un' 2>&1 | tr '\n' ' ' | sed 's/ $//')"

# 3. createuser again while the service exists: nothing of it is replaced.
out=$(adm createuser --node n3 $U "$SBX_SWARM_IMAGE:latest" "$SW_KEYS/$U.pub" 2>&1)
expect_eq "createuser of a user with a service keeps the secret" "$new_secret" "$(blob_id secrets "$I-hostkey-$U")"
expect_eq "and a login still works" root "$(sw_ssh n2 $U 'id -un' 2>&1)"

# 4. The createuser lock: held by another createuser (made by hand here).
[ -f "$SW_KEYS/$U2" ] || ssh-keygen -q -t ed25519 -N '' -f "$SW_KEYS/$U2"
lock=$(api n1 POST /configs/create "$(jq -nc --arg n "$I-provision-$U2" --arg i "$I" --arg u "$U2" \
	--arg d "$(printf 'createuser on node n9, pid 7' | base64 -w0)" \
	'{Name: $n, Data: $d, Labels: {"sshbox.instance": $i, "sshbox.user": $u}}')" | jq -r .ID)
check "(a createuser lock of $U2 is held)" test -n "$lock"
out=$(sw_admin n2 createuser --node n3 $U2 "$SBX_SWARM_IMAGE:latest" "$SW_KEYS/$U2.pub" 2>&1)
expect_ne "createuser through n2 is refused" 0 $?
expect_contains "naming the holder" "another createuser of \"$U2\" is under way in the swarm (createuser on node n9, pid 7," "$out"
check_not "no account was made" getent passwd $U2
check_not "no service" quiet api n1 GET "/services/$I-$U2"
check_not "no secret" quiet api n1 GET "/secrets/$I-hostkey-$U2"
check "the lock is left to its holder" quiet api n1 GET "/configs/$lock"
api n1 DELETE "/configs/$lock" >/dev/null
# Three at once through n1, n2, n1.
for n in n1 n2 n1; do
	sw_admin $n createuser --node n3 $U2 "$SBX_SWARM_IMAGE:latest" "$SW_KEYS/$U2.pub" \
		>"$T/cu.$n.$RANDOM" 2>&1 &
done
fails=0 ok=0
for j in $(jobs -p); do if wait "$j"; then ok=$((ok + 1)); else fails=$((fails + 1)); fi; done
check "at least one createuser of the three succeeds" test "$ok" -ge 1
others=$(cat "$T"/cu.* | grep -v "another createuser of \"$U2\" is under way" | grep -c . || true)
expect_eq "the others ($fails) say only that another createuser is under way" 0 "$others"
expect_eq "one service" 1 "$(api n1 GET "/services?filters=$(sbx_swarm_filters "{\"name\":[\"$I-$U2\"]}")" | jq length)"
check_not "no lock is left" quiet api n1 GET "/configs/$I-provision-$U2"
expect_eq "$U2 logs in through n2 (its keys are the service's)" "$U2 root" \
	"$(sw_ssh n2 $U2 'hostname; id -un' 2>&1 | tr '\n' ' ' | sed 's/ $//')"
echo "createusers at once: $ok succeeded, $fails refused"

echo "took $((SECONDS - began)) s"
finish

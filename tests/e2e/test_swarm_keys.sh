#!/usr/bin/env bash
# Issue 14, "no per-node step": sshd's AuthorizedKeysCommand (sshbox-keys,
# run as the keys user, asking the node's watchdog) serves a swarm user's
# outer keys from the cluster. alice, provisioned through n1, has her
# ~/.ssh/authorized_keys removed (the bed's homes are shared, so that file
# would serve every node): she still logs in through n2 and n3, a key that
# is not hers is refused, sshbox-keys never prints the inner key, the
# watchdog refuses any other caller, and a name that is no sshbox user's
# gets nothing.
. "$(dirname "$0")/swarm-lib.sh"
began=$SECONDS
A=sbt-sw-kalice
T=$(mktemp -d)
chmod 755 "$T"
trap 'sw_cleanup $A; rm -rf "$T"' EXIT
sw_cleanup $A
KU=$SBX_SWARM_KEYS_USER
KEYS=$SBX_SWARM_KEYS_BIN/sshbox-keys
# keys_as ACCOUNT NODE NAME: sshbox-keys as sshd runs it (that account, its
# groups), against NODE's watchdog; stdout to $T/out, stderr to $T/err.
keys_as() {
	setpriv --reuid "$1" --regid "$(id -g "$1")" --init-groups \
		"$KEYS" --config "$(sbx_swarm_conf "$2")" "$3" >"$T/out" 2>"$T/err"
}

check "alice is provisioned through n1" sw_user $A
home=$(getent passwd $A | cut -d: -f6)
cp "$home/.ssh/authorized_keys" "$T/written"
rm -f "$home/.ssh/authorized_keys"
check "her ~/.ssh/authorized_keys is gone (the only outer keys now are the cluster's)" \
	test ! -e "$home/.ssh/authorized_keys"

# Logins through the other nodes, with keys only from the cluster.
log2=$SBX_SWARM_DIR/sshbox/n2/sshd/sshd.log
seen=$(wc -l <"$log2")
expect_eq "she logs in through n2" "$A" "$(sw_ssh n2 $A hostname 2>&1)"
expect_eq "she logs in through n3" "$A" "$(sw_ssh n3 $A hostname 2>&1)"
check "n2's sshd accepted her key just now" quiet grep "Accepted publickey for $A " <(tail -n +$((seen + 1)) "$log2")
ssh-keygen -q -t ed25519 -N '' -f "$T/stranger"
out=$(nsenter --net=/run/netns/sbxsw-hub ssh "${sbx_ssh_opts[@]}" -i "$T/stranger" \
	"$A@$(sbx_swarm_addr n2)" hostname 2>&1)
rc=$?
check "a key that is not hers is refused ($rc)" test "$rc" = 255
expect_contains "... by sshd" "Permission denied" "$out"

# What sshbox-keys prints, as the keys user.
check "sshbox-keys as $KU answers for alice" keys_as "$KU" n2 $A
expect_eq "it prints what createuser wrote into her home (her key, restricted)" \
	"$(cat "$T/written")" "$(cat "$T/out")"
expect_contains "... which is her own key" "$(cut -d' ' -f1-2 "$SW_KEYS/$A.pub")" "$(cat "$T/out")"
expect_eq "... and nothing else (one line)" 1 "$(wc -l <"$T/out")"
inner=$(cut -d' ' -f2 "$SBX_SWARM_DIR/sshbox/n1/state/users/$A/inner_key.pub")
cluster=$(api n1 GET "/configs/$SBX_SWARM_INSTANCE-authkeys-$A" | jq -r .Spec.Data | base64 -d)
expect_contains "the cluster's config holds the inner key's line" "$inner" "$cluster"
check_not "sshbox-keys never prints the inner key" grep -qF "$inner" "$T/out"

# Other callers and other names.
check_not "run as alice (another unprivileged uid), it gets nothing" keys_as $A n2 $A
expect_eq "... prints nothing" "" "$(cat "$T/out")"
expect_contains "... the watchdog refused it" "only root and the keys user" "$(cat "$T/err")"
check_not "a host account that is no sshbox user (daemon) gets nothing" keys_as "$KU" n2 daemon
expect_eq "... prints nothing" "" "$(cat "$T/out")"
expect_contains "... says why" "is not an sshbox user" "$(cat "$T/err")"
check_not "a name with no account gets nothing" keys_as "$KU" n3 sbt-sw-nobody
expect_contains "... says why" "no account" "$(cat "$T/err")"
check_not "a bad name is refused" keys_as "$KU" n2 'Alice;x'
expect_contains "... with a line naming it" '"Alice;x": not a valid sshbox user name' "$(cat "$T/err")"
long=$(printf 'a%.0s' $(seq 1 40))
check_not "an overlong name is refused" keys_as "$KU" n2 "$long"
expect_contains "... with a line naming it" "\"$long\": the name is longer than 32" "$(cat "$T/err")"
check "no sshbox-keys process is left" test -z "$(pgrep -x sshbox-keys)"

echo "took $((SECONDS - began)) s"
finish

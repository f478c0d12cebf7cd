#!/usr/bin/env bash
# Issue 5, made safe by issue 17: the README's first command, relocated into
# a scratch root with its own sshd (own port and sshd_config), group,
# instance and demo account, against the suite's own dockerd. install.sh
# --demo ends with the demo user logged into a container; again changes
# nothing and works; uninstall keeps user data (and locks the account),
# --purge removes it; install after uninstall works; a broken sshd config,
# or one whose effective settings undo the drop-in (issue 12), is never
# activated and the running sshd keeps serving; an old drop-in name is
# migrated. The machine's own install, if any, is never touched.
. "$(dirname "$0")/lib.sh"
R=$SBX_ROOT/install-root
port=${SBX_INSTALL_PORT:-22225}
user=sbt-idemo group=sbt-inst instance=sbtinst
opts=(--root "$R" --group "$group" --instance "$instance" --demo-user "$user" --engine "$SBX_ENGINE"
	--base-image "$SBX_BASE_IMAGE") # the suite engine's own, built already
key=$R/root/sshbox-demo/id_ed25519
dropin_dir=$R/etc/ssh/sshd_config.d
dropin=$dropin_dir/00-sshbox.conf
export SSHBOX_BUILD_DIR=$SBX_ROOT/install-build

# What a real install on this machine would have: it must not change.
real_paths=(/etc/sshbox /var/lib/sshbox /etc/ssh/sshd_config.d /etc/ssh/sshd_config /usr/local/sbin /usr/local/libexec/sshbox)
real_state() {
	find "${real_paths[@]}" -xdev \( -type f -o -type l \) -print0 2>/dev/null | sort -z |
		xargs -0 -r sha256sum 2>/dev/null | sha256sum
	getent group sshbox
	getent passwd demo
}
real_before=$(real_state)

cleanup() {
	"$SBX_SRC/installer/uninstall.sh" "${opts[@]}" --purge >/dev/null 2>&1
	pid=$(cat "$R/run/sshd.pid" 2>/dev/null) && kill "$pid" 2>/dev/null
	id "$user" >/dev/null 2>&1 && userdel --remove "$user" 2>/dev/null
	getent group "$group" >/dev/null && groupdel "$group"
	# Flag dirs are tmpfs mounts of their own (watchdog/flags.c).
	findmnt -rn -o TARGET | awk -v p="$R/" 'index($0, p) == 1' | sort -r | xargs -r -n1 umount -l
	rm -rf "$R" "$SSHBOX_BUILD_DIR" "$T"
}
trap cleanup EXIT

# A scratch root must name its own group and instance, and uninstall never
# removes a directory that is not sshbox's own.
out=$("$SBX_SRC/installer/install.sh" --root "$R" 2>&1)
expect_ne "--root without --group and --instance is refused" 0 $?
expect_contains "naming what is missing" "also give --group and --instance" "$out"
out=$("$SBX_SRC/installer/uninstall.sh" "${opts[@]}" --run-dir /run --purge 2>&1)
expect_ne "uninstall --run-dir /run is refused" 0 $?
expect_contains "naming the directory" '"/run" is not a directory of sshbox' "$out"
check "and /run is still there" test -d /run/sshd -o -d /run/lock

# The scratch host: sshd's main config including the scratch drop-in dir.
scratch_sshd "$R" "$port"
install_sh() { "$SBX_SRC/installer/install.sh" "${opts[@]}" "$@" 2>&1; }
uninstall_sh() { "$SBX_SRC/installer/uninstall.sh" "${opts[@]}" "$@" 2>&1; }
demo_login() {
	ssh -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
		-o LogLevel=ERROR -o IdentitiesOnly=yes -i "$key" -p "$port" "$user@127.0.0.1" "$@"
}
sums() { sha256sum "$dropin" "$R/etc/sshbox/sshbox.conf" "$R/var/lib/sshbox/users/$user/record" | sha256sum; }

out=$(install_sh --demo)
expect_eq "install.sh --demo into a scratch root succeeds" 0 $?
expect_match "and shows a login into the demo container" "inside container $user as root" "$out"
expect_eq "the demo user lands in its container" "$(sbx_api GET "/containers/$instance-$user/json" | jq -r .Config.Hostname)" "$(demo_login hostname)"
check "the config names the relocated paths" grep -qx "state_dir = $R/var/lib/sshbox" "$R/etc/sshbox/sshbox.conf"
check "the drop-in sorts first (00-sshbox.conf)" test -f "$dropin"
check "and makes the scratch shim the ForceCommand" grep -q "ForceCommand exec $R/usr/local/libexec/sshbox/sshbox-shim --config $R/etc/sshbox/sshbox.conf" "$dropin"
sum1=$(sums)
out=$(install_sh --demo)
expect_eq "running it again succeeds" 0 $?
expect_eq "and changes nothing" "$sum1" "$(sums)"
expect_eq "the demo login still works" root "$(demo_login whoami)"
demo_login 'echo kept > /root/data'

# A broken sshd configuration: install refuses, nothing is activated.
echo "ThisIsNotAnOption yes" >"$dropin_dir/zz-broken.conf"
cp "$dropin" "$T/dropin.before"
out=$(install_sh)
expect_ne "install with a broken sshd config fails" 0 $?
expect_match "and says sshd rejects it" "sshd rejects the configuration" "$out"
check "the previous drop-in stays as it was" cmp -s "$dropin" "$T/dropin.before"
rm -f "$dropin_dir/zz-broken.conf"
expect_eq "the running sshd keeps serving" root "$(demo_login whoami)"

# Issue 12: a drop-in sorted before ours turns TCP forwarding on for everyone.
# sshd takes the first value, so ours would not hold: install refuses.
printf 'Match all\n\tAllowTcpForwarding yes\n' >"$dropin_dir/0-open.conf"
out=$(install_sh)
expect_ne "install where an earlier drop-in allows TCP forwarding fails" 0 $?
expect_match "with a line naming the setting" "effective AllowTcpForwarding for members of group $group is \"yes\", not \"no\"" "$out"
check "the previous drop-in is restored" cmp -s "$dropin" "$T/dropin.before"
rm -f "$dropin_dir/0-open.conf"
out=$(install_sh)
expect_eq "without it install succeeds again" 0 $?

# An older install's drop-in name (sorted after others) is migrated.
mv "$dropin" "$dropin_dir/sshbox.conf"
out=$(install_sh)
expect_eq "install over an old sshbox.conf drop-in succeeds" 0 $?
check "it is replaced by 00-sshbox.conf" test -f "$dropin" -a ! -e "$dropin_dir/sshbox.conf"
expect_eq "and the login works" root "$(demo_login whoami)"

out=$(uninstall_sh)
expect_eq "uninstall succeeds" 0 $?
check "the drop-in is gone" test ! -e "$dropin"
check "the binaries are gone" test ! -e "$R/usr/local/sbin/sshbox-watchdog" -a ! -e "$R/usr/local/libexec/sshbox/sshbox-shim"
check_not "the demo account cannot log in (locked, not given a host shell)" demo_login true
expect_eq "its home volume is kept" "$instance-home-$user" "$(sbx_api GET "/volumes/$instance-home-$user" | jq -r .Name)"

out=$(install_sh)
expect_eq "install after uninstall succeeds" 0 $?
expect_eq "the demo user's data survived" kept "$(demo_login 'cat /root/data')"

out=$(uninstall_sh --purge)
expect_eq "uninstall --purge succeeds" 0 $?
expect_eq "--purge removes the home volume" null "$(sbx_api GET "/volumes/$instance-home-$user" | jq -r .Name)"
check "--purge removes the account" bash -c "! id $user 2>/dev/null"
check "--purge removes state and config" test ! -e "$R/var/lib/sshbox" -a ! -e "$R/etc/sshbox"
check "and the group" bash -c "! getent group $group"
expect_eq "nothing of a real install on this machine changed" "$real_before" "$(real_state)"
finish

#!/usr/bin/env bash
# Issue 5: the README's first command on this machine: install.sh --demo ends
# with the demo user logged into a container; again changes nothing and
# works; uninstall keeps user data (and locks the account), --purge removes
# it; install after uninstall works; a broken sshd config is never
# activated and the running sshd keeps serving.
. "$(dirname "$0")/lib.sh"
key=/root/sshbox-demo/id_ed25519
dropin=/etc/ssh/sshd_config.d/sshbox.conf
sshd_was_running=0
pgrep -f '^/usr/sbin/sshd$' >/dev/null && sshd_was_running=1
demo_login() {
	ssh -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
		-o LogLevel=ERROR -o IdentitiesOnly=yes -i "$key" -p 22 demo@127.0.0.1 "$@"
}
api() { curl -sS --max-time 60 --unix-socket /var/run/docker.sock -X "$1" "http://localhost/v1.41$2"; }

out=$("$SBX_SRC/installer/install.sh" --demo 2>&1)
expect_eq "install.sh --demo succeeds" 0 $?
expect_match "and shows a login into the demo container" "inside container demo as root" "$out"
expect_eq "the demo user lands in its container" "$(api GET /containers/sshbox-demo/json | jq -r .Config.Hostname)" "$(demo_login hostname)"
sum1=$(sha256sum "$dropin" /etc/sshbox/sshbox.conf /var/lib/sshbox/users/demo/record | sha256sum)
out=$("$SBX_SRC/installer/install.sh" --demo 2>&1)
expect_eq "running it again succeeds" 0 $?
expect_eq "and changes nothing" "$sum1" "$(sha256sum "$dropin" /etc/sshbox/sshbox.conf /var/lib/sshbox/users/demo/record | sha256sum)"
expect_eq "the demo login still works" root "$(demo_login whoami)"
demo_login 'echo kept > /root/data'

# A broken sshd configuration: install refuses, nothing is activated.
echo "ThisIsNotAnOption yes" >/etc/ssh/sshd_config.d/zz-broken.conf
cp "$dropin" "$T/dropin.before"
out=$("$SBX_SRC/installer/install.sh" 2>&1)
expect_ne "install with a broken sshd config fails" 0 $?
expect_match "and says sshd rejects it" "sshd rejects the configuration" "$out"
check "the previous drop-in stays as it was" cmp -s "$dropin" "$T/dropin.before"
rm -f /etc/ssh/sshd_config.d/zz-broken.conf
expect_eq "the running sshd keeps serving" root "$(demo_login whoami)"

out=$("$SBX_SRC/installer/uninstall.sh" 2>&1)
expect_eq "uninstall succeeds" 0 $?
check "the drop-in is gone" test ! -e "$dropin"
check "the binaries are gone" test ! -e /usr/local/sbin/sshbox-watchdog -a ! -e /usr/local/libexec/sshbox/sshbox-shim
check_not "the demo account cannot log in (locked, not given a host shell)" demo_login true
expect_eq "its home volume is kept" sshbox-home-demo "$(api GET /volumes/sshbox-home-demo | jq -r .Name)"

out=$("$SBX_SRC/installer/install.sh" 2>&1)
expect_eq "install after uninstall succeeds" 0 $?
expect_eq "the demo user's data survived" kept "$(demo_login 'cat /root/data')"

out=$("$SBX_SRC/installer/uninstall.sh" --purge 2>&1)
expect_eq "uninstall --purge succeeds" 0 $?
expect_eq "--purge removes the home volume" null "$(api GET /volumes/sshbox-home-demo | jq -r .Name)"
check "--purge removes the account" bash -c '! id demo 2>/dev/null'
check "--purge removes state and config" test ! -e /var/lib/sshbox -a ! -e /etc/sshbox
if [ $sshd_was_running = 0 ]; then
	pkill -f '^/usr/sbin/sshd$' # the host sshd install.sh started for this test
fi
rm -rf /root/sshbox-demo
finish

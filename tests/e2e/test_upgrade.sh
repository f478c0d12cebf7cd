#!/usr/bin/env bash
# Issue 16, Must show 3: installing a newer build over a running install
# (installer/install.sh into a scratch root, as test_install.sh does) with
# 5 live sessions of two users, one of them an sftp upload of 256 MiB
# mid-way: every session goes on, the upload arrives byte-identical, no
# container is restarted (State.StartedAt), the shims rejoin the new
# watchdog, the running shims keep their old binary (it was replaced by
# rename, never rewritten in place), and the watchdog that runs is the new
# build. The package's upgrade path is test_package.sh's.
. "$(dirname "$0")/lib.sh"
# A write to a session that ended is a failed check, not the end of the test.
trap '' PIPE
skip_in_asan # it builds and installs its own (unsanitized) binaries
R=$SBX_ROOT/upgrade-root
port=${SBX_UPGRADE_PORT:-22242}
u1=sbt-upg1 u2=sbt-upg2 group=sbt-upg instance=sbtupg
opts=(--root "$R" --group "$group" --instance "$instance" --demo-user "$u1" --engine "$SBX_ENGINE"
	--base-image "$SBX_BASE_IMAGE")
conf=$R/etc/sshbox/sshbox.conf
# The build is kept between runs (only what the build id touches is
# rebuilt), one per source tree.
SSHBOX_BUILD_DIR=$SBX_ROOTFS_CACHE/upgrade-build-$(echo "$SBX_SRC" | sha256sum | cut -c1-8)
export SSHBOX_BUILD_DIR

cleanup() {
	exec {in1}>&- {in2}>&- {in3}>&- 2>/dev/null
	kill "${bg[@]}" 2>/dev/null
	"$SBX_SRC/installer/uninstall.sh" "${opts[@]}" --purge >/dev/null 2>&1
	pid=$(cat "$R/run/sshd.pid" 2>/dev/null) && kill "$pid" 2>/dev/null
	for u in $u1 $u2; do id "$u" >/dev/null 2>&1 && userdel --remove "$u" 2>/dev/null; done
	getent group "$group" >/dev/null && groupdel "$group"
	findmnt -rn -o TARGET | awk -v p="$R/" 'index($0, p) == 1' | sort -r | xargs -r -n1 umount -l
	rm -rf "$R" "$T"
}
trap cleanup EXIT
bg=()

scratch_sshd "$R" "$port"
start=$SECONDS
out=$(SSHBOX_BUILD_ID=upgrade-old "$SBX_SRC/installer/install.sh" "${opts[@]}" --demo 2>&1)
rc=$?
expect_eq "the old build installs" 0 $rc
[ $rc = 0 ] || { printf '%s\n' "$out" | tail -n 20; finish; }
echo "# first install: $((SECONDS - start)) s"
ssh-keygen -q -t ed25519 -N '' -C "$u2" -f "$T/$u2"
check "a second user" "$R/usr/local/sbin/sshbox" --config "$conf" createuser "$u2" "$SBX_BASE_IMAGE:latest" "$T/$u2.pub"
cp "$R/root/sshbox-demo/id_ed25519" "$T/$u1"
login() { # USER [ssh args...]
	local u=$1
	shift
	ssh "${sbx_ssh_opts[@]}" -i "$T/$u" -p "$port" "$u@127.0.0.1" "$@"
}
wd_pid() { cat "$R/run/sshbox/watchdog.pid"; }
old_wd=$(wd_pid)
expect_eq "the old watchdog runs" "sshbox-watchdog 0.1.0 (build upgrade-old)" "$("/proc/$old_wd/exe" --version)"

# Five sessions: two line-echo loops (one per user), a pty shell, a ticker,
# and an sftp upload throttled so the upgrade lands mid-way.
for n in 1 2 3; do mkfifo "$T/in$n"; done
# shellcheck disable=SC2016 # the remote shell expands them
loop='while read l; do echo "got $l"; done'
login $u1 "$loop" <"$T/in1" >"$T/out1" 2>&1 &
bg+=($!)
login $u2 "$loop" <"$T/in2" >"$T/out2" 2>&1 &
bg+=($!)
login $u1 -tt <"$T/in3" >"$T/out3" 2>&1 &
bg+=($!)
# shellcheck disable=SC2016
login $u2 'for i in $(seq 1 40); do echo "tick $i"; sleep 1; done; echo ticked' >"$T/ticks" 2>&1 &
ticker=$!
exec {in1}>"$T/in1" {in2}>"$T/in2" {in3}>"$T/in3"
got() { grep -q "$2" "$T/out$1"; }
echo one >&$in1
echo one >&$in2
echo "echo \"pty \$((6 * 7))\"" >&$in3
check "session 1 is live" wait_for 20 got 1 "^got one"
check "session 2 is live" wait_for 20 got 2 "^got one"
check "session 3 (pty) is live" wait_for 20 got 3 "pty 42"
check "session 4 ticks" wait_for 20 grep -q "tick 2" "$T/ticks"

head -c 256M /dev/urandom >"$T/big"
sum=$(sha256sum <"$T/big" | cut -d' ' -f1)
echo "put $T/big /root/up.bin" >"$T/batch"
# 60 Mbit/s: about 36 s for 256 MiB, longer than the upgrade takes.
sftp -l 60000 -b "$T/batch" "${sbx_ssh_opts[@]}" -i "$T/$u1" -P "$port" "$u1@127.0.0.1" >"$T/sftp.out" 2>&1 &
upload=$!
uploaded() { login $u1 'stat -c %s /root/up.bin 2>/dev/null || echo 0'; }
some() { [ "$(uploaded)" -gt $((24 << 20)) ]; }
check "the upload is under way" wait_for 20 some
sessions_of() { "$R/usr/local/sbin/sshbox" --config "$conf" list | awk -v u="$1" '$1 == u {print $4}'; }
five() { [ $(($(sessions_of "$u1") + $(sessions_of "$u2"))) -ge 5 ]; }
check "five sessions are counted" wait_for 10 five
start1=$(sbx_api GET "/containers/$instance-$u1/json" | jq -r .State.StartedAt)
start2=$(sbx_api GET "/containers/$instance-$u2/json" | jq -r .State.StartedAt)
shim_ino=$(stat -c %i "$R/usr/local/libexec/sshbox/sshbox-shim")

start=$SECONDS
out=$(SSHBOX_BUILD_ID=upgrade-new "$SBX_SRC/installer/install.sh" "${opts[@]}" 2>&1)
rc=$?
expect_eq "the new build installs over the running one" 0 $rc
[ $rc = 0 ] || printf '%s\n' "$out" | tail -n 20
echo "# upgrade (rebuild, place, restart): $((SECONDS - start)) s; uploaded then: $(($(uploaded) >> 20)) MiB of 256"
check "the upload was still under way when the upgrade was done" kill -0 "$upload"
new_wd=$(wd_pid)
expect_ne "a new watchdog runs" "$old_wd" "$new_wd"
expect_eq "and it is the new build" "sshbox-watchdog 0.1.0 (build upgrade-new)" "$("/proc/$new_wd/exe" --version)"
check "the old watchdog is gone" bash -c "! kill -0 $old_wd 2>/dev/null"
expect_ne "the shim was replaced by a new file (rename), not rewritten" "$shim_ino" \
	"$(stat -c %i "$R/usr/local/libexec/sshbox/sshbox-shim")"
shims=$(pgrep -u "$u1" -x sshbox-shim | head -1)
check "a running shim still runs its old binary" bash -c "readlink /proc/$shims/exe | grep -q '(deleted)'"
expect_eq "the new shim is the new build" "sshbox-shim 0.1.0 (build upgrade-new)" \
	"$("$R/usr/local/libexec/sshbox/sshbox-shim" --version)"

echo two >&$in1
echo two >&$in2
echo "echo \"pty \$((6 * 8))\"" >&$in3
check "session 1 goes on" wait_for 20 got 1 "^got two"
check "session 2 goes on" wait_for 20 got 2 "^got two"
check "session 3 (pty) goes on" wait_for 20 got 3 "pty 48"
wait "$upload"
expect_eq "the upload completes" 0 $?
expect_eq "and arrives byte-identical" "$sum" "$(login $u1 'sha256sum < /root/up.bin' | cut -d' ' -f1)"
wait "$ticker"
expect_eq "session 4 ticked to the end" "ticked" "$(tail -n 1 "$T/ticks" | tr -d '\r')"
check "its ticks are all there" bash -c "[ \$(grep -c '^tick [0-9]' '$T/ticks') = 40 ]"
expect_eq "$u1's container was not restarted" "$start1" "$(sbx_api GET "/containers/$instance-$u1/json" | jq -r .State.StartedAt)"
expect_eq "$u2's container was not restarted" "$start2" "$(sbx_api GET "/containers/$instance-$u2/json" | jq -r .State.StartedAt)"
counted() { [ "$(sessions_of "$1")" = "$2" ]; }
check "the live shims rejoined the new watchdog ($u1: 2)" wait_for 15 counted $u1 2
check "($u2: 1)" wait_for 15 counted $u2 1
expect_eq "a new login works" root "$(login $u2 whoami)"
exec {in1}>&- {in2}>&-
echo exit >&$in3
exec {in3}>&-
wait "${bg[@]}"
finish

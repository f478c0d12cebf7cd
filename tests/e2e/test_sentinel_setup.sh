#!/usr/bin/env bash
# Issue 17, Must show 1 (first half): before anything else of the suite, a
# "real" install on the machine's dockerd (started with installer/deps.sh
# when none runs, as on CI): README's first command relocated to a scratch
# root with its own sshd, two users with files in their homes, one committed
# image, and a running container of another project made straight through
# the engine API (as `docker run` would). Its state is recorded;
# test_sentinel_check.sh, the suite's last test, proves it untouched.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sentinel.sh"
if [ -n "${SBX_SENTINEL_OWNER:-}" ] && [ -z "${SBX_SENTINEL_RUN:-}" ]; then
	echo "skip: the sentinel is set up and checked by tests/run.sh around all phases"
	exit 77
fi

# A sentinel left by an interrupted run goes first.
"$(dirname "$0")/test_sentinel_check.sh" --remove-only >/dev/null 2>&1

started=0
snt_dockerd_pid >/dev/null || started=1
"$SBX_SRC/installer/deps.sh" >/dev/null
check "the machine's dockerd runs" snt_dockerd_runs
mkdir -p "$SNT/keys" "$SNT_ROOT/etc/ssh/sshd_config.d" "$SNT_ROOT/run"
chmod 700 "$SNT/keys"
echo "$started" >"$SNT/started-dockerd"

scratch_sshd "$SNT_ROOT" "$SNT_PORT"

export SSHBOX_ROOTFS_CACHE=$SBX_ROOTFS_CACHE SSHBOX_BUILD_DIR=$SNT/build
out=$("$SBX_SRC/installer/install.sh" "${snt_opts[@]}" --demo 2>&1)
expect_eq "README's first command, relocated, on the machine's dockerd" 0 $?
expect_match "it logged the demo user in" "inside container sbs-ann as root" "$out"
[ "$failed" = 0 ] || { printf '%s\n' "$out" | tail -n 20; finish; }

ssh-keygen -q -t ed25519 -N '' -C "sbs-ben" -f "$SNT/keys/sbs-ben"
check "a second user" "$SNT_ROOT/usr/local/sbin/sshbox" --config "$SNT_CONF" createuser sbs-ben \
	"$SNT_IMAGE:latest" "$SNT/keys/sbs-ben.pub"
for u in $SNT_USERS; do
	check "$u writes a file in their home" snt_ssh "$u" "echo 'file of $u' > /root/sentinel.txt"
done
check "sbs-ann commits her container" snt_ssh sbs-ann commit

body=$(jq -n --arg img "$SNT_IMAGE:latest" '{Image: $img, Cmd: ["sleep", "infinity"],
	Labels: {"project": "not-sshbox"}, HostConfig: {Init: true}}')
snt_api POST "/containers/create?name=$SNT_OTHER" -H 'Content-Type: application/json' -d "$body" >/dev/null
snt_api POST "/containers/$SNT_OTHER/start" >/dev/null
expect_eq "another project's container runs" true "$(snt_api GET "/containers/$SNT_OTHER/json" | jq -r .State.Running)"

snt_state >"$SNT/state"
echo "--- recorded:"
cat "$SNT/state"
check "the state names every part" bash -c "! grep -qE ' (null|)$' '$SNT/state'"
finish

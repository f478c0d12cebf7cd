#!/usr/bin/env bash
# Issue 17, Must show 1 (second half): the suite's last test. The "real"
# install test_sentinel_setup.sh made on the machine's dockerd is untouched
# by everything the suite did: its config dir, state dir, drop-in and
# binaries byte-identical, the machine's dockerd the same process, the other
# project's container the same and running (same start time), the base and
# committed images the same, its sshd and watchdog the same processes, the
# accounts unlocked; both users log in and find their files. Then the
# sentinel is removed (with --remove-only, only that).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sentinel.sh"
if [ -n "${SBX_SENTINEL_OWNER:-}" ] && [ -z "${SBX_SENTINEL_RUN:-}" ]; then
	echo "skip: the sentinel is set up and checked by tests/run.sh around all phases"
	exit 77
fi

remove() {
	[ -d "$SNT" ] || return 0
	"$SBX_SRC/installer/uninstall.sh" "${snt_opts[@]}" --purge >/dev/null 2>&1
	pid=$(cat "$SNT_ROOT/run/sshd.pid" 2>/dev/null) && kill "$pid" 2>/dev/null
	snt_api DELETE "/containers/$SNT_OTHER?force=1" >/dev/null 2>&1
	snt_api DELETE "/images/$SNT_INSTANCE-user:sbs-ann?force=1" >/dev/null 2>&1
	for img in $(snt_api GET /images/json 2>/dev/null | jq -r ".[].RepoTags[]? | select(startswith(\"$SNT_IMAGE:\"))"); do
		snt_api DELETE "/images/$img?force=1" >/dev/null 2>&1
	done
	for u in $SNT_USERS; do id "$u" >/dev/null 2>&1 && userdel --remove "$u" 2>/dev/null; done
	getent group "$SNT_GROUP" >/dev/null && groupdel "$SNT_GROUP"
	# A dockerd the sentinel started (none ran, as on CI) is stopped again.
	if [ "$(cat "$SNT/started-dockerd" 2>/dev/null)" = 1 ] && pid=$(snt_dockerd_pid); then
		kill "$pid"
		for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	findmnt -rn -o TARGET | awk -v p="$SNT/" 'index($0, p) == 1' | sort -r | xargs -r -n1 umount -l
	rm -rf "$SNT"
}
if [ "${1:-}" = --remove-only ]; then remove; exit 0; fi
trap 'remove; rm -rf "$T"' EXIT

if [ ! -f "$SNT/state" ]; then
	not_ok "no sentinel was set up ($SNT/state is missing): run test_sentinel_setup.sh first"
	finish
fi
now=$(snt_state)
while read -r name was; do
	is=$(awk -v n="$name" '$1 == n {sub(/^[^ ]+ ?/, ""); print}' <<<"$now")
	expect_eq "unchanged: $name" "$was" "$is"
done <"$SNT/state"
for u in $SNT_USERS; do
	expect_eq "$u still logs in and finds their file" "file of $u" "$(snt_ssh "$u" 'cat /root/sentinel.txt')"
done
expect_eq "the other project's container still runs" true "$(snt_api GET "/containers/$SNT_OTHER/json" | jq -r .State.Running)"
finish

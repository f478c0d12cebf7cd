#!/usr/bin/env bash
# Issue 14, security, tried from inside: two traps an image can carry, set
# the way a user can (root in their own container, then `commit`).
# 1. An image with a HEALTHCHECK: the engine would exec it in the container
#    from its start, before sshbox's own first process is in charge. It
#    never runs: no trace after several intervals, no health state.
# 2. A symlinked /.sshbox (into the home volume, the flag dir, /tmp), with a
#    file of the user's waiting where the bundle would land: the user's
#    commit of it is refused in one line; made the engine's way (an admin's
#    image), the next login is refused in one line before the container
#    starts, and no file the user placed runs.
. "$(dirname "$0")/lib.sh"
began=$SECONDS
U=sbt-trap
repo=sshbox-imagetraps
quiet() { "$@" >/dev/null 2>&1; } # CMD...: for check, which prints only its verdict
restore() {
	sbx_admin cleanuser $U >/dev/null 2>&1
	sbx_api DELETE "/images/$repo:hc?force=1" >/dev/null 2>&1
	rm -rf "$T"
}
trap restore EXIT
restore
mkdir -p "$T"
[ -f "$SBX_KEYS/$U" ] || ssh-keygen -q -t ed25519 -N '' -C "$U test key" -f "$SBX_KEYS/$U"

# sshd_pid USER: the container's sshd, docker-init's child, seen from the host.
sshd_pid() {
	local init
	init=$(container_field "$1" .State.Pid) || return 1
	[ "$init" -gt 0 ] 2>/dev/null || return 1
	awk '{print $1}' "/proc/$init/task/$init/children"
}
post_json() { # PATH JSON: the engine API with a body
	curl -sS --max-time 60 --unix-socket "$SBX_ENGINE" -H 'Content-Type: application/json' \
		-d "$2" "http://localhost/v1.41$1"
}

# 1. HEALTHCHECK: an image made from the base image by the engine's commit
#    with a Config, as `docker commit --change HEALTHCHECK...` does.
hc='{"Healthcheck":{"Test":["CMD-SHELL","date >>/tmp/hc; date >>/root/hc"],"Interval":1000000000,"Timeout":1000000000,"StartPeriod":1000000}}'
id=$(post_json /containers/create "{\"Image\":\"$SBX_BASE_IMAGE:latest\",\"Cmd\":[\"/bin/true\"]}" | jq -r .Id)
post_json "/commit?container=$id&repo=$repo&tag=hc" "$hc" >/dev/null
sbx_api DELETE "/containers/$id?force=1" >/dev/null
expect_eq "the image carries a HEALTHCHECK that runs every second" "CMD-SHELL 1000000000" \
	"$(sbx_api GET "/images/$repo:hc/json" | jq -r '"\(.Config.Healthcheck.Test[0]) \(.Config.Healthcheck.Interval)"')"
check "$U is provisioned with it" quiet sbx_admin createuser $U "$repo:hc" "$SBX_KEYS/$U.pub"
expect_eq "$U logs in" in "$(sbx_ssh $U 'echo in' 2>&1)"
pid=$(sshd_pid $U)
bundle_sum=$(sha256sum <"$SBX_STATE/bundles/current/sshd" | cut -d' ' -f1)
expect_eq "its sshd is the bundle's (checksum, from the host)" "$bundle_sum" \
	"$(sha256sum <"/proc/$pid/exe" | cut -d' ' -f1)"
# Nothing to wait for: the trace must stay absent past several intervals.
sleep 4
check_not "no health check ran in the container (no trace in /tmp, seen from the host)" \
	test -e "/proc/$pid/root/tmp/hc"
check_not "nor in the home volume" test -e "/proc/$pid/root/root/hc"
expect_eq "the container's health check is NONE and the engine keeps no health state" "NONE null" \
	"$(container_field $U '"\(.Config.Healthcheck.Test[0]) \(.State.Health)"')"

# 2. A symlinked /.sshbox. As root in the running container: the bundle's
#    mount point moves aside, /.sshbox points at TARGET, and TARGET/sshd
#    holds the user's own sshd and gate, which would leave a trace and fail.
#    The engine would follow the link when it mounts the bundle (into the
#    home volume, the writable flag dir, /tmp), so sshbox refuses the image
#    in one line before the container starts.
# shellcheck disable=SC2016 # the bait's own shell expands them
bait='#!/bin/sh
echo "$0 $*" >>/tmp/bait-ran; echo "$0" >>/root/bait-ran; exit 1'
# in_box USER PATH: PATH exists in the user's container, running or not
# (the engine's archive stat, with the home volume mounted).
in_box() {
	[ "$(curl -sS -o /dev/null -w '%{http_code}' --head --max-time 30 --unix-socket "$SBX_ENGINE" \
		"http://localhost/v1.41/containers/$(sbx_container "$1")/archive?path=$2")" = 200 ]
}
image=$SBX_INSTANCE-user:$U
for target in /root /run/sshbox /tmp; do
	out=$(sbx_ssh $U "set -e; mv /.sshbox /.sshbox-\$\$; ln -s $target /.sshbox
		mkdir -p $target/sshd; for f in sshd gate; do printf '%s\n' '$bait' >$target/sshd/\$f
		chmod 755 $target/sshd/\$f; done; readlink /.sshbox" 2>&1)
	expect_eq "$target: /.sshbox is a symlink to it, with the user's sshd there" "$target" "$out"
	out=$(sbx_ssh $U commit 2>&1)
	expect_contains "$target: the user's commit is refused, naming the link" \
		"not committed: /.sshbox in your container is a symlink (to \"$target\")" "$out"
	expect_eq "$target: (no image of the user's was made)" "" \
		"$(sbx_api GET "/images/$image/json" | jq -r '.Id // empty')"
	# The same image made the engine's way (an admin's image, an older
	# sshbox's commit): sshbox refuses it at the start.
	check "$target: the engine commits it as $U's image (from the host)" \
		quiet sbx_api POST "/commit?container=$(sbx_container $U)&repo=${image%:*}&tag=$U"
	check "$target: remove drops the container" quiet sbx_ssh $U remove
	out=$(sbx_ssh $U 'echo in' 2>&1)
	rc=$?
	expect_eq "$target: the next login is refused in one line naming the image and the link" \
		"255 sshbox: cannot start your container: image \"$image\" cannot be used: its /.sshbox is a symlink (to \"$target\")" \
		"$rc ${out%%, where sshbox*}"
	check_not "$target: the container did not start" container_running $U
	check "$target: (the engine's stat from the host sees the link in it)" in_box $U /.sshbox
	check_not "$target: no file the user placed ran (nothing in its /tmp)" in_box $U /tmp/bait-ran
	check_not "$target: nor in the home volume" in_box $U /root/bait-ran
	# Back to the configured image for the next target.
	sbx_ssh $U remove >/dev/null 2>&1
	sbx_api DELETE "/images/$image?force=1" >/dev/null
	rm -rf "$SBX_STATE/users/$U/flags/sshd"
	sbx_ssh $U 'rm -rf /root/sshd /root/bait-ran' >/dev/null 2>&1
done
echo "took $((SECONDS - began)) s"
finish

#!/usr/bin/env bash
# Issue 14, security: no code of the user's runs in a swarm task before its
# home node has fenced it (docs/security.md, "Swarm mode"). eve, as root in
# her container, replaces /bin/sh (what a task built from the image's own
# shell would run first) with one that tries to reach vic's container and
# notes each try, with its parent's pid, in her home. Her stop saves that as
# her layer, so the next start is from it. That start runs sshbox's gate
# first, which starts sshd only once the fence is in place: eve's /bin/sh
# never runs as the task's first process, and none of its tries connects;
# run by hand after the fence, it is refused too. hal's image has a
# HEALTHCHECK (the engine would exec it from the task's start, before the
# fence): it never runs in his task. Then hal makes /.sshbox a symlink to
# /tmp with his own gate and sshd there: that layer is never saved (kept for
# the admin), and his next start is from his image, with sshbox's sshd.
. "$(dirname "$0")/swarm-lib.sh"
began=$SECONDS
E=sbt-sw-eve V=sbt-sw-vic H=sbt-sw-hal
hc_image=sshbox-swtrap:hc
holder='' hal_holder=
hc_gone() { for n in "${SBX_SWARM_NODES[@]}"; do api "$n" DELETE "/images/$hc_image?force=1" >/dev/null 2>&1; done; }
trap 'kill $holder $hal_holder 2>/dev/null; api n2 DELETE "/containers/${linked:-none}?force=1" >/dev/null 2>&1; sw_cleanup $E $V $H; sw_images_gone layer $E; sw_images_gone layer $H; hc_gone; rm -rf "$T"' EXIT
sw_cleanup $E $V $H
sw_images_gone layer $E
sw_images_gone layer $H

# hal's image: the base image with a HEALTHCHECK that runs every second and
# leaves a trace, made by each node's engine as `docker commit --change`
# would (the image is node-local, like the base image).
hc='{"Healthcheck":{"Test":["CMD-SHELL","date >>/tmp/hc"],"Interval":1000000000,"Timeout":1000000000}}'
for n in "${SBX_SWARM_NODES[@]}"; do
	id=$(api "$n" POST /containers/create "{\"Image\":\"$SBX_SWARM_IMAGE:latest\",\"Cmd\":[\"/bin/true\"]}" | jq -r .Id)
	api "$n" POST "/commit?container=$id&repo=${hc_image%:*}&tag=${hc_image#*:}" "$hc" >/dev/null
	api "$n" DELETE "/containers/$id?force=1" >/dev/null
done
expect_eq "hal's image carries a HEALTHCHECK" CMD-SHELL \
	"$(api n2 GET "/images/$hc_image/json" | jq -r '.Config.Healthcheck.Test[0]')"
[ -f "$SW_KEYS/$H" ] || ssh-keygen -q -t ed25519 -N '' -f "$SW_KEYS/$H"
check "hal (home n2) is provisioned with it" quiet "$SW_ADMIN" --config "$(sbx_swarm_conf n1)" \
	createuser --node n2 $H "$hc_image" "$SW_KEYS/$H.pub"
expect_eq "hal logs in through n1" in "$(sw_ssh n1 $H 'echo in' 2>&1)"
sw_ssh_bg n1 $H 'sleep 150' # keeps his task up until it is looked at
hal_holder=$SW_BG
hal_box=$(sw_task $H | jq -r .Status.ContainerStatus.ContainerID)
hal_pid=$(api n2 GET "/containers/$hal_box/json" | jq -r .State.Pid)
hal_began=$SECONDS
check "eve (home n2) and vic (home n3) are provisioned" \
	quiet eval "sw_user $E n2 && sw_user $V n3"
gcc -static -O2 -o "$T/netprobe" "$(dirname "$0")/tools/netprobe.c" || { not_ok "netprobe builds"; finish; }

sw_ssh_bg n1 $V 'sleep 150' # keeps vic's container and its server up
holder=$SW_BG
check "vic's netprobe is in place" quiet wait_for 20 sw_ssh n1 $V \
	'cat > /tmp/netprobe && chmod 755 /tmp/netprobe' <"$T/netprobe"
sw_ssh n1 $V 'nohup /tmp/netprobe listen 8000 >/dev/null 2>&1 &'
vic_ip=$(sw_task $V | jq -r --arg net "$SBX_SWARM_INSTANCE-net" \
	'.NetworksAttachments[] | select(.Network.Spec.Name == $net) | .Addresses[0] | sub("/.*"; "")')
expect_eq "vic's server answers on his overlay address" open \
	"$(sw_ssh n3 $V "/tmp/netprobe connect $vic_ip 8000")"

# eve's /bin/sh: tries for up to 2 s, notes "PID PPID RESULT", then is dash.
cat >"$T/sh" <<EOF
#!/bin/dash
i=0
while :; do
	r=\$(/usr/local/bin/netprobe connect $vic_ip 8000)
	[ "\$r" = open ] || [ \$i -ge 10 ] && break
	i=\$((i + 1))
	sleep 0.2
done
echo "\$\$ \$PPID \$r" >>/root/attempts
exec /bin/dash "\$@"
EOF
check "eve puts netprobe and her own /bin/sh in her container" quiet sw_ssh n1 $E \
	"cat > /usr/local/bin/netprobe && chmod 755 /usr/local/bin/netprobe &&
	 base64 -d > /bin/sh.new <<<'$(base64 -w0 "$T/sh")' && chmod 755 /bin/sh.new &&
	 mv -f /bin/sh.new /bin/sh && rm -f /root/attempts" <"$T/netprobe"
stopped() { [ "$(sw_replicas "$E")" = 0 ]; }
label() { sw_service "$E" | jq -r --arg k "$1" '.Spec.Labels[$k] // empty'; }
saved() { [ -z "$(label sshbox.saving)" ] && [ -n "$(label sshbox.layer)" ]; }
check "her idle stop scales her service to 0" wait_for 20 stopped
check "and n2 saves her layer, /bin/sh with it" wait_for 40 saved

# The next start is from that layer: her login lands after the fence.
expect_eq "the task's first process is sshbox's gate" /.sshbox/sshd/gate \
	"$(sw_service $E | jq -r '.Spec.TaskTemplate.ContainerSpec.Command[0]')"
expect_eq "and no HEALTHCHECK of the image runs in it (the engine would exec it before the fence)" NONE \
	"$(sw_service $E | jq -r '.Spec.TaskTemplate.ContainerSpec.Healthcheck.Test[0]')"
out=$(sw_ssh n1 $E 'head -c 11 /bin/sh; echo; cat /root/attempts 2>/dev/null' 2>&1)
expect_eq "her next login runs in the container with her /bin/sh" "#!/bin/dash" "$(head -1 <<<"$out")"
attempts=$(sed 1d <<<"$out")
# task_sshd USER: "CHECKSUM PATH" of the sshd its task (home n2) runs, from
# the host; bundle_sshd: what n2's bundle's sshd gives.
task_sshd() {
	local box init sshd
	box=$(sw_task "$1" | jq -r .Status.ContainerStatus.ContainerID)
	init=$(api n2 GET "/containers/$box/json" | jq -r .State.Pid)
	sshd=$(awk '{print $1}' "/proc/$init/task/$init/children")
	echo "$(sha256sum <"/proc/$sshd/exe" | cut -d' ' -f1) $(readlink "/proc/$sshd/exe")"
}
bundle_sshd="$(sha256sum <"$SBX_SWARM_DIR/sshbox/n2/state/bundles/current/sshd" | cut -d' ' -f1) /.sshbox/sshd/sshd"
expect_eq "her task's sshd is n2's bundle's (checksum, from the host)" "$bundle_sshd" "$(task_sshd $E)"
expect_eq "her /bin/sh never ran as the task's first process (child of docker-init)" "" \
	"$(awk '$2 == 1' <<<"$attempts")"
check_not "no try of hers reached vic's container" grep -q open <<<"$attempts"
last=$(sw_ssh n1 $E 'sh -c true; tail -n 1 /root/attempts' 2>&1)
expect_match "her /bin/sh does try when run by hand (after the fence)" '^[0-9]+ [0-9]+ ' "$last"
check_not "and that try does not connect" grep -q open <<<"$last"
# hal's check ran long enough by now (eve's stop and save take longer).
while [ $((SECONDS - hal_began)) -lt 4 ]; do sleep 0.5; done
check_not "hal's HEALTHCHECK never ran in his task (no trace, seen from the host)" \
	test -e "/proc/$hal_pid/root/tmp/hc"
check "(his task was still running when looked at)" test -d "/proc/$hal_pid/root/tmp"
expect_eq "and n2's engine keeps no health state for it" "NONE null" \
	"$(api n2 GET "/containers/$hal_box/json" | jq -r '"\(.Config.Healthcheck.Test[0]) \(.State.Health)"')"
kill "$hal_holder"
hlabel() { sw_service "$H" | jq -r --arg k "$1" '.Spec.Labels[$k] // empty'; }
# hal makes /.sshbox a symlink to /tmp, with his own gate and sshd waiting
# where the bundle would land (in his first container: /.sshbox is in its
# own layer there; in one from a saved layer overlayfs refuses the rename):
# a layer no task could start from (the engine follows the link when it
# mounts) is never saved. n2 keeps the container for the admin, as after a
# failed save, and his next start is from his image again.
# shellcheck disable=SC2016 # the bait's own shell expands them
bait='#!/bin/sh
echo "$0" >>/root/bait-ran; exit 1'
out=$(sw_ssh n1 $H "set -e; mv /.sshbox /.sshbox-old; ln -s /tmp /.sshbox; mkdir -p /tmp/sshd
	 for f in gate sshd; do printf '%s\n' '$bait' >/tmp/sshd/\$f; chmod 755 /tmp/sshd/\$f; done
	 echo linked" 2>&1)
expect_eq "hal points /.sshbox at /tmp, his own gate and sshd there" linked "$out"
linked=$(hlabel sshbox.fenced)
layer=$(hlabel sshbox.layer)
hstopped() { [ "$(sw_replicas "$H")" = 0 ]; }
check "his idle stop scales his service to 0" wait_for 20 hstopped
kept() { [ -z "$(hlabel sshbox.saving)" ] && [ "$(hlabel sshbox.unsaved)" = "${linked:0:12}" ]; }
check "n2 does not save that layer: his service names the container kept" wait_for 40 kept
expect_eq "he still has no layer" "$layer" "$(hlabel sshbox.layer)"
check "n2's log names the link" grep -q "user \"$H\": cannot save task container ${linked:0:12} after 1 attempt: .*its /.sshbox is a symlink (to \"/tmp\")" \
	"$SBX_SWARM_DIR/sshbox/n2/watchdog.log"
out=$(sw_ssh n1 $H 'test -L /.sshbox && echo link || echo dir; cat /root/bait-ran 2>/dev/null' 2>&1)
expect_eq "his next login starts from his image: /.sshbox is sshbox's, no bait ran" dir "$out"
expect_eq "and his task's sshd is n2's bundle's" "$bundle_sshd" "$(task_sshd $H)"
check "n2 fenced her task before it started sshd" grep -q "user \"$E\": task container .* fenced" \
	"$SBX_SWARM_DIR/sshbox/n2/watchdog.log"
echo "took $((SECONDS - began)) s"
finish

#!/usr/bin/env bash
# Issue 14, design-cluster.md 3.10: every save commits one more layer, and
# overlay2 refuses an image past ~125. With swarm_layer_flatten low on n3
# (her image's depth + 2, reloaded with SIGHUP; put back at the end), flo
# (home n3, an image with an Env and a WorkingDir) writes a new
# file outside /root in each session, each followed by a stop: the layer
# image grows one layer a save up to that threshold, then the next save exports
# the task container and imports it as a one-layer image under the same
# name. Every file (a symlink, a hardlink, a mode, an owner other than
# root) is there at the next login, through another node; the config
# (Env, WorkingDir, Cmd...) survives; the older layer images are gone.
. "$(dirname "$0")/swarm-lib.sh"
began=$SECONDS
L=sbt-sw-flo
LAYER=$SBX_SWARM_INSTANCE-layer:$L
CONF=$(sbx_swarm_conf n3)
n3log=$SBX_SWARM_DIR/sshbox/n3/watchdog.log
n3pid=$(cat "$SBX_SWARM_DIR/sshbox/n3/run/watchdog.pid")
log_from=$(($(wc -l <"$n3log") + 1)) # this run's lines
reloads() { grep -c "configuration reloaded" "$n3log"; }
more_reloads() { [ "$(reloads)" -gt "$1" ]; } # COUNT
reload() { # the n3 watchdog's config, re-read
	local before
	before=$(reloads)
	kill -HUP "$n3pid"
	wait_for 10 more_reloads "$before"
}
restore() { sed -i '/^swarm_layer_flatten/d' "$CONF" && reload; }
trap 'restore; sw_cleanup $L; sw_images_gone layer $L; for n in n1 n3; do api $n DELETE "/images/$IMG" >/dev/null 2>&1; done' EXIT
sw_cleanup $L
sw_images_gone layer $L

label() { sw_service $L | jq -r --arg k "$1" '.Spec.Labels[$k] // empty'; } # KEY
layer_is_not() { [ -z "$(label sshbox.saving)" ] && [ -n "$(label sshbox.layer)" ] &&
	[ "$(label sshbox.layer)" != "$1" ]; }
image() { api n3 GET "/images/$1/json"; } # NAME|ID
depth() { image "$LAYER" | jq '.RootFS.Layers | length'; }
config() { image "$1" | jq -cS '.Config | {Env, WorkingDir, Cmd, Entrypoint, ExposedPorts, Volumes, User, Labels}'; }
# must DESCRIPTION CMD...: a step the rest needs; the test ends without it.
must() {
	local before=$failed
	check "$@"
	[ "$failed" = "$before" ] || finish
}
# Her image: the base with an Env and a WorkingDir that need quoting (a
# space, a $, quotes), committed from a created container on n3 and on n1
# (createuser through n1 checks it there).
IMG=sbt-flatten-base:latest
chg() { jq -rn --arg s "$1" '$s | @uri'; }
make_image() { # NODE
	local c0 rc
	c0=$(api "$1" POST /containers/create "{\"Image\":\"$SBX_SWARM_IMAGE:latest\",\"Cmd\":[\"true\"]}" | jq -r .Id)
	# shellcheck disable=SC2016 # the $ is for the engine's builder, escaped
	api "$1" POST "/commit?container=$c0&repo=${IMG%:*}&tag=latest&changes=$(chg 'ENV SBT_FLO="a b \$c \"d\""')&changes=$(chg 'WORKDIR "/srv/flo dir"')" >/dev/null
	rc=$?
	api "$1" DELETE "/containers/$c0?force=1" >/dev/null
	return "$rc"
}
must "her image is made on n3" make_image n3
must "and on n1" make_image n1
# The threshold two saves above her image's depth: it grows twice, then
# flattens.
T=$(($(image "$IMG" | jq '.RootFS.Layers | length') + 2))
echo "swarm_layer_flatten = $T" >>"$CONF"
must "n3's watchdog takes swarm_layer_flatten = $T" reload
install -d -m 0700 "$SW_KEYS"
[ -f "$SW_KEYS/$L" ] || ssh-keygen -q -t ed25519 -N '' -f "$SW_KEYS/$L"
must "flo is provisioned with home n3 and that image" quiet "$SW_ADMIN" --config "$(sbx_swarm_conf n1)" \
	createuser --node n3 $L "$IMG" "$SW_KEYS/$L.pub"

# One session a file, then a stop through n2: depth T-1, T, until the
# save that flattens drops it to 1.
setup='echo f1 >/opt/f1 && ln -s /opt/f1 /opt/link && ln /opt/f1 /opt/hard &&
	echo m >/opt/mode && chmod 4751 /opt/mode && echo o >/opt/owned && chown 4321:4322 /opt/owned'
depths=() ids=() layer="" cfg_before="" flattened=0
for i in 1 2 3 4 5; do
	cmd="echo f$i >/opt/f$i"
	[ "$i" = 1 ] && cmd=$setup
	out=$(sw_ssh n1 $L "$cmd && echo wrote" 2>&1)
	[ "$out" = wrote ] || { not_ok "session $i writes /opt/f$i: $out"; break; }
	[ -n "$layer" ] && cfg_before=$(config "$layer")
	sw_ssh n2 $L stop >/dev/null 2>&1
	wait_for 40 layer_is_not "$layer" || { not_ok "the stop after session $i is saved"; break; }
	layer=$(label sshbox.layer)
	ids+=("$layer")
	depths+=("$(depth)")
	if [ "$i" -gt 1 ] && [ "${depths[-1]}" = 1 ]; then
		flattened=$i
		break
	fi
done
echo "# depths after each save: ${depths[*]}"
expect_eq "the layer grows one a save up to $T, then the save onto $T flattens it to 1" \
	"$((T - 1)) $T 1" "${depths[*]}"
flat_line=$(tail -n +"$log_from" "$n3log" | grep -E "user \"$L\": task container [0-9a-f]{12} flattened")
echo "# $flat_line"
expect_match "n3's watchdog logs the flatten (depth before, size, seconds)" \
	"flattened into $LAYER as .*: $T layers before, 1 now; [0-9]+ bytes exported, image size [0-9]+ bytes, [0-9.]+ s" "$flat_line"
expect_eq "the image's config (Env, WorkingDir, Entrypoint, Labels, ...) survives the flatten" \
	"$cfg_before" "$(config "$LAYER")"
# shellcheck disable=SC2016 # a literal $
expect_eq "her image's Env and WorkingDir among it" '["a b $c \"d\"","/srv/flo dir"]' \
	"$(image "$LAYER" | jq -c '[(.Config.Env[] | select(startswith("SBT_FLO=")) | sub("^SBT_FLO="; "")), .Config.WorkingDir]')"
expect_eq "the service starts from the layer image" "$LAYER" \
	"$(sw_service $L | jq -r .Spec.TaskTemplate.ContainerSpec.Image)"
gone_all() { # ID...: none of these images is on n3 any more
	local id
	for id in "$@"; do ! quiet image "$id" || return 1; done
}
if [ "$flattened" -gt 1 ]; then
	check "the older layer images (the one flattened and its parents) are gone from n3" \
		wait_for 15 gone_all "${ids[@]:0:${#ids[@]}-1}"
fi

# The next login, through n1 (not the home node): everything is there.
want=$(seq -f 'f%g' 1 "${#depths[@]}" | tr '\n' ' ')
# shellcheck disable=SC2016 # runs in the container
out=$(sw_ssh n1 $L 'cat $(ls /opt/f? | sort) | tr "\n" " "; readlink /opt/link;
	stat -c "%h %a %u:%g" /opt/hard /opt/mode /opt/owned | tr "\n" " "' 2>&1)
expect_eq "after the flatten, a login through n1 finds every file, the symlink, the hardlink, the mode and the owner" \
	"$want/opt/f1 2 644 0:0 1 4751 0:0 1 644 4321:4322 " "${out//$'\n'/ }"

# A save after the flatten commits on top of it again: depth 2.
sw_ssh n1 $L 'echo after >/opt/after' >/dev/null 2>&1
sw_ssh n2 $L stop >/dev/null 2>&1
saved_on_top() { layer_is_not "$layer" && [ "$(depth)" = 2 ]; }
check "the next save is committed on the flattened image (depth 2)" wait_for 40 saved_on_top
expect_eq "and keeps what the session wrote" after "$(sw_ssh n1 $L cat /opt/after 2>&1)"

echo "took $((SECONDS - began)) s"
finish

#!/usr/bin/env bash
# Takes the test bed down and removes everything it created: processes,
# containers, volumes and images of the test instance, test accounts, files,
# and the suite's own dockerd.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

for pidfile in "$SBX_ROOT/sshd/sshd.pid" "$SBX_ROOT/run/watchdog.pid"; do
	pid=$(cat "$pidfile" 2>/dev/null) && kill "$pid" 2>/dev/null
done
pkill -f "$SBX_BIN/sshbox-shim" 2>/dev/null
filter=$(printf '{"label":["sshbox.instance=%s"]}' "$SBX_INSTANCE" | jq -sRr @uri)
for id in $(sbx_api GET "/containers/json?all=1&filters=$filter" | jq -r '.[].Id' 2>/dev/null); do
	sbx_api DELETE "/containers/$id?force=1&v=0" >/dev/null
done
for v in $(sbx_api GET "/volumes?filters=$filter" | jq -r '.Volumes[]?.Name' 2>/dev/null); do
	sbx_api DELETE "/volumes/$v" >/dev/null
done
# Podman names them docker.io/library/NAME (or localhost/NAME).
for img in $(sbx_api GET "/images/json" | jq -r ".[].RepoTags[]? | sub(\"^(docker.io/library|localhost)/\"; \"\") | select(startswith(\"$SBX_INSTANCE-user:\"))" 2>/dev/null); do
	sbx_api DELETE "/images/$img?force=1" >/dev/null
done
for u in $SBX_USERS $SBX_PLAIN $SBX_NOREC sbt-new sbt-multi sbt-oom sbt-idemo sbt-busy sbt-nossh sbt-ownconf sbt-trap; do
	id "$u" >/dev/null 2>&1 && userdel --remove "$u" 2>/dev/null
done
getent group "$SBX_GROUP" >/dev/null && groupdel "$SBX_GROUP"
# Flag dirs are tmpfs mounts of their own (watchdog/flags.c).
findmnt -rn -o TARGET | grep "^$SBX_ROOT/" | sort -r | xargs -r -n1 umount -l
# The suite's own dockerd goes too (its data root keeps the imported base
# image, and $SBX_ROOTFS_CACHE the rootfs, so the next bed is up in seconds);
# it also unmounts the test root's shared bind mount (engine.sh).
if [ "${SBX_OWN_ENGINE:-1}" = 1 ]; then
	"$SBX_SRC/tests/bed/engine.sh" down
fi
rm -rf "$SBX_ROOT"
echo "test bed down"

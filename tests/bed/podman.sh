# shellcheck shell=bash
# The Podman variant of the suite's own engine (SBX_ENGINE_KIND=podman),
# sourced by engine.sh: `podman system service` serving Docker's API on a
# socket of its own, with its own storage root (--root), run root
# (--runroot), containers.conf, storage.conf, network config dir and events
# file, all under $SBX_ENGINE_DIR, in engine.sh's network and mount
# namespaces. Root Podman only. It never reads or writes the machine's
# /etc/containers, /var/lib/containers or /run/containers, and never talks
# to a machine's podman or dockerd.

# Directories the machine's podman (or a podman.socket) may use: hidden
# under empty tmpfs mounts in the holder's mount namespace.
# shellcheck disable=SC2034 # read by engine.sh
ENGINE_HIDE="/run/containers /run/libpod /run/podman /var/lib/containers"

podman_conf() { # writes the service's own config files (kept when present)
	install -d -m 0700 "$E/data" "$E/exec" "$E/networks"
	cat >"$E/containers.conf" <<CONF
# The suite's podman (tests/bed/podman.sh): nothing of the machine's.
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$E/exec/events.log"
tmp_dir = "$E/exec/libpod"
volume_path = "$E/data/volumes"
static_dir = "$E/data/libpod"
[network]
network_backend = "netavark"
network_config_dir = "$E/networks"
CONF
	cat >"$E/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$E/data/storage"
runroot = "$E/exec/storage"
CONF
}

# Our service, by its pid file and its socket argument.
engine_pid() {
	local pid
	pid=$(cat "$E/engine.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = podman ] &&
		tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qx -- "unix://$SBX_ENGINE" && echo "$pid"
}

start_engine() { # HOLDER_PID
	podman_conf
	rm -f "$SBX_ENGINE"
	# The service is the API; containers outlive it in their conmon
	# processes, as they outlive dockerd in their shims.
	(no_inherit nsenter --target "$1" --net --mount -- setsid env \
		CONTAINERS_CONF="$E/containers.conf" CONTAINERS_STORAGE_CONF="$E/storage.conf" \
		CONTAINERS_REGISTRIES_CONF=/dev/null \
		podman --root "$E/data/storage" --runroot "$E/exec/storage" \
		system service --time=0 "unix://$SBX_ENGINE") </dev/null >>"$E/engine.log" 2>&1 &
	echo $! >"$E/engine.pid"
}

engine_log() { echo "$E/engine.log"; }

# Conmon processes of our containers (their command lines name our run root).
kill_leftovers() {
	local p
	for p in $(pgrep -f "conmon .*$E/exec/" || true); do kill -KILL "$p" 2>/dev/null || true; done
}

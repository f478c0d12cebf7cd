# shellcheck shell=bash disable=SC2034 # the tests that source this use them
# Issue 17's sentinel: a "real" sshbox install on the MACHINE's dockerd (in a
# scratch root, README's first command relocated), set up before the whole
# suite (test_sentinel_setup.sh) and checked untouched after it, sanitizer
# phase included (test_sentinel_check.sh). tests/run.sh brackets all phases
# with them; ctest orders them first and last when they are selected.
SNT=${SBX_SENTINEL_ROOT:-/var/tmp/sshbox-sentinel}
SNT_ROOT=$SNT/root
SNT_PORT=${SBX_SENTINEL_PORT:-22226}
SNT_GROUP=sbsentinel SNT_INSTANCE=sbsentinel SNT_IMAGE=sbsentinel-base
SNT_USERS="sbs-ann sbs-ben" # sbs-ann is the demo user install.sh makes
SNT_OTHER=sbsentinel-other-project # a container of another project
SNT_ENGINE=/var/run/docker.sock
snt_opts=(--root "$SNT_ROOT" --group "$SNT_GROUP" --instance "$SNT_INSTANCE" --demo-user sbs-ann
	--base-image "$SNT_IMAGE" --engine "$SNT_ENGINE")
SNT_CONF=$SNT_ROOT/etc/sshbox/sshbox.conf

snt_api() { curl -sS --max-time 120 --unix-socket "$SNT_ENGINE" -X "$1" "http://localhost/v1.41$2" "${@:3}"; }
snt_key() { # USER: the user's key file
	if [ "$1" = sbs-ann ]; then echo "$SNT_ROOT/root/sshbox-demo/id_ed25519"; else echo "$SNT/keys/$1"; fi
}
snt_ssh() { # USER [CMD...]
	local user=$1
	shift
	# shellcheck disable=SC2154 # from tests/bed/env.sh, sourced first
	ssh "${sbx_ssh_opts[@]}" -i "$(snt_key "$user")" -p "$SNT_PORT" "$user@127.0.0.1" "$@"
}
snt_dockerd_pid() { # the machine's dockerd, by its pid file
	local pid
	pid=$(cat /var/run/docker.pid 2>/dev/null) && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] && echo "$pid"
}
snt_dockerd_runs() { snt_dockerd_pid >/dev/null; }
snt_tree() { # DIR...: every file's path, mode, owner and bytes, as sha256 lines
	find "$@" -xdev -printf '%p %m %u:%g %y\n' 2>/dev/null | sort
	find "$@" -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 -r sha256sum
}

# The state that must not change, one "name value" line each.
snt_state() {
	echo "config_dir $(snt_tree "$SNT_ROOT/etc/sshbox" | sha256sum | cut -c1-16)"
	echo "state_dir $(snt_tree "$SNT_ROOT/var/lib/sshbox" | sha256sum | cut -c1-16)"
	echo "dropin $(snt_tree "$SNT_ROOT/etc/ssh/sshd_config.d" "$SNT_ROOT/etc/ssh/sshd_config" | sha256sum | cut -c1-16)"
	echo "binaries $(snt_tree "$SNT_ROOT/usr/local/sbin" "$SNT_ROOT/usr/local/libexec" | sha256sum | cut -c1-16)"
	echo "machine_dockerd_pid $(snt_dockerd_pid)"
	echo "sentinel_sshd_pid $(cat "$SNT_ROOT/run/sshd.pid" 2>/dev/null)"
	echo "sentinel_watchdog_pid $(cat "$SNT_ROOT/run/sshbox/watchdog.pid" 2>/dev/null)"
	echo "other_container $(snt_api GET "/containers/$SNT_OTHER/json" | jq -r '[.Id[:12], .State.Status, .State.StartedAt] | join(" ")')"
	echo "image_base $(snt_api GET "/images/$SNT_IMAGE:latest/json" | jq -r .Id)"
	echo "image_committed $(snt_api GET "/images/$SNT_INSTANCE-user:sbs-ann/json" | jq -r .Id)"
	local u
	for u in $SNT_USERS; do
		echo "account_$u $(getent passwd "$u") $(getent shadow "$u" | cut -d: -f2 | cut -c1-1)"
		echo "home_volume_$u $(snt_api GET "/volumes/$SNT_INSTANCE-home-$u" | jq -r .CreatedAt)"
	done
	echo "group $(getent group "$SNT_GROUP")"
}

# shellcheck shell=bash
# Helpers for end-to-end tests: real sshd, real ssh, real dockerd.
# A test sources this, calls `check`/`expect_*`, and ends with `finish`.
. "$(dirname "${BASH_SOURCE[0]}")/../bed/env.sh"
set -uo pipefail

passed=0
failed=0
T=$(mktemp -d /var/tmp/sshbox-e2e.XXXXXX)
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT

ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

# check DESCRIPTION CMD...: passes when CMD exits 0.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what (command: $*)"; fi
}

# check_not DESCRIPTION CMD...: passes when CMD fails.
check_not() {
	local what=$1
	shift
	if "$@"; then not_ok "$what (succeeded: $*)"; else ok "$what"; fi
}

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: expected '$2', got '$3'"; fi
}

expect_ne() {
	if [ "$2" != "$3" ]; then ok "$1"; else not_ok "$1: both are '$2'"; fi
}

# expect_contains DESCRIPTION STRING ACTUAL
expect_contains() {
	if [[ $3 == *"$2"* ]]; then ok "$1"; else not_ok "$1: '$3' does not contain '$2'"; fi
}

# expect_match DESCRIPTION REGEX ACTUAL
expect_match() {
	if [[ $3 =~ $2 ]]; then ok "$1"; else not_ok "$1: '$3' does not match /$2/"; fi
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}

# Engine facts about a user's container, straight from the engine.
container_field() { # USER JQ_FILTER
	sbx_api GET "/containers/$(sbx_container "$1")/json" | jq -r "$2"
}
container_running() { [ "$(container_field "$1" .State.Running 2>/dev/null)" = true ]; }
container_count() { # USER: how many containers the engine has for the user
	local f
	f=$(printf '{"label":["sshbox.instance=%s","sshbox.user=%s"]}' "$SBX_INSTANCE" "$1" | jq -sRr @uri)
	sbx_api GET "/containers/json?all=1&filters=$f" | jq length
}
remove_container() { sbx_api DELETE "/containers/$(sbx_container "$1")?force=1" >/dev/null; }
stop_container() { sbx_api POST "/containers/$(sbx_container "$1")/stop?t=1" >/dev/null; }

# wait_for SECONDS CMD...: polls CMD every 0.2 s.
wait_for() {
	local limit=$1
	shift
	local end=$((SECONDS + limit))
	while [ "$SECONDS" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.2
	done
	"$@"
}

# Sessions held open: open_session NAME USER starts a real ssh session that
# lasts until close_session NAME (its stdin is a fifo we hold).
sess_fds=()
open_session() {
	local fd
	mkfifo "$T/$1.in"
	(
		for f in "${sess_fds[@]}"; do eval "exec $f>&-"; done # other sessions' writers
		exec ssh "${sbx_ssh_opts[@]}" -i "$SBX_KEYS/$2" -p "$SBX_PORT" "$2@127.0.0.1" \
			'cat > /dev/null; echo closed'
	) <"$T/$1.in" >"$T/$1.out" 2>&1 &
	eval "sess_pid_$1=$!"
	exec {fd}>"$T/$1.in"
	eval "sess_fd_$1=$fd"
	sess_fds+=("$fd")
}
close_session() {
	local fd pid
	eval "fd=\$sess_fd_$1 pid=\$sess_pid_$1"
	exec {fd}>&-
	wait "$pid"
}

sbx_admin() { "$SBX_BIN/sshbox" --config "$SBX_CONF" "$@"; }
# live_sessions USER: shim sessions the watchdog counts for USER.
live_sessions() { sbx_admin list 2>/dev/null | awk -v u="$1" '$1 == u {print $4}'; }
sessions_are() { [ "$(live_sessions "$1")" = "$2" ]; }
grace() { awk -F' *= *' '$1 == "idle_grace_seconds" {print $2}' "$SBX_CONF"; }

# scratch_sshd ROOT PORT: a host key and an sshd_config under ROOT/etc/ssh
# for an sshd of a scratch install on 127.0.0.1:PORT, including the scratch
# drop-in dir ROOT/etc/ssh/sshd_config.d (its pid file is ROOT/run/sshd.pid).
scratch_sshd() {
	local root=$1 port=$2
	mkdir -p "$root/etc/ssh/sshd_config.d" "$root/run"
	ssh-keygen -q -t ed25519 -N '' -f "$root/etc/ssh/host_key"
	cat >"$root/etc/ssh/sshd_config" <<CONF
Include $root/etc/ssh/sshd_config.d/*.conf
Port $port
ListenAddress 127.0.0.1
HostKey $root/etc/ssh/host_key
PidFile $root/run/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM yes
PrintMotd no
Subsystem sftp /usr/lib/openssh/sftp-server
CONF
}

# pty_resize_check LABEL USER KEY: an ssh -tt session driven by tmux (left
# open as tmux session $pty_s, for more checks; the caller kills it) has the
# outer size on its pty, and a resize of the outer window reaches it.
pty_resize_check() {
	local label=$1
	pty_s=sbxrs$$
	tmux new-session -d -s "$pty_s" -x 120 -y 40 "ssh ${sbx_ssh_opts[*]} -tt -i $3 -p $SBX_PORT $2@127.0.0.1"
	pty_screen() { tmux capture-pane -p -t "$pty_s"; }
	pty_size_is() { pty_screen | grep -q "^$1\$"; }
	pty_prompt() { pty_screen | grep -q '# *$'; } # root's prompt, bash or busybox
	wait_for 20 pty_prompt
	tmux send-keys -t "$pty_s" 'stty size' Enter
	check "${label}the pty has the outer size" wait_for 20 pty_size_is "40 120"
	tmux resize-window -t "$pty_s" -x 100 -y 30
	sleep 0.5
	tmux send-keys -t "$pty_s" 'clear; stty size' Enter
	check "${label}a resize reaches the container" wait_for 10 pty_size_is "30 100"
}

# skip_in_asan: a test that builds and installs its own (unsanitized)
# binaries skips the sanitizer phase, which would run the very same thing.
skip_in_asan() {
	if [ "${SBX_BUILD_TYPE:-}" = Asan ]; then
		echo "skip: the sanitizer phase does not build what this test installs"
		exit 77
	fi
}

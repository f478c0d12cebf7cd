# shellcheck shell=bash
# no_inherit CMD...: runs CMD with no descriptor above 2 (a long-lived
# engine must not keep the caller's `flock /tmp/sshbox-bed.lock` held).
no_inherit() {
	local fd
	for fd in "/proc/$BASHPID/fd/"*; do
		fd=${fd##*/}
		[ "$fd" -gt 2 ] && eval "exec $fd>&-"
	done
	exec "$@"
}

# shellcheck shell=bash disable=SC2034 # the scripts that source this use them
# Where an install lives, shared by install.sh and uninstall.sh. Every path
# and name defaults to the real one; --root DIR moves them all under DIR (a
# scratch install beside a real one: tests, staging), and each option below
# moves one of them. Sets: prefix conf_dir state_dir run_dir dropin_dir
# unit_dir sshd_config sshd_pidfile log_dir logrotate_dir group instance
# engine demo_user key_dir,
# and derived: conf dropin legacy_dropin shim sbin. Unknown options are left
# in $rest for the caller.
#   --root DIR          every path below under DIR (defaults as if DIR were /);
#                       then --group and --instance are required (not
#                       "sshbox"), the demo user defaults to INSTANCE-demo
#                       and the base image to INSTANCE-base
#   --prefix DIR        binaries (DIR/sbin, DIR/libexec/sshbox)   /usr/local
#   --config-dir DIR    sshbox.conf                              /etc/sshbox
#   --state-dir DIR     per-user records                         /var/lib/sshbox
#   --run-dir DIR       watchdog socket and pid file             /run/sshbox
#   --sshd-dir DIR      the sshd drop-in's directory             /etc/ssh/sshd_config.d
#   --sshd-config FILE  sshd's main config (must Include DIR/*.conf) /etc/ssh/sshd_config
#   --sshd-pidfile FILE the sshd to reload                       /run/sshd.pid
#   --unit-dir DIR      the systemd unit                         /etc/systemd/system
#   --log-dir DIR       the audit log (audit.log)                /var/log/sshbox
#   --logrotate-dir DIR its logrotate snippet                    /etc/logrotate.d
#   --group NAME        sshbox accounts' group                   sshbox
#   --instance NAME     prefix of containers, volumes, images    sshbox
#   --engine SOCKET     the container engine's unix socket       /var/run/docker.sock
#   --demo-user NAME    the account --demo creates               demo
#   --base-image REPO   the base image's name (REPO:latest)      sshbox-base
root=
prefix='' conf_dir='' state_dir='' run_dir='' dropin_dir='' unit_dir='' sshd_config='' sshd_pidfile=''
log_dir='' logrotate_dir=''
group=sshbox instance=sshbox engine=/var/run/docker.sock demo_user=demo base_repo=sshbox-base
rest=()
named=" " # the names given on the command line

# paths_parse "$@": takes the options above; the others go to $rest.
paths_parse() {
	while [ $# -gt 0 ]; do
		case $1 in
		--root | --prefix | --config-dir | --state-dir | --run-dir | --sshd-dir | --sshd-config | \
			--sshd-pidfile | --unit-dir | --log-dir | --logrotate-dir | --group | --instance | --engine | --demo-user | --base-image)
			if [ $# -lt 2 ] || [ -z "$2" ]; then echo "${0##*/}: $1 needs a value" >&2; exit 2; fi
			case $1 in
			--root) root=$2 ;;
			--prefix) prefix=$2 ;;
			--config-dir) conf_dir=$2 ;;
			--state-dir) state_dir=$2 ;;
			--run-dir) run_dir=$2 ;;
			--sshd-dir) dropin_dir=$2 ;;
			--sshd-config) sshd_config=$2 ;;
			--sshd-pidfile) sshd_pidfile=$2 ;;
			--unit-dir) unit_dir=$2 ;;
			--log-dir) log_dir=$2 ;;
			--logrotate-dir) logrotate_dir=$2 ;;
			--group) group=$2 named+="group " ;;
			--instance) instance=$2 named+="instance " ;;
			--engine) engine=$2 ;;
			--demo-user) demo_user=$2 named+="demo-user " ;;
			--base-image) base_repo=$2 named+="base-image " ;;
			esac
			shift
			;;
		*) rest+=("$1") ;;
		esac
		shift
	done
	if [ -n "$root" ]; then
		case $root in /*) ;; *) echo "${0##*/}: --root must be an absolute path, not \"$root\"" >&2; exit 2 ;; esac
		root=${root%/}
		# The names are not paths: under --root they would still be the real
		# install's group, instance (its containers, volumes, images), demo
		# account and base image. A scratch install names its own.
		if [[ $named != *" group "* || $named != *" instance "* ]] || [ "$group" = sshbox ] ||
			[ "$instance" = sshbox ]; then
			echo "${0##*/}: with --root, also give --group and --instance other than \"sshbox\" (the names are the real install's otherwise)" >&2
			exit 2
		fi
		[[ $named == *" demo-user "* ]] || demo_user=$instance-demo
		[[ $named == *" base-image "* ]] || base_repo=$instance-base
	fi
	prefix=${prefix:-$root/usr/local}
	conf_dir=${conf_dir:-$root/etc/sshbox}
	state_dir=${state_dir:-$root/var/lib/sshbox}
	run_dir=${run_dir:-$root/run/sshbox}
	dropin_dir=${dropin_dir:-$root/etc/ssh/sshd_config.d}
	unit_dir=${unit_dir:-$root/etc/systemd/system}
	sshd_config=${sshd_config:-$root/etc/ssh/sshd_config}
	sshd_pidfile=${sshd_pidfile:-$root/run/sshd.pid}
	log_dir=${log_dir:-$root/var/log/sshbox}
	logrotate_dir=${logrotate_dir:-$root/etc/logrotate.d}
	key_dir=$root/root/sshbox-demo
	local n
	for n in "$group" "$instance" "$demo_user" "$base_repo"; do
		[[ $n =~ ^[a-z_][a-z0-9_-]{0,30}$ ]] ||
			{ echo "${0##*/}: \"$n\" is not a valid group, instance, user or image name" >&2; exit 2; }
	done
	for n in "$prefix" "$conf_dir" "$state_dir" "$run_dir" "$dropin_dir" "$unit_dir" "$sshd_config" "$sshd_pidfile" "$log_dir" "$logrotate_dir" "$engine"; do
		case $n in /*) ;; *) echo "${0##*/}: \"$n\" is not an absolute path" >&2; exit 2 ;; esac
		case $n in *[[:space:]\|\&\;\\]*) echo "${0##*/}: path \"$n\" has a character sshbox does not accept there" >&2; exit 2 ;; esac
	done
	# uninstall --purge removes these whole: never a directory that is not
	# sshbox's own (a slip like --run-dir /run).
	for n in "$conf_dir" "$state_dir" "$run_dir" "$log_dir"; do
		case ${n##*/} in *sshbox*) ;; *) echo "${0##*/}: \"$n\" is not a directory of sshbox's own (its name must contain \"sshbox\")" >&2; exit 2 ;; esac
	done
	conf=$conf_dir/sshbox.conf
	# 00-: sshd takes the first value it reads for most keywords, so the
	# drop-in must sort before any other file of the directory.
	dropin=$dropin_dir/00-sshbox.conf
	legacy_dropin=$dropin_dir/sshbox.conf
	shim=$prefix/libexec/sshbox/sshbox-shim
	sbin=$prefix/sbin
	default_paths=0
	[ -z "$root" ] && [ "$sshd_config" = /etc/ssh/sshd_config ] && [ "$unit_dir" = /etc/systemd/system ] &&
		default_paths=1
	return 0
}

# sshd_reload: the sshd that reads $sshd_config picks up its new config.
# The service manager's when the paths are the real ones; else the one in
# $sshd_pidfile; none running: start one (what a fresh host needs).
sshd_reload() {
	local pid
	if [ "$default_paths" = 1 ] && [ -d /run/systemd/system ]; then
		systemctl reload ssh
	elif pid=$(cat "$sshd_pidfile" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; then
		# sshd re-executes itself on SIGHUP and listens again a moment later:
		# wait for that, so a login right after install.sh is served.
		kill -HUP "$pid"
		sleep 0.2
		if command -v ss >/dev/null; then
			for _ in $(seq 1 50); do
				ss -Htlnp 2>/dev/null | grep -q "pid=$pid," && break
				sleep 0.1
			done
		fi
	else
		mkdir -p /run/sshd
		/usr/sbin/sshd -f "$sshd_config"
	fi
}

# uses_systemd: the watchdog runs as a systemd service (real paths, systemd
# running); otherwise under installer/supervise.sh.
uses_systemd() { [ "$default_paths" = 1 ] && [ -d /run/systemd/system ]; }

# place_tree STAGE: moves the files of a `DESTDIR=STAGE cmake --install` to
# their real paths, each by rename(2) within its directory: a running
# program keeps its old inode and a new exec finds the whole old or the
# whole new file, never a missing or half-written one. Unchanged files stay.
place_tree() {
	local stage=$1 f dest tmp
	while IFS= read -r -d '' f; do
		dest=${f#"$stage"}
		cmp -s "$f" "$dest" && continue
		install -d -m 0755 "${dest%/*}"
		tmp=$(mktemp "${dest%/*}/.${dest##*/}.XXXXXX")
		cp -p "$f" "$tmp"
		mv -f "$tmp" "$dest"
	done < <(find "$stage" -type f -print0)
}

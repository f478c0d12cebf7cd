#!/usr/bin/env bash
# sshbox benchmarks: brings up a test bed of their own (tests/bed/up.sh with
# the settings below: instance, group, users, port, state and build apart
# from the test suite's bed, which may run at the same time), measures, and
# prints a table that is also written to bench/results.md with the machine's
# description. Latencies are medians, given as ratios against the plain host
# login and the direct path (OpenSSH straight into the container's published
# port) measured in the same run, interleaved. Reports; never fails on a
# miss. At the end it removes what it created: its users, containers,
# volumes, watchdog, sshds and the old-way account (BENCH_KEEP=1 keeps the bed
# and the provisioned users for another run).
#   sudo bench/run.sh            (BENCH_QUICK=1 for fewer, smaller runs)
# BENCH_SECTIONS="hot_logins cat_throughput" runs only those measuring
# functions (and provisions the 1000 users only when a section needs them);
# BENCH_OUT=FILE writes the table there instead of bench/results.md.
# shellcheck disable=SC2317 # the measuring functions run through section()
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export SBX_ROOT=${SBX_ROOT:-/var/tmp/sshbox-bench} SBX_PORT=${SBX_PORT:-22230}
export SBX_METRICS_PORT=${SBX_METRICS_PORT:-22238}
export SBX_INSTANCE=${SBX_INSTANCE:-sshboxbench} SBX_GROUP=${SBX_GROUP:-sshboxbench}
export SBX_USERS=${SBX_USERS:-"sbb-alice sbb-bob"} SBX_PLAIN=${SBX_PLAIN:-sbb-plain}
export SBX_NOREC=${SBX_NOREC:-sbb-norec} SBX_BUILD=${SBX_BUILD:-$(dirname "$here")/build-bench}
# The machine's dockerd (the direct path it compares against is a published
# port on the host's loopback); the bench never stops or kills it, and its
# own instance, group, users and base image name leave any real install alone.
export SBX_OWN_ENGINE=${SBX_OWN_ENGINE:-0} SBX_BASE_IMAGE=${SBX_BASE_IMAGE:-sshbox-bench-base}
# shellcheck source-path=SCRIPTDIR source=../tests/bed/env.sh
. "$here/../tests/bed/env.sh"

quick=${BENCH_QUICK:-0}
reps=20 big=$((1 << 30)) mid=$((256 << 20)) conc=50 nusers=1000 hold_users=125 per_user=4
[ "$quick" = 1 ] && reps=5 big=$((256 << 20)) mid=$((64 << 20)) conc=8 nusers=100 hold_users=10
u=sbb-bob
key=$SBX_KEYS/$u
out=${BENCH_OUT:-$here/results.md}
only=${BENCH_SECTIONS:-}
old_port=${BENCH_OLD_PORT:-22221} old_user=sbb-old old_dir=$SBX_ROOT/oldway
holder=$SBX_BUILD/bench/sshbox-holdsessions
hold_pid=
rows=()
busy_runs=0

bu() { printf 'sbb-u%04d' "$1"; } # the bench's provisioned users: sbb-u0001...
bench_users() { getent passwd | awk -F: '$1 ~ /^sbb-u[0-9][0-9][0-9][0-9]$/ {print $1}'; }
cleanup() {
	[ -n "$hold_pid" ] && kill "$hold_pid" 2>/dev/null && wait "$hold_pid"
	oldway_down
	[ "${BENCH_KEEP:-0}" = 1 ] && return
	echo "bench: removing the bench users and bed"
	bench_users | xargs -r -n 1 -P 2 userdel --remove 2>/dev/null
	bash "$here/../tests/bed/down.sh" >/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# A test suite sharing the engine may stop and restart dockerd (which stops
# every container): wait for the engine, and measure a section again when
# dockerd restarted during it.
engine_up() { curl -sf --max-time 2 --unix-socket "$SBX_ENGINE" http://localhost/_ping >/dev/null; }
engine_id() { pgrep -xo dockerd; }
engine_wait() {
	for _ in $(seq 1 360); do
		engine_up && return 0
		sleep 0.5
	done
	"$SBX_SRC/installer/deps.sh" >/dev/null # nobody brought it back: start it
}
suite_busy() { pgrep -f 'tests/run.sh|ctest' >/dev/null; }
wanted() { [ -z "$only" ] || [[ " $only " == *" $1 "* ]]; }
section() { # NAME FUNCTION
	local n=${#rows[@]} id
	wanted "$2" || return 0
	for _ in 1 2 3; do
		engine_wait
		id=$(engine_id)
		suite_busy && busy_runs=$((busy_runs + 1))
		"$2"
		[ "$(engine_id)" = "$id" ] && engine_up && return 0
		echo "bench: dockerd restarted during \"$1\": measuring it again" >&2
		rows=("${rows[@]:0:$n}")
	done
	row "$1" "not measured: dockerd kept restarting" "" ""
}

row() { rows+=("| $1 | $2 | $3 | $4 |"); printf '%-48s %-24s %-16s %s\n' "$1" "$2" "$3" "$4"; }
ms() { local s; s=$(date +%s%N); "$@" >/dev/null 2>&1; echo $((($(date +%s%N) - s) / 1000000)); }
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf (b > 0 ? "%.2fx" : "-"), a / b}'; }
mbps() { awk -v b="$1" -v m="$2" 'BEGIN {printf "%.0f MB/s", b / 1048576 / (m / 1000)}'; }
met() { awk "BEGIN {exit !($1)}" && echo met || echo MISSED; } # met 'AWK CONDITION'
col() { awk -v c="$1" '{print $c}' "$2" | median; }
shim() { sbx_ssh $u "$@"; }
plain() { sbx_ssh "$SBX_PLAIN" "$@"; }
direct() { ssh "${sbx_ssh_opts[@]}" -i "$key" -p "$port" root@127.0.0.1 "$@"; }
oldway() { ssh "${sbx_ssh_opts[@]}" -i "$SBX_KEYS/$old_user" -p "$old_port" "$old_user@127.0.0.1" "$@"; }
running() { # how many containers of the bench instance run
	local f
	f=$(printf '{"label":["sshbox.instance=%s"],"status":["running"]}' "$SBX_INSTANCE" | jq -sRr @uri)
	sbx_api GET "/containers/json?filters=$f" | jq length
}
wd_status() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$(cat "$SBX_ROOT/run/watchdog.pid")/status"; }
warm_bob() { # the measured user's container running, in daemon mode; its published port
	shim true
	shim daemon >/dev/null
	port=$(shim port)
}

# "The old way" for the reference row: a second sshd whose ForceCommand is
# bench/oldway.sh (docker CLI for the port, then ssh -A into the container),
# for an account in the docker group holding a copy of $u's inner key.
oldway_up() {
	mkdir -p "$old_dir"
	chmod 755 "$old_dir"
	install -m 755 "$here/oldway.sh" "$old_dir/oldway.sh"
	[ -f "$old_dir/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$old_dir/host_key"
	[ -f "$SBX_KEYS/$old_user" ] || ssh-keygen -q -t ed25519 -N '' -f "$SBX_KEYS/$old_user"
	id $old_user >/dev/null 2>&1 ||
		useradd --create-home --shell /bin/bash --password '*' --groups docker $old_user
	install -d -m 700 -o $old_user -g $old_user /home/$old_user/.ssh
	install -m 600 -o $old_user -g $old_user "$SBX_KEYS/$old_user.pub" /home/$old_user/.ssh/authorized_keys
	install -m 600 -o $old_user -g $old_user "$SBX_STATE/users/$u/inner_key" /home/$old_user/.ssh/id_ed25519
	cat >"$old_dir/sshd_config" <<CONF
Port $old_port
ListenAddress 127.0.0.1
HostKey $old_dir/host_key
PidFile $old_dir/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM yes
AcceptEnv LANG LC_*
X11Forwarding yes
PrintMotd no
AllowUsers $old_user
ForceCommand $old_dir/oldway.sh $(sbx_container $u)
CONF
	/usr/sbin/sshd -f "$old_dir/sshd_config" -E "$old_dir/sshd.log"
}
oldway_down() {
	local pid
	pid=$(cat "$old_dir/sshd.pid" 2>/dev/null) && kill "$pid" 2>/dev/null
	rm -f "$old_dir/sshd.pid"
	id "$old_user" >/dev/null 2>&1 && userdel --remove "$old_user" 2>/dev/null
}

# Provisioned users: Linux accounts in the sshbox group plus records, through
# the admin CLI (which creates the account), a few at a time.
provision() {
	local have s
	have=$(bench_users | wc -l)
	s=$(date +%s%N)
	for i in $(seq 1 "$nusers"); do bu "$i"; echo; done | sort | comm -23 - <(bench_users | sort) |
		xargs -r -P 4 -I{} "$SBX_BIN/sshbox" --config "$SBX_CONF" createuser {} "$SBX_BASE_IMAGE:latest" "$key.pub" >/dev/null
	provisioned="$((($(date +%s%N) - s) / 1000000)) ms for $((nusers - have))"
}

# Live sessions held by bench/holdsessions.c until hold_stop; sets hold_ok
# and hold_failed (how many logins the watchdog accepted and refused).
hold_start() { # PER_USER USER...
	local per=$1
	shift
	"$holder" "$SBX_SOCKET" "$per" 16 "$@" >"$SBX_ROOT/hold.out" 2>"$SBX_ROOT/hold.err" &
	hold_pid=$!
	for _ in $(seq 1 6000); do
		grep -q '^held' "$SBX_ROOT/hold.out" && break
		kill -0 "$hold_pid" 2>/dev/null || break
		sleep 0.1
	done
	read -r _ hold_ok hold_failed < <(grep '^held' "$SBX_ROOT/hold.out")
	: "${hold_ok:=0}" "${hold_failed:=$(($# * per))}"
}
hold_stop() {
	[ -n "$hold_pid" ] && kill "$hold_pid" 2>/dev/null && wait "$hold_pid"
	hold_pid=
}

bash "$here/../tests/bed/up.sh" >/dev/null || { echo "bench: test bed did not come up" >&2; exit 0; }
echo "bench: bed $SBX_ROOT, sshd 127.0.0.1:$SBX_PORT, instance $SBX_INSTANCE"
wd_rss_start=$(wd_status VmRSS)
if wanted concurrency || wanted shim_rss || wanted watchdog_rss; then provision; fi
warm_bob
oldway_up
echo "figure                                           value                    vs plain / direct"

# 1. Hot login: the shim, the plain host login, direct, the old way; interleaved.
hot_logins() {
	warm_bob
	local t=$SBX_ROOT/hot.txt
	for _ in $(seq 1 "$reps"); do
		echo "$(ms shim true) $(ms plain true) $(ms direct true) $(ms oldway true)"
	done >"$t"
	hot=$(col 1 "$t") hplain=$(col 2 "$t") hdirect=$(col 3 "$t") hold=$(col 4 "$t")
	row "hot login, ssh true (ms)" "$hot" "$(ratio "$hot" "$hplain") / $(ratio "$hot" "$hdirect")" \
		"<= 1.15x plain: $(met "$hot <= 1.15 * $hplain")"
	row "plain host login (ms)" "$hplain" "" ""
	row "direct into published port (ms)" "$hdirect" "" ""
	row "old way: docker inspect + ssh -A (ms)" "$hold" "$(ratio "$hold" "$hplain") / $(ratio "$hold" "$hdirect")" \
		"reference; shim is $(ratio "$hot" "$hold") of it"
}
section "hot login" hot_logins

# 2. Warm (container stopped) and cold (no container).
warm_cold() {
	warm_bob
	local warm cold
	warm=$(for _ in $(seq 1 5); do shim stop >/dev/null 2>&1; ms shim true; done | median)
	cold=$(for _ in $(seq 1 5); do shim remove --force >/dev/null 2>&1; ms shim true; done | median)
	row "warm login (stopped), ms over hot" "$((warm - hot))" "" "<= 400: $(met "$warm - $hot <= 400")"
	row "cold login (no container), ms over hot" "$((cold - hot))" "" "<= 1200: $(met "$cold - $hot <= 1200")"
	warm_bob
}
section "warm and cold login" warm_cold

# 3. Throughput.
sbx_ssh_opts_s="${sbx_ssh_opts[*]}"
catrun() { # WHO up|down BYTES -> ms
	local who=$1 dir=$2 b=$3 cmd
	case $who in
	shim) cmd="ssh $sbx_ssh_opts_s -i $key -p $SBX_PORT $u@127.0.0.1" ;;
	plain) cmd="ssh $sbx_ssh_opts_s -i $SBX_KEYS/$SBX_PLAIN -p $SBX_PORT $SBX_PLAIN@127.0.0.1" ;;
	direct) cmd="ssh $sbx_ssh_opts_s -i $key -p $port root@127.0.0.1" ;;
	own) cmd="ssh $sbx_ssh_opts_s -i $key -p $own_port root@127.0.0.1" ;;
	jump) cmd="$jump_ssh" ;;
	esac
	if [ "$dir" = up ]; then
		ms bash -c "head -c $b /dev/zero | $cmd 'cat > /dev/null'"
	else
		ms bash -c "$cmd 'head -c $b /dev/zero' > /dev/null"
	fi
}
cat_throughput() {
	warm_bob
	local dir who s d p t=$SBX_ROOT/cat.txt
	for dir in up down; do
		for _ in 1 2 3; do
			echo "$(catrun shim "$dir" "$big") $(catrun direct "$dir" "$big") $(catrun plain "$dir" "$big")"
		done >"$t"
		s=$(col 1 "$t") d=$(col 2 "$t") p=$(col 3 "$t")
		row "cat $((big >> 20)) MiB $dir, shim" "$(mbps "$big" "$s")" "$(ratio "$p" "$s") / $(ratio "$d" "$s")" \
			">= 0.7x / 1.0x: $(met "$p / $s >= 0.7 && $d / $s >= 1.0")"
		row "cat $((big >> 20)) MiB $dir, direct / plain" "$(mbps "$big" "$d") / $(mbps "$big" "$p")" "" ""
	done
}
section "cat throughput" cat_throughput

# The jump path (issue 13): the user's own ssh through "ProxyCommand ssh ...
# jump" into the container's sshd, as "config" prints it; 1 GiB each way and
# the hot login, against direct-to-port and the plain host login.
jump_setup() {
	shim config --ssh-config | sed "s|ProxyCommand ssh |ProxyCommand ssh $sbx_ssh_opts_s -i $key |" >"$SBX_ROOT/jump.cfg"
	shim config --known-hosts >"$SBX_ROOT/jump.kh"
	jump_ssh="ssh -F $SBX_ROOT/jump.cfg -o UserKnownHostsFile=$SBX_ROOT/jump.kh -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR -i $key $u-box"
}
jump() { $jump_ssh "$@"; }
jump_path() {
	warm_bob
	jump_setup
	local dir j d p t=$SBX_ROOT/jump.txt
	for dir in up down; do
		for _ in 1 2 3; do
			echo "$(catrun jump "$dir" "$big") $(catrun direct "$dir" "$big") $(catrun plain "$dir" "$big")"
		done >"$t"
		j=$(col 1 "$t") d=$(col 2 "$t") p=$(col 3 "$t")
		row "jump: cat $((big >> 20)) MiB $dir" "$(mbps "$big" "$j")" "$(ratio "$p" "$j") / $(ratio "$d" "$j")" \
			"report; direct $(mbps "$big" "$d"), plain $(mbps "$big" "$p")"
	done
	for _ in $(seq 1 "$reps"); do
		echo "$(ms jump true) $(ms plain true) $(ms direct true) $(ms shim true)"
	done >"$t"
	j=$(col 1 "$t") p=$(col 2 "$t") d=$(col 3 "$t")
	row "jump: hot login, ssh $u-box true (ms)" "$j" "$(ratio "$j" "$p") / $(ratio "$j" "$d")" \
		"report; two SSH handshakes (host, then container); shim login $(col 4 "$t") ms"
}
section "jump path" jump_path

# The container's sshd (issue 18): the bundled host sshd every container runs
# now against the image's own /usr/sbin/sshd started as before it (a twin
# container of the same image with the same host key and keys), both
# straight into their published ports, interleaved: hot login and 1 GiB cat.
own_sshd_script="mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e -h /etc/sshbox/ssh_host_ed25519_key \
 -o HostKeyAlgorithms=ssh-ed25519 -o AuthorizedKeysFile=/etc/sshbox/authorized_keys \
 -o PermitRootLogin=prohibit-password -o PasswordAuthentication=no -o UsePAM=no -o AddressFamily=inet"
own_up() {
	local name=$SBX_INSTANCE-ownsshd body
	sbx_api DELETE "/containers/$name?force=1" >/dev/null 2>&1
	body=$(jq -n --arg img "$SBX_BASE_IMAGE:latest" --arg c "$own_sshd_script" \
		--arg b "$SBX_STATE/users/$u/etc:/etc/sshbox:ro" \
		'{Image:$img,Entrypoint:["/bin/sh","-c",$c],ExposedPorts:{"22/tcp":{}},
		  HostConfig:{Binds:[$b],PortBindings:{"22/tcp":[{HostIp:"127.0.0.1",HostPort:""}]}}}')
	curl -sS --max-time 60 --unix-socket "$SBX_ENGINE" -H 'Content-Type: application/json' -d "$body" \
		"http://localhost/v1.41/containers/create?name=$name" >/dev/null
	sbx_api POST "/containers/$name/start" >/dev/null
	own_port=$(sbx_api GET "/containers/$name/json" | jq -r '.NetworkSettings.Ports["22/tcp"][0].HostPort')
	for _ in $(seq 1 50); do own true 2>/dev/null && break; sleep 0.2; done
}
own() { ssh "${sbx_ssh_opts[@]}" -i "$key" -p "$own_port" root@127.0.0.1 "$@"; }
bundled_sshd() {
	warm_bob
	own_up
	local t=$SBX_ROOT/own.txt b o dir
	for _ in $(seq 1 "$reps"); do echo "$(ms direct true) $(ms own true)"; done >"$t"
	b=$(col 1 "$t") o=$(col 2 "$t")
	row "bundled sshd: hot login, direct (ms)" "$b" "$(ratio "$b" "$o") of the image's sshd" "report; image's own sshd $o ms"
	for dir in down up; do
		for _ in 1 2 3; do echo "$(catrun direct "$dir" "$big") $(catrun own "$dir" "$big")"; done >"$t"
		b=$(col 1 "$t") o=$(col 2 "$t")
		row "bundled sshd: cat $((big >> 20)) MiB $dir, direct" "$(mbps "$big" "$b")" "$(ratio "$o" "$b") of the image's sshd" "report; image's own sshd $(mbps "$big" "$o")"
	done
	sbx_api DELETE "/containers/$SBX_INSTANCE-ownsshd?force=1" >/dev/null
}
section "bundled sshd" bundled_sshd

# sftp get/put and sshfs read.
sftprun() { # WHO put|get
	local who=$1 op=$2 target
	case $who in
	shim) target=(-i "$key" -P "$SBX_PORT" "$u@127.0.0.1") ;;
	direct) target=(-i "$key" -P "$port" root@127.0.0.1) ;;
	plain) target=(-i "$SBX_KEYS/$SBX_PLAIN" -P "$SBX_PORT" "$SBX_PLAIN@127.0.0.1") ;;
	esac
	if [ "$op" = put ]; then
		echo "put $SBX_ROOT/bench.bin bench.bin" >"$SBX_ROOT/bench.batch"
	else
		echo "get bench.bin $SBX_ROOT/bench.got" >"$SBX_ROOT/bench.batch"
	fi
	ms sftp -b "$SBX_ROOT/bench.batch" "${sbx_ssh_opts[@]}" "${target[@]}"
}
sshfsread() { # WHO -> ms for a sequential read of bench.bin
	local who=$1 mnt=$SBX_ROOT/bench.mnt t
	mkdir -p "$mnt"
	case $who in
	shim) sshfs -p "$SBX_PORT" -o IdentityFile="$key",StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,BatchMode=yes "$u@127.0.0.1:" "$mnt" ;;
	direct) sshfs -p "$port" -o IdentityFile="$key",StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,BatchMode=yes root@127.0.0.1: "$mnt" ;;
	esac
	t=$(ms cat "$mnt/bench.bin")
	fusermount3 -u "$mnt"
	echo "$t"
}
file_throughput() {
	warm_bob
	local op s d p t=$SBX_ROOT/sftp.txt
	head -c "$mid" /dev/urandom >"$SBX_ROOT/bench.bin"
	chmod 644 "$SBX_ROOT/bench.bin"
	for op in put get; do
		for _ in 1 2 3; do
			echo "$(sftprun shim "$op") $(sftprun direct "$op") $(sftprun plain "$op")"
		done >"$t"
		s=$(col 1 "$t") d=$(col 2 "$t") p=$(col 3 "$t")
		row "sftp $op $((mid >> 20)) MiB, shim" "$(mbps "$mid" "$s")" "$(ratio "$p" "$s") / $(ratio "$d" "$s")" \
			">= 0.7x / 1.0x: $(met "$p / $s >= 0.7 && $d / $s >= 1.0")"
	done
	s=$(sshfsread shim) d=$(sshfsread direct)
	shim 'rm -f /root/bench.bin' # written by sftp put above
	rm -f "$SBX_ROOT/bench.bin" "$SBX_ROOT/bench.batch" "$SBX_ROOT/bench.got"
	rm -f "/home/$SBX_PLAIN/bench.bin"
	row "sshfs read $((mid >> 20)) MiB, shim" "$(mbps "$mid" "$s")" "- / $(ratio "$d" "$s")" \
		">= 1.0x direct: $(met "$d / $s >= 1.0")"
}
section "sftp and sshfs throughput" file_throughput

# 4. Concurrency: first logins of distinct new users at once (no container
# yet), then 4 sessions each at once while every container runs (each user
# holds one session meanwhile, so no idle stop can come in between).
newlogin() { # I -> "ms status" of one ssh login of user I
	local s rc
	s=$(date +%s%N)
	ssh "${sbx_ssh_opts[@]}" -i "$key" -p "$SBX_PORT" "$(bu "$1")@127.0.0.1" true >/dev/null 2>&1
	rc=$?
	echo "$((($(date +%s%N) - s) / 1000000)) $rc"
}
wave() { # PER_USER -> rows of "ms status"
	local i pids=()
	for i in $(seq 1 "$conc"); do
		for _ in $(seq 1 "$1"); do
			newlogin "$i" &
			pids+=($!)
		done
	done
	wait "${pids[@]}"
}
concurrency() {
	local i start t=$SBX_ROOT/wave.txt fails users=()
	for i in $(seq 1 "$conc"); do
		users+=("$(bu "$i")")
		sbx_api DELETE "/containers/$(sbx_container "$(bu "$i")")?force=1" >/dev/null 2>&1
	done
	start=$(date +%s%N)
	wave 1 >"$t"
	fails=$(awk '$2 != 0' "$t" | wc -l)
	row "$conc first logins at once (ms)" "$((($(date +%s%N) - start) / 1000000))" "" \
		"per login median $(col 1 "$t") / max $(sort -n "$t" | tail -1 | cut -d' ' -f1); failures: $fails (target 0): $(met "$fails == 0")"
	hold_start 1 "${users[@]}"
	[ "$hold_failed" = 0 ] || echo "bench: $hold_failed of the warm-keeping sessions failed" >&2
	start=$(date +%s%N)
	wave 4 >"$t"
	fails=$(awk '$2 != 0' "$t" | wc -l)
	row "$conc users x 4 sessions at once, warm (ms)" "$((($(date +%s%N) - start) / 1000000))" "" \
		"per login median $(col 1 "$t") / max $(sort -n "$t" | tail -1 | cut -d' ' -f1); failures: $fails (target 0): $(met "$fails == 0")"
	hold_stop
}
wanted concurrency && row "users provisioned (sshbox createuser, 4 at a time)" "$provisioned" "" "setup for the rows below"
section "concurrent logins" concurrency

# 5. Footprint: the shim during a transfer; the watchdog with every bench user
# provisioned and 500 live sessions (bench/holdsessions.c: real login
# requests on real watchdog connections, the sshd descriptor closed at once),
# then idle.
shim_rss() {
	warm_bob
	local peak=0 anon=0 p v a
	shim "head -c $big /dev/zero" >/dev/null &
	local job=$!
	for _ in $(seq 1 40); do
		p=$(pgrep -u "$u" -f sshbox-shim | head -1)
		[ -n "$p" ] && read -r v a < <(awk '$1 == "VmHWM:" {h = $2} $1 == "RssAnon:" {a = $2} END {print h + 0, a + 0}' "/proc/$p/status" 2>/dev/null)
		[ "${v:-0}" -gt "$peak" ] && peak=$v
		[ "${a:-0}" -gt "$anon" ] && anon=$a
		sleep 0.1
	done
	wait "$job"
	row "shim peak RSS during a transfer (KiB)" "$peak" "" \
		"<= 8192: $(met "$peak <= 8192"); of it private (anon) at most $anon, the rest shared library pages"
}
section "shim footprint" shim_rss

watchdog_rss() {
	local i users=() s ms_held rss hwm threads rss_after rss_before
	for i in $(seq 1 "$hold_users"); do users+=("$(bu "$i")"); done
	rss_before=$(wd_status VmRSS)
	s=$(date +%s%N)
	hold_start "$per_user" "${users[@]}"
	ms_held=$((($(date +%s%N) - s) / 1000000))
	rss=$(wd_status VmRSS) hwm=$(wd_status VmHWM) threads=$(wd_status Threads)
	hold_stop
	for _ in $(seq 1 100); do # the sessions' threads end
		[ "$(wd_status Threads)" -lt 10 ] && break
		sleep 0.1
	done
	rss_after=$(wd_status VmRSS)
	row "watchdog RSS, $nusers users, $hold_ok live sessions (KiB)" "$rss" "" \
		"<= 32768: $(met "$rss <= 32768 && $hold_ok == $hold_users * $per_user"); $hold_users users x $per_user; peak $hwm, $threads threads; failed $hold_failed; set up in $ms_held ms; $rss_before before, $rss_after after"
}
section "watchdog footprint" watchdog_rss

idle_wakeups() {
	shim nodaemon >/dev/null
	local grace wd a b
	grace=$(awk -F' *= *' '$1 == "idle_grace_seconds" {print $2}' "$SBX_CONF")
	sleep "$grace"
	for _ in $(seq 1 600); do # let the idle stops of every bench container settle
		[ "$(running)" = 0 ] && break
		sleep 1
	done
	sleep 2
	wd=$(cat "$SBX_ROOT/run/watchdog.pid")
	sw() { cat /proc/"$wd"/task/*/status | awk '/^voluntary_ctxt_switches/ {s += $2} END {print s}'; }
	a=$(sw)
	sleep 10
	b=$(sw)
	local rate
	rate=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.1f", (b - a) / 10}')
	row "watchdog wakeups while idle (per s)" "$rate" "" "0 (issue 15): $(met "$rate < 0.1"); nothing pending, metrics endpoint on, no scraper"
	row "watchdog RSS, idle (KiB)" "$(wd_status VmRSS)" "" "at start $wd_rss_start"
}
section "idle watchdog" idle_wakeups

# The metrics endpoint: one scrape's time and size, and the watchdog's
# wakeups while Prometheus-like scrapes come every second.
metrics_scrape() {
	local url=http://127.0.0.1:$SBX_METRICS_PORT/metrics i times=() size wd a b rate
	curl -sf --max-time 5 "$url" >/dev/null || { row "metrics scrape" "not measured: no endpoint" "" ""; return; }
	for i in $(seq 1 "$reps"); do times+=("$(ms curl -sf --max-time 5 "$url")"); done
	size=$(curl -sf --max-time 5 "$url" | wc -c)
	row "metrics scrape (ms, median)" "$(printf '%s\n' "${times[@]}" | median)" "" "$size bytes, $(curl -sf "$url" | grep -vc '^#') samples"
	wd=$(cat "$SBX_ROOT/run/watchdog.pid")
	sw() { cat /proc/"$wd"/task/*/status | awk '/^voluntary_ctxt_switches/ {s += $2} END {print s}'; }
	a=$(sw)
	for i in $(seq 1 10); do curl -sf --max-time 5 "$url" >/dev/null; sleep 1; done
	b=$(sw)
	rate=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.1f", (b - a) / 10}')
	row "watchdog wakeups, one scrape a second (per s)" "$rate" "" "a scrape is about 3 wakeups (accept, request, answer)"
}
section "metrics endpoint" metrics_scrape

{
	echo "# sshbox benchmark results"
	echo
	echo "Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, kernel $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //');"
	echo "$(ssh -V 2>&1), libssh $(dpkg-query -W -f='${Version}' libssh-4 2>/dev/null), docker $(dpkg-query -W -f='${Version}' docker.io 2>/dev/null). Quick: $quick."
	echo "Sections run while the e2e test suite was also running on this machine: $busy_runs."
	echo
	echo "| figure | value | ratio vs plain / direct | target |"
	echo "|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
} >"$out"
echo "written to $out"
exit 0

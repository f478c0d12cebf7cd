#!/usr/bin/env bash
# sshbox benchmarks: brings up the test bed (tests/bed/up.sh), measures, and
# prints a table that is also written to bench/results.md with the machine's
# description. Every figure is a median and is given as a ratio against the
# direct path (OpenSSH straight into the container's published port) and the
# plain host login measured in the same run. Reports; never fails on a miss.
#   sudo bench/run.sh            (BENCH_QUICK=1 for fewer, smaller runs)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/bed/env.sh"
bash "$here/../tests/bed/up.sh" >/dev/null || { echo "bench: test bed did not come up" >&2; exit 0; }

quick=${BENCH_QUICK:-0}
reps=20 big=$((1 << 30)) mid=$((256 << 20)) conc=20
[ "$quick" = 1 ] && reps=5 big=$((256 << 20)) mid=$((64 << 20)) conc=8
u=sbt-bob
key=$SBX_KEYS/$u
out=$here/results.md
rows=()
row() { rows+=("| $1 | $2 | $3 | $4 |"); printf '%-44s %-12s %-16s %s\n' "$1" "$2" "$3" "$4"; }
ms() { local s=$(date +%s%N); "$@" >/dev/null 2>&1; echo $((($(date +%s%N) - s) / 1000000)); }
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf (b > 0 ? "%.2fx" : "-"), a / b}'; }
mbps() { awk -v b="$1" -v m="$2" 'BEGIN {printf "%.0f MB/s", b / 1048576 / (m / 1000)}'; }
shim() { sbx_ssh $u "$@"; }
plain() { sbx_ssh "$SBX_PLAIN" "$@"; }
direct() { ssh "${sbx_ssh_opts[@]}" -i "$key" -p "$port" root@127.0.0.1 "$@"; }
times() { local n=$1; shift; for _ in $(seq 1 "$n"); do ms "$@"; done | median; }

shim true
port=$(shim port)
# Daemon mode keeps the container up between runs (the bed's grace is short).
shim daemon >/dev/null

# 1. Hot login.
hot=$(times $reps shim true)
hplain=$(times $reps plain true)
hdirect=$(times $reps direct true)
echo "figure                                       value        vs plain / direct"
row "hot login, ssh true (ms)" "$hot" "$(ratio $hot $hplain) / $(ratio $hot $hdirect)" "target <= 1.15x plain"
row "plain host login (ms)" "$hplain" "" ""
row "direct into published port (ms)" "$hdirect" "" ""

# 2. Warm and cold.
warm=$(for _ in $(seq 1 5); do shim stop >/dev/null 2>&1; ms shim true; done | median)
cold=$(for _ in $(seq 1 5); do shim remove --force >/dev/null 2>&1; ms shim true; done | median)
row "warm login (stopped), ms over hot" "$((warm - hot))" "" "target <= 400"
row "cold login (no container), ms over hot" "$((cold - hot))" "" "target <= 1200"
shim true
shim daemon >/dev/null
port=$(shim port)

# 3. Throughput.
sbx_ssh_opts_s="${sbx_ssh_opts[*]}"
catrun() { # WHO up|down BYTES -> ms
	local who=$1 dir=$2 b=$3 cmd
	case $who in
	shim) cmd="ssh $sbx_ssh_opts_s -i $key -p $SBX_PORT $u@127.0.0.1" ;;
	plain) cmd="ssh $sbx_ssh_opts_s -i $SBX_KEYS/$SBX_PLAIN -p $SBX_PORT $SBX_PLAIN@127.0.0.1" ;;
	direct) cmd="ssh $sbx_ssh_opts_s -i $key -p $port root@127.0.0.1" ;;
	esac
	if [ "$dir" = up ]; then
		ms bash -c "head -c $b /dev/zero | $cmd 'cat > /dev/null'"
	else
		ms bash -c "$cmd 'head -c $b /dev/zero' > /dev/null"
	fi
}
for dir in up down; do
	for who in shim direct plain; do
		eval "c_${who}_$dir=$(for _ in 1 2 3; do catrun $who $dir $big; done | median)"
	done
	s=$(eval echo \$c_shim_$dir) d=$(eval echo \$c_direct_$dir) p=$(eval echo \$c_plain_$dir)
	row "cat $((big >> 20)) MiB $dir, shim" "$(mbps $big $s)" "$(ratio $p $s) / $(ratio $d $s)" "target >= 0.7x / 1.0x"
	row "cat $((big >> 20)) MiB $dir, direct / plain" "$(mbps $big $d) / $(mbps $big $p)" "" ""
done

# sftp get/put and sshfs read.
head -c $mid /dev/urandom >"/var/tmp/bench.$$"
chmod 644 "/var/tmp/bench.$$"
sftprun() { # WHO put|get
	local who=$1 op=$2 target
	case $who in
	shim) target=(-i "$key" -P "$SBX_PORT" "$u@127.0.0.1") ;;
	direct) target=(-i "$key" -P "$port" root@127.0.0.1) ;;
	plain) target=(-i "$SBX_KEYS/$SBX_PLAIN" -P "$SBX_PORT" "$SBX_PLAIN@127.0.0.1") ;;
	esac
	if [ "$op" = put ]; then
		echo "put /var/tmp/bench.$$ bench.bin" >"/var/tmp/bench.b$$"
	else
		echo "get bench.bin /var/tmp/bench.got$$" >"/var/tmp/bench.b$$"
	fi
	ms sftp -b "/var/tmp/bench.b$$" "${sbx_ssh_opts[@]}" "${target[@]}"
}
for op in put get; do
	s=$(for _ in 1 2 3; do sftprun shim $op; done | median)
	d=$(for _ in 1 2 3; do sftprun direct $op; done | median)
	p=$(for _ in 1 2 3; do sftprun plain $op; done | median)
	row "sftp $op $((mid >> 20)) MiB, shim" "$(mbps $mid $s)" "$(ratio $p $s) / $(ratio $d $s)" "target >= 0.7x / 1.0x"
done
sshfsread() { # WHO -> ms for a sequential read of bench.bin
	local who=$1 mnt=/var/tmp/bench.mnt$$ t
	mkdir -p $mnt
	case $who in
	shim) sshfs -p "$SBX_PORT" -o IdentityFile="$key",StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,BatchMode=yes "$u@127.0.0.1:" $mnt ;;
	direct) sshfs -p "$port" -o IdentityFile="$key",StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,BatchMode=yes root@127.0.0.1: $mnt ;;
	esac
	t=$(ms cat $mnt/bench.bin)
	fusermount3 -u $mnt
	echo "$t"
}
s=$(sshfsread shim) d=$(sshfsread direct)
shim 'rm -f /root/bench.bin' # written by sftp put above
row "sshfs read $((mid >> 20)) MiB, shim" "$(mbps $mid $s)" "- / $(ratio $d $s)" "target >= 1.0x direct"
rm -f "/var/tmp/bench.$$" "/var/tmp/bench.b$$" "/var/tmp/bench.got$$"

# 4. Concurrency: first logins of distinct new users at once, then 4 sessions each.
for i in $(seq 1 $conc); do
	"$SBX_BIN/sshbox" --config "$SBX_CONF" createuser "sbb-$i" sshbox-base:latest "$key.pub" >/dev/null
done
newlogin() { ssh "${sbx_ssh_opts[@]}" -i "$key" -p "$SBX_PORT" "sbb-$1@127.0.0.1" true; }
start=$(date +%s%N)
fails=0
for i in $(seq 1 $conc); do newlogin $i & done
for j in $(jobs -p); do wait $j || fails=$((fails + 1)); done
row "$conc first logins at once (ms), failures" "$((($(date +%s%N) - start) / 1000000))" "" "failures: $fails (target 0)"
start=$(date +%s%N)
fails=0
for i in $(seq 1 $conc); do for _ in 1 2 3 4; do newlogin $i & done; done
for j in $(jobs -p); do wait $j || fails=$((fails + 1)); done
row "$conc users x 4 sessions at once, warm (ms)" "$((($(date +%s%N) - start) / 1000000))" "" "failures: $fails (target 0)"
for i in $(seq 1 $conc); do "$SBX_BIN/sshbox" --config "$SBX_CONF" cleanuser "sbb-$i" --purge >/dev/null; done

shim nodaemon >/dev/null

# 5. Footprint.
shim 'head -c '$big' /dev/zero' >/dev/null &
peak=0
for _ in $(seq 1 40); do
	p=$(pgrep -u $u -f sshbox-shim | head -1)
	[ -n "$p" ] && v=$(awk '/^VmHWM/ {print $2}' /proc/$p/status 2>/dev/null) && [ "${v:-0}" -gt $peak ] && peak=$v
	sleep 0.1
done
wait
row "shim peak RSS during a transfer (KiB)" "$peak" "" "target <= 8192"
wd=$(cat "$SBX_ROOT/run/watchdog.pid")
sleep $(($(awk -F' *= *' '$1 == "idle_grace_seconds" {print $2}' "$SBX_CONF") + 8)) # let idle stops settle
sw() { cat /proc/$wd/task/*/status | awk '/^voluntary_ctxt_switches/ {s += $2} END {print s}'; }
a=$(sw)
sleep 10
b=$(sw)
row "watchdog wakeups while idle (per s)" "$(awk -v a=$a -v b=$b 'BEGIN {printf "%.1f", (b - a) / 10}')" "" "target <= 1"
row "watchdog RSS (KiB)" "$(awk '/^VmRSS/ {print $2}' /proc/$wd/status)" "" "target <= 32768 at 1000 users / 500 sessions (not measured at that scale)"

{
	echo "# sshbox benchmark results"
	echo
	echo "Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, kernel $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //');"
	echo "$(ssh -V 2>&1), libssh $(dpkg-query -W -f='${Version}' libssh-4 2>/dev/null), docker $(dpkg-query -W -f='${Version}' docker.io 2>/dev/null). Quick: $quick."
	echo
	echo "| figure | value | ratio vs plain / direct | target |"
	echo "|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
} >"$out"
echo "written to $out"
exit 0

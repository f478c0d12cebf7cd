#!/usr/bin/env bash
# Issue 14's bench rows (report, never assert): hot login (container already
# running) through the home node's sshd (same node), through another node's
# (cross node), and in single-host mode on the same machine and engine (an
# engine_mode = local instance beside the swarm one on node n1); and 1 GiB
# `cat` through another node. Medians, interleaved, in one run. Uses the
# swarm bed (tests/bed/swarm.sh up; tests/bed/swarm-sshbox.sh up): run as root
#   bench/swarm.sh        (BENCH_ROUNDS=N, default 15)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/e2e/swarm-lib.sh"
rounds=${BENCH_ROUNDS:-15}
S=sbt-sw-bench L=sbt-swl-bench
LD=$SBX_SWARM_DIR/sshbox/local
LCONF=$LD/sshbox.conf

# The single-host instance on n1's engine: its own watchdog, sshd on port 2222.
local_up() {
	mkdir -p "$LD"/{run,state,sshd}
	chmod 755 "$LD" "$LD/run"
	sed -e '/^engine_mode/d' -e "s|$SBX_SWARM_DIR/sshbox/n1|$LD|g" \
		-e "s|^instance = .*|instance = ${SBX_SWARM_INSTANCE}l|" "$(sbx_swarm_conf n1)" >"$LCONF"
	nsenter --net=/run/netns/sbxsw-n1 "$SBX_SWARM_DIR/sshbox/bin/sshbox-watchdog" --config "$LCONF" --stderr \
		>>"$LD/watchdog.log" 2>&1 9>&- &
	for _ in $(seq 1 100); do [ -S "$LD/run/watchdog.sock" ] && break; sleep 0.05; done
	sed -e "s|$SBX_SWARM_DIR/sshbox/n1|$LD|g" -e 's/^Port 22$/Port 2222/' \
		"$SBX_SWARM_DIR/sshbox/n1/sshd/sshd_config" >"$LD/sshd/sshd_config"
	sed -e "s|$(sbx_swarm_conf n1)|$LCONF|" "$SBX_SWARM_DIR/sshbox/n1/sshd/sshbox.conf" >"$LD/sshd/sshbox.conf"
	cp "$SBX_SWARM_DIR/sshbox/n1/sshd/host_key" "$LD/sshd/host_key"
	sbx_swarm_net n1 /usr/sbin/sshd -f "$LD/sshd/sshd_config" -E "$LD/sshd/sshd.log"
	[ -f "$SW_KEYS/$L" ] || ssh-keygen -q -t ed25519 -N '' -f "$SW_KEYS/$L"
	"$SBX_SWARM_DIR/sshbox/bin/sshbox" --config "$LCONF" createuser "$L" "$SBX_SWARM_IMAGE:latest" "$SW_KEYS/$L.pub" >/dev/null
}
local_down() {
	"$SBX_SWARM_DIR/sshbox/bin/sshbox" --config "$LCONF" cleanuser "$L" --purge >/dev/null 2>&1
	for f in "$LD/run/watchdog.pid" "$LD/sshd/sshd.pid"; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	sleep 0.5
	rm -rf "$LD"
}
local_ssh() {
	nsenter --net=/run/netns/sbxsw-hub ssh "${sbx_ssh_opts[@]}" -i "$SW_KEYS/$L" -p 2222 "$L@$(sbx_swarm_addr n1)" "$@"
}
cleanup() { kill "${holders[@]}" 2>/dev/null; local_down; sw_cleanup $S; rm -rf "$T"; }
holders=()
trap cleanup EXIT
sw_cleanup $S
sw_user $S n3 >/dev/null
local_up
# Hot: each container held running by a session of its own.
sw_ssh_bg n3 $S 'sleep 600'
holders+=("$SW_BG")
nsenter --net=/run/netns/sbxsw-hub ssh "${sbx_ssh_opts[@]}" -i "$SW_KEYS/$L" -p 2222 "$L@$(sbx_swarm_addr n1)" 'sleep 600' </dev/null >/dev/null 2>&1 &
holders+=("$!")
wait_for 30 sw_ssh n3 $S true
wait_for 30 local_ssh true

ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1 || echo "# failed: $*" >&2; t1=$(date +%s%N); echo $(((t1 - t0) / 1000000)); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: >"$T/same" ; : >"$T/cross" ; : >"$T/local"
for _ in $(seq 1 "$rounds"); do
	ms sw_ssh n3 $S true >>"$T/same"
	ms sw_ssh n1 $S true >>"$T/cross"
	ms local_ssh true >>"$T/local"
done
same=$(median <"$T/same") cross=$(median <"$T/cross") single=$(median <"$T/local")
t0=$(date +%s%N)
bytes=$(sw_ssh n1 $S 'head -c 1073741824 /dev/zero' | wc -c)
t1=$(date +%s%N)
cat_ms=$(((t1 - t0) / 1000000))
t0=$(date +%s%N)
lbytes=$(local_ssh 'head -c 1073741824 /dev/zero' | wc -c)
t1=$(date +%s%N)
lcat_ms=$(((t1 - t0) / 1000000))

cat <<TABLE
| swarm bench ($rounds rounds, medians) | ms | vs single-host |
|---|---|---|
| hot login, single-host mode (n1's engine, local) | $single | 1.00 |
| hot login, swarm, through the home node (n3 -> n3) | $same | $(awk -v a="$same" -v b="$single" 'BEGIN{printf "%.2f", a/b}') |
| hot login, swarm, through another node (n1 -> n3) | $cross | $(awk -v a="$cross" -v b="$single" 'BEGIN{printf "%.2f", a/b}') |
| 1 GiB cat, swarm, n1 -> n3 ($bytes bytes) | $cat_ms | $(awk -v a="$cat_ms" -v b="$lcat_ms" 'BEGIN{printf "%.2f", a/b}') |
| 1 GiB cat, single-host mode ($lbytes bytes) | $lcat_ms | 1.00 |
TABLE

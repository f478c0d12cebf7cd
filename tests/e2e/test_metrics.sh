#!/usr/bin/env bash
# Issue 15, part 3: the watchdog's Prometheus endpoint (metrics_listen, set
# by the bed to 127.0.0.1:$SBX_METRICS_PORT). A real Prometheus server (its
# own port and data dir under $T, killed at the end) scrapes it; a PromQL
# query through its HTTP API counts exactly the logins this test made;
# promtool accepts the exposition; the endpoint refuses what it does not
# serve, and scrapers that say nothing stall neither it for long nor the
# watchdog at all. A metrics_listen beyond this host is refused.
. "$(dirname "$0")/lib.sh"
u=sbt-alice
url=http://127.0.0.1:$SBX_METRICS_PORT/metrics
prom=http://127.0.0.1:$SBX_PROMETHEUS_PORT

scrape() { curl -sS --max-time 10 "$url"; }
check "the endpoint answers" wait_for 15 bash -c "curl -sf --max-time 5 $url >/dev/null"
scrape >"$T/first.txt"
check "promtool check metrics passes on the exposition" promtool check metrics <"$T/first.txt"
for name in 'sshbox_logins_total{result="ok"}' 'sshbox_login_duration_seconds_bucket{kind="hot",le="+Inf"}' \
	sshbox_sessions 'sshbox_containers{state="running"}' 'sshbox_idle_stops_total{reason="idle"}' \
	'sshbox_engine_errors_total{op="start"}' sshbox_watchdog_open_fds sshbox_watchdog_threads; do
	check "the exposition has $name" grep -qF "$name " "$T/first.txt"
done
fds=$(awk '$1 == "sshbox_watchdog_open_fds" {print $2}' "$T/first.txt")
wd=$(cat "$SBX_ROOT/run/watchdog.pid")
real=$(find "/proc/$wd/fd" -mindepth 1 -maxdepth 1 | wc -l)
check "sshbox_watchdog_open_fds is near the real count ($fds vs $real)" test $((fds - real)) -le 8 -a $((real - fds)) -le 8
# Threads come and go (a session's handler ends a moment after its
# client): the gauge must lie between the counts read just before and just
# after a scrape (tried a few times, for a thread that came and went).
threads_now() { awk '/^Threads:/ {print $2}' "/proc/$wd/status"; }
threads_match() {
	local before after v
	before=$(threads_now)
	v=$(scrape | awk '$1 == "sshbox_watchdog_threads" {print $2}')
	after=$(threads_now)
	echo "# threads: $before before, $v scraped, $after after"
	[ -n "$v" ] && [ "$v" -ge "$((before < after ? before : after))" ] &&
		[ "$v" -le "$((before > after ? before : after))" ]
}
check "sshbox_watchdog_threads is the real count" wait_for 10 threads_match

# A real Prometheus, scraping every second.
cat >"$T/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: sshbox
    static_configs:
      - targets: ['127.0.0.1:$SBX_METRICS_PORT']
YML
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
	--web.listen-address="127.0.0.1:$SBX_PROMETHEUS_PORT" >"$T/prometheus.log" 2>&1 &
prom_pid=$!
trap 'kill $prom_pid 2>/dev/null; wait $prom_pid 2>/dev/null; rm -rf "$T"' EXIT
# query PROMQL: the single value of an instant query ("" when none).
query() {
	curl -sS --max-time 5 "$prom/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
		jq -r '.data.result[0].value[1] // empty' 2>/dev/null
}
query_is() { [ "$(query "$1")" = "$2" ]; }
check "Prometheus scrapes the endpoint (up == 1)" wait_for 30 query_is 'up{job="sshbox"}' 1
check "and has the logins counter" wait_for 10 bash -c "[ -n \"\$(curl -sS '$prom/api/v1/query' --data-urlencode 'query=sshbox_logins_total{result=\"ok\"}' | jq -r '.data.result[0].value[1] // empty')\" ]"
# A session held across the logins below keeps the container running: they
# are hot. It logs in (and is counted) before t0.
open_session held $u
check "the held session is live" wait_for 20 sessions_are $u 1
sleep 1.5 # one more scrape, so the sample at t0 is before any login below
t0=$(date +%s.%N)
sleep 0.2

# Three logins, one refused (a group member without a record), one verb.
for _ in 1 2 3; do sbx_ssh $u true; done
sbx_ssh "$SBX_NOREC" true >/dev/null 2>&1
sbx_ssh $u status >/dev/null
made="sshbox_logins_total{result=\"ok\"} - sshbox_logins_total{result=\"ok\"} @ $t0"
check "PromQL: the ok logins counted since t0 equal the 3 made" wait_for 15 query_is "$made" 3
refused="sshbox_logins_total{result=\"refused\"} - sshbox_logins_total{result=\"refused\"} @ $t0"
check "PromQL: the refused login is counted once" wait_for 5 query_is "$refused" 1
hot="sshbox_login_duration_seconds_count{kind=\"hot\"} - sshbox_login_duration_seconds_count{kind=\"hot\"} @ $t0"
check "PromQL: the login duration histogram counted them as hot" wait_for 5 query_is "$hot" 3
check "PromQL: the verb is counted" wait_for 5 query_is "sshbox_host_verbs_total - sshbox_host_verbs_total @ $t0" 1
check "PromQL: sshbox_sessions sees the held session" query_is 'sshbox_sessions >= bool 1' 1
close_session held
kill $prom_pid
wait $prom_pid 2>/dev/null

# What the endpoint does not serve.
expect_eq "POST is refused (405)" 405 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST "$url")"
expect_eq "another path is 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$SBX_METRICS_PORT/")"
expect_match "the content type is the 0.0.4 text format" 'text/plain; version=0.0.4' \
	"$(curl -s -D - -o /dev/null --max-time 5 "$url")"

# Twelve scrapers that connect and say nothing: the watchdog logs in as
# usual meanwhile, and the endpoint serves again once their deadline passed.
python3 -c 'import socket, sys, time
s = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(12)]
time.sleep(30)' "$SBX_METRICS_PORT" &
silent=$!
sleep 0.5
start=$SECONDS
check "a login works while silent scrapers hold every slot" sbx_ssh $u true
check "it took no longer than usual" test $((SECONDS - start)) -lt 5
check "the endpoint serves again within its deadline" wait_for 15 bash -c "curl -sf --max-time 12 $url >/dev/null"
kill $silent
wait $silent 2>/dev/null

# A unix socket: a second watchdog of an instance of its own (no containers,
# its own socket and state) serves its metrics there, root-only.
sed -e "s|^socket = .*|socket = $T/wd/watchdog.sock|" -e "s|^state_dir = .*|state_dir = $T/state|" \
	-e "s|^instance = .*|instance = ${SBX_INSTANCE}m|" \
	-e "s|^metrics_listen = .*|metrics_listen = unix:$T/metrics.sock|" "$SBX_CONF" >"$T/unix.conf"
mkdir -p "$T/state"
"$SBX_BIN/sshbox-watchdog" --config "$T/unix.conf" >"$T/unix.log" 2>&1 &
unix_wd=$!
check "metrics_listen = unix:PATH: the socket appears" wait_for 10 test -S "$T/metrics.sock"
expect_eq "root's alone (0600)" "600 root" "$(stat -c '%a %U' "$T/metrics.sock")"
check "GET /metrics answers there" wait_for 5 bash -c "curl -sf --max-time 5 --unix-socket '$T/metrics.sock' http://localhost/metrics | grep -q '^sshbox_sessions 0'"
kill $unix_wd
wait $unix_wd 2>/dev/null
check "and is removed when the watchdog stops" test ! -e "$T/metrics.sock"

# Only this host: anything but unix:/PATH or 127.0.0.1:PORT is refused.
sed -e 's|^metrics_listen = .*|metrics_listen = 0.0.0.0:9100|' "$SBX_CONF" >"$T/bad.conf"
out=$("$SBX_BIN/sshbox-watchdog" --config "$T/bad.conf" 2>&1)
rc=$?
expect_eq "a watchdog with metrics_listen = 0.0.0.0:9100 does not start" 1 $rc
expect_match "and says which key is wrong" 'bad value "0.0.0.0:9100" for "metrics_listen".*127.0.0.1:PORT' "$out"
finish

#!/usr/bin/env bash
# Issue 8 (part): a remote engine over mutual TLS. The suite's own dockerd is
# restarted to also listen on 127.0.0.1 with --tlsverify (in its network
# namespace; a socat relay brings that port to the host's 127.0.0.1); the watchdog talks to it with the client
# certificate from engine_cert_path (ca.pem, cert.pem, key.pem). A client
# certificate from another CA, or none, is refused with a clear line.
. "$(dirname "$0")/lib.sh"
u=sbt-bob
wd=$(cat "$SBX_ROOT/run/watchdog.pid")
tls_port=23760
pki=$T/pki
mkdir -p "$pki" "$T/certs"
chmod 700 "$pki" "$T/certs"
ping_engine() { curl -sf --max-time 2 --unix-socket "$SBX_ENGINE" http://localhost/_ping >/dev/null; }
ca() { # NAME: a CA
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=$1" -keyout "$pki/$1.key" -out "$pki/$1.pem" 2>/dev/null
}
issue() { # CA NAME EXT: a certificate signed by CA
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
		-keyout "$pki/$2.key" -out "$pki/$2.csr" 2>/dev/null
	printf '%s\n' "$3" >"$pki/$2.ext"
	openssl x509 -req -in "$pki/$2.csr" -CA "$pki/$1.pem" -CAkey "$pki/$1.key" -CAcreateserial \
		-days 2 -extfile "$pki/$2.ext" -out "$pki/$2.pem" 2>/dev/null
}
ca sbx-ca
ca rogue-ca
issue sbx-ca server "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
issue sbx-ca client "extendedKeyUsage=clientAuth"
issue rogue-ca rogue "extendedKeyUsage=clientAuth"
use_client() { # NAME: what engine_cert_path holds
	cp "$pki/sbx-ca.pem" "$T/certs/ca.pem"
	cp "$pki/$1.pem" "$T/certs/cert.pem"
	cp "$pki/$1.key" "$T/certs/key.pem"
	chmod 600 "$T/certs/key.pem"
}
set_engine() { # ADDRESS CERT_PATH
	sed -i -e "/^engine_cert_path/d" -e "s|^engine = .*|engine = $1|" "$SBX_CONF"
	[ -n "$2" ] && echo "engine_cert_path = $2" >>"$SBX_CONF"
	kill -HUP "$wd"
	wait_for 10 bash -c "tail -n 3 '$SBX_ROOT/watchdog.log' | grep -q 'configuration reloaded'"
}
engine=$SBX_SRC/tests/bed/engine.sh
# shellcheck disable=SC2120 # check passes it arguments, which shellcheck does not see
restart_dockerd() { # [ARGS...]: the suite's own dockerd, with extra ARGS
	"$engine" stop
	"$engine" up "$@" && wait_for 60 ping_engine
}
# The TLS port inside the engine's network namespace, relayed to the host's
# loopback where the watchdog is.
socat "TCP-LISTEN:$tls_port,bind=127.0.0.1,reuseaddr,fork" \
	"EXEC:nsenter --target $(cat "$SBX_ENGINE_DIR/holder.pid") --net -- socat STDIO TCP\:127.0.0.1\:$tls_port" &
relay=$!
restore() {
	kill "$relay" 2>/dev/null
	set_engine "$SBX_ENGINE" ""
	restart_dockerd
	rm -rf "$T"
}
trap restore EXIT

use_client client
set_engine "tcp://127.0.0.1:$tls_port" "$T/certs"
check "dockerd restarts with a TLS listener on 127.0.0.1" restart_dockerd \
	-H "tcp://127.0.0.1:$tls_port" --tlsverify \
	--tlscacert "$pki/sbx-ca.pem" --tlscert "$pki/server.pem" --tlskey "$pki/server.key"
tls_curl() { # CLIENT_NAME: the engine's /_ping over TLS with that client cert
	curl -sf --max-time 5 --cacert "$pki/sbx-ca.pem" --cert "$pki/$1.pem" --key "$pki/$1.key" \
		"https://127.0.0.1:$tls_port/_ping"
}
expect_eq "dockerd answers our client certificate" OK "$(tls_curl client)"
check_not "and refuses one from another CA" tls_curl rogue
check_not "and refuses none" curl -sf --max-time 5 --cacert "$pki/sbx-ca.pem" "https://127.0.0.1:$tls_port/_ping"

remove_container $u 2>/dev/null
expect_eq "a first login over mutual TLS creates and starts the container" ok "$(sbx_ssh $u 'echo ok')"
check "the container runs" container_running $u
open_session held $u # keeps it running past the idle grace while we look
tls_conn() { ss -tnpH state established "( dport = :$tls_port )" | grep -q "pid=$wd,"; }
check "the watchdog's event stream is on the TLS port" wait_for 15 tls_conn
expect_eq "a verb goes the same way" 0 "$(sbx_ssh $u port >/dev/null; echo $?)"

use_client rogue
out=$(sbx_ssh $u true 2>&1)
expect_ne "with a client certificate from another CA the login fails" 0 $?
expect_eq "with one line" 1 "$(printf '%s\n' "$out" | wc -l)"
expect_match "that names the engine" "container engine is not available right now \(container engine at tcp://127.0.0.1:$tls_port" "$out"
why=$(tail -n 20 "$SBX_ROOT/watchdog.log" | grep -o "cannot start container: container engine at tcp://127.0.0.1:$tls_port: .*" | tail -n 1)
expect_match "the watchdog logged why (${why#*"$tls_port": })" "container engine at tcp://127.0.0.1:$tls_port: [A-Za-z]" "$why"
rm "$T/certs/cert.pem" "$T/certs/key.pem"
out=$(sbx_ssh $u true 2>&1)
expect_ne "without a client certificate the login fails" 0 $?
expect_match "naming the engine" "container engine" "$out"
use_client client
expect_eq "with ours again it works" ok "$(sbx_ssh $u 'echo ok')"
check "the watchdog served throughout" kill -0 "$wd"
close_session held
finish

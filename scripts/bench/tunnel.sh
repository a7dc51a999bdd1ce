#!/usr/bin/env bash
# Tunnel benchmarks (docs/PERFORMANCE.md, "Tunnel"): one load generator,
# 'pqtls bench', against
#   bare    a bare Go crypto/tls echo server ('pqtls bench echo-server')
#   tunnel  'pqtls tunnel server' in front of a plaintext echo server
#   pair    'pqtls tunnel client' -> 'pqtls tunnel server' -> plaintext echo
#   nginx   nginx 'stream' with ssl (Debian, OpenSSL 3.0: classical X25519) -> plaintext echo
# with an ECDSA P-256 certificate. Runs are interleaved (ROUNDS rounds of every
# target) and the medians reported, because the machine is shared.
#
#   scripts/bench/tunnel.sh                 # about 3 minutes in all, no run longer than ~15 s
#   DUR=2s ROUNDS=2 IDLE_CONNS=2000 scripts/bench/tunnel.sh   # quicker
#
# Output: a summary on stdout, raw JSON (schema pqtls.bench/v1) in $OUT (default a temp dir).
set -euo pipefail

DUR=${DUR:-3s}
ROUNDS=${ROUNDS:-3}
IDLE_CONNS=${IDLE_CONNS:-9900}   # 10,000 needs 20,000+ descriptors in the tunnel; see the docs
IDLE_HOLD=${IDLE_HOLD:-12s}
HS_CONC=${HS_CONC:-8}
TP_CONC=${TP_CONC:-2}
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
OUT=${OUT:-$work/results}
mkdir -p "$OUT"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap cleanup EXIT

go build -o "$work/pqtls" ./cmd/pqtls
P=$work/pqtls

# ECDSA P-256 CA and server certificate.
openssl ecparam -name prime256v1 -genkey -noout -out "$work/ca.key"
openssl req -x509 -new -key "$work/ca.key" -subj /CN=bench-ca -days 2 -out "$work/ca.pem" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$work/srv.key"
chmod 600 "$work/srv.key"
openssl req -new -key "$work/srv.key" -subj /CN=localhost -out "$work/srv.csr"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$work/ext"
openssl x509 -req -in "$work/srv.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 2 -extfile "$work/ext" -out "$work/srv.pem" 2>/dev/null

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitport() { for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
ECHO=$(freeport); BARE=$(freeport); TUN=$(freeport); PAIR=$(freeport); NGINX=$(freeport)

"$P" bench echo-server --listen 127.0.0.1:$ECHO --plain 2>/dev/null & pids+=($!)
"$P" bench echo-server --listen 127.0.0.1:$BARE --cert "$work/srv.pem" --key "$work/srv.key" 2>/dev/null & pids+=($!)
BARE_PID=$!
# Default log level (info): one log line per connection, as in production.
"$P" tunnel server --listen 127.0.0.1:$TUN --target 127.0.0.1:$ECHO --cert "$work/srv.pem" --key "$work/srv.key" \
	--max-connections 20000 2>"$work/tunnel-server.log" & pids+=($!)
TUN_PID=$!
"$P" tunnel client --listen 127.0.0.1:$PAIR --target 127.0.0.1:$TUN --ca "$work/ca.pem" --server-name localhost \
	2>"$work/tunnel-client.log" & pids+=($!)
cat >"$work/nginx.conf" <<NGINX
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 2;
worker_rlimit_nofile 20000;
error_log $work/nginx-error.log warn;
pid $work/nginx.pid;
events { worker_connections 20000; }
stream {
  server {
    listen 127.0.0.1:$NGINX ssl;
    ssl_certificate $work/srv.pem;
    ssl_certificate_key $work/srv.key;
    ssl_protocols TLSv1.3;
    proxy_pass 127.0.0.1:$ECHO;
  }
}
NGINX
HAVE_NGINX=0
NGINX_BIN=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null || true)
if [ -n "$NGINX_BIN" ]; then
	"$NGINX_BIN" -p "$work" -c "$work/nginx.conf" -g 'daemon off;' 2>"$work/nginx.stderr" & pids+=($!)
	HAVE_NGINX=1
fi
for p in $ECHO $BARE $TUN $PAIR; do waitport $p; done
if [ $HAVE_NGINX = 1 ]; then waitport $NGINX; fi

b() { "$P" bench --format json --ca "$work/ca.pem" --server-name localhost "$@"; }
targets_tls=(bare:$BARE tunnel:$TUN)
if [ $HAVE_NGINX = 1 ]; then targets_tls+=(nginx:$NGINX); fi

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/machine.txt"
for r in $(seq "$ROUNDS"); do
	for t in "${targets_tls[@]}"; do
		b --target 127.0.0.1:${t#*:} --mode handshake -c "$HS_CONC" --duration "$DUR" >"$OUT/handshake-${t%%:*}-$r.json"
	done
	for t in "${targets_tls[@]}"; do
		b --target 127.0.0.1:${t#*:} --mode throughput -c "$TP_CONC" --duration "$DUR" >"$OUT/throughput-${t%%:*}-$r.json"
	done
	"$P" bench --format json --plain --target 127.0.0.1:$PAIR --mode throughput -c "$TP_CONC" --duration "$DUR" >"$OUT/throughput-pair-$r.json"
	b --target 127.0.0.1:$BARE --mode rr -c 1 --size 64 --duration "$DUR" >"$OUT/rr-bare-$r.json"
	"$P" bench --format json --plain --target 127.0.0.1:$PAIR --mode rr -c 1 --size 64 --duration "$DUR" >"$OUT/rr-pair-$r.json"
done

rss() { awk '/VmRSS/ {print $2}' /proc/"$1"/status; }
rss_sum() { local s=0; for p in "$@"; do s=$((s + $(rss "$p"))); done; echo $s; }
# Idle memory: RSS growth of the server process(es) while holding IDLE_CONNS
# connections that each did a handshake and one 16-byte round trip.
idle() { # name port pids...
	local name=$1 port=$2; shift 2
	local before after
	before=$(rss_sum "$@")
	b --target 127.0.0.1:$port --mode idle -c "$IDLE_CONNS" --duration "$IDLE_HOLD" --timeout 30s >"$OUT/idle-$name.json" 2>"$work/idle-$name.err" &
	local bp=$!
	for _ in $(seq 600); do grep -q holding "$work/idle-$name.err" 2>/dev/null && break; sleep 0.1; done
	sleep 2
	after=$(rss_sum "$@")
	wait $bp
	echo "{\"name\":\"$name\",\"rss_before_kib\":$before,\"rss_holding_kib\":$after,\"connections\":$(jq .open_connections "$OUT/idle-$name.json")}" >"$OUT/idle-rss-$name.json"
}
idle tunnel $TUN $TUN_PID
idle bare $BARE $BARE_PID
if [ $HAVE_NGINX = 1 ]; then
	idle nginx $NGINX $(pgrep -P "$(cat "$work/nginx.pid")") "$(cat "$work/nginx.pid")"
fi

python3 - "$OUT" <<'PY'
import glob, json, os, statistics, sys
out = sys.argv[1]
def runs(kind, name):
    return [json.load(open(f)) for f in sorted(glob.glob(f"{out}/{kind}-{name}-*.json"))]
def med(xs): return statistics.median(xs) if xs else float("nan")
hs = {n: med([r["operations_per_second"] for r in runs("handshake", n)]) for n in ("bare", "tunnel", "nginx")}
hs_p50 = {n: med([r["latency"]["p50_ms"] for r in runs("handshake", n)]) for n in ("bare", "tunnel", "nginx")}
groups = {n: sorted({g for r in runs("handshake", n) for g in r["groups"]}) for n in ("bare", "tunnel", "nginx")}
errs = {n: sum(r["errors"] for k in ("handshake", "throughput") for r in runs(k, n)) for n in ("bare", "tunnel", "nginx", "pair")}
tp = {n: med([r["echoed_bytes_per_second"] / 2**20 for r in runs("throughput", n)]) for n in ("bare", "tunnel", "pair", "nginx")}
rr = {n: (med([r["latency"]["p50_ms"] for r in runs("rr", n)]), med([r["latency"]["p99_ms"] for r in runs("rr", n)])) for n in ("bare", "pair")}
print("\n| target | handshakes/s | ratio vs bare | handshake p50 ms | groups | echo MiB/s | ratio vs bare | errors |")
print("|---|---|---|---|---|---|---|---|")
for n in ("bare", "tunnel", "pair", "nginx"):
    h = hs.get(n, float("nan"))
    hp = hs_p50.get(n, float("nan"))
    print(f"| {n} | {h:.0f} | {h/hs['bare']:.2f} | {hp:.2f} | {' '.join(groups.get(n, [])) or '-'} | {tp[n]:.0f} | {tp[n]/tp['bare']:.2f} | {errs[n]} |")
print(f"\nsmall request/response (64 B, 1 connection): direct TLS p50 {rr['bare'][0]*1000:.0f} us p99 {rr['bare'][1]*1000:.0f} us; "
      f"through the pair p50 {rr['pair'][0]*1000:.0f} us p99 {rr['pair'][1]*1000:.0f} us; "
      f"added p50 {(rr['pair'][0]-rr['bare'][0])*1000:.0f} us, p99 {(rr['pair'][1]-rr['bare'][1])*1000:.0f} us")
for f in sorted(glob.glob(f"{out}/idle-rss-*.json")):
    d = json.load(open(f))
    per = (d["rss_holding_kib"] - d["rss_before_kib"]) / max(d["connections"], 1)
    print(f"idle memory {d['name']}: {d['connections']} connections, RSS {d['rss_before_kib']/1024:.0f} -> {d['rss_holding_kib']/1024:.0f} MiB, {per:.1f} KiB per connection")
PY
echo "raw results: $OUT"

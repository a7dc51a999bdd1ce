#!/usr/bin/env bash
# Tunnel benchmarks (docs/PERFORMANCE.md, "Tunnel"): one load generator,
# 'pqtls bench', against
#   bare    a bare Go crypto/tls echo server ('pqtls bench echo-server')
#   tunnel  'pqtls tunnel server' in front of a plaintext echo server
#   pair    'pqtls tunnel client' -> 'pqtls tunnel server' -> plaintext echo
#   nginx   nginx 'stream' with ssl (Debian, OpenSSL 3.0: classical X25519) -> plaintext echo
#   ghostunnel  'ghostunnel server' (built by you, path in GHOSTUNNEL) -> plaintext echo
#   tunnel-quiet, ghostunnel-quiet  the same without per-connection log lines
#           (handshakes only): 'tunnel --log-level warn', 'ghostunnel --quiet=conns'
#   floor   (plaintext) a second process copying like the tunnel, without TLS
#           (scripts/bench/plainhop) -> plaintext echo; plain = the echo directly
# with an ECDSA P-256 certificate. Runs are interleaved (ROUNDS rounds of every
# target) and the medians reported, because the machine is shared; ratios are
# the median of the per-round ratios. Besides rates, the script reads the CPU
# time (utime+stime) the server-side processes used in each run (tunnel: the
# tunnel plus the echo backend; nginx: its workers plus the echo backend) and
# reports CPU per handshake and per MiB: a figure that other load on the
# machine does not distort.
# Logging is compared like with like: 'tunnel' and 'ghostunnel' run at their
# defaults (the tunnel writes one line per connection, ghostunnel two, both to
# a file), the -quiet pair with connection lines off.
# The estimated ceiling: the plaintext floor also runs in handshake mode (connect and
# close through the hop, and directly to the echo backend). Going through the
# hop instead of straight to the echo adds one connection (the hop's dial, the
# echo's accept, their closes) and one plaintext copy each way: what a
# TLS proxy adds to the bare server, whose TLS side it shares. With the cores
# saturated, the time per operation of a whole run is 1/rate, so a proxy
# whose TLS side cost what the bare server's does and whose second socket
# cost what the hop's does would reach
#   ceiling = (1/bare) / (1/bare + 1/floor - 1/plain)
# of the bare server's rate (rates of the same round and kind). It is an
# estimate, not a bound: the echo backend costs less behind a proxy that
# writes 64 KiB at a time than when the client's 32 KiB writes reach it
# directly, so a proxy can beat it by a few hundredths in bulk. The summary
# prints it next to the measured ratios.
#
#   scripts/bench/tunnel.sh                 # about 8 minutes in all, no run longer than ~15 s
#   DUR=2s ROUNDS=2 IDLE_CONNS=200 scripts/bench/tunnel.sh   # quicker
#   scripts/bench/tunnel.sh --ghostunnel /tmp/gt/ghostunnel   # or GHOSTUNNEL=/tmp/gt/ghostunnel
# The script never builds ghostunnel: bring its source from its public
# repository, build it outside this one with the same Go, pass the binary.
# Proxy-only system calls per MiB come from /proc/PID/io (syscr + syscw).
#
# Output: a summary on stdout, raw JSON (schema pqtls.bench/v1) in $OUT (default a temp dir).
set -euo pipefail

DUR=${DUR:-2s}
ROUNDS=${ROUNDS:-5}
IDLE_CONNS=${IDLE_CONNS:-1000}
IDLE_SIZE=${IDLE_SIZE:-1048576}  # each idle connection first echoes this many bytes
IDLE_HOLD=${IDLE_HOLD:-30s}   # also bounds the time to open them all (1 GiB echoed under load)
HS_CONC=${HS_CONC:-4}
TP_CONC=${TP_CONC:-2}
GHOSTUNNEL=${GHOSTUNNEL:-}
while [ $# -gt 0 ]; do
	case $1 in
	--ghostunnel) GHOSTUNNEL=${2:?--ghostunnel needs a path}; shift 2 ;;
	--ghostunnel=*) GHOSTUNNEL=${1#*=}; shift ;;
	*) echo "usage: $0 [--ghostunnel PATH]" >&2; exit 2 ;;
	esac
done
if [ -n "$GHOSTUNNEL" ] && [ ! -x "$GHOSTUNNEL" ]; then echo "ghostunnel: $GHOSTUNNEL is not an executable; build it outside this repository and pass its path" >&2; exit 2; fi
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
go build -o "$work/plainhop" ./scripts/bench/plainhop
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
ECHO=$(freeport); BARE=$(freeport); TUN=$(freeport); PAIR=$(freeport); NGINX=$(freeport); GT=$(freeport); HOP=$(freeport)

"$P" bench echo-server --listen 127.0.0.1:$ECHO --plain 2>/dev/null & pids+=($!)
"$P" bench echo-server --listen 127.0.0.1:$BARE --cert "$work/srv.pem" --key "$work/srv.key" 2>/dev/null & pids+=($!)
BARE_PID=$!
# Default log level (info): one log line per connection, as in production.
"$P" tunnel server --listen 127.0.0.1:$TUN --target 127.0.0.1:$ECHO --cert "$work/srv.pem" --key "$work/srv.key" \
	--max-connections 20000 2>"$work/tunnel-server.log" & pids+=($!)
TUN_PID=$!
TUNQ=$(freeport)
"$P" tunnel server --listen 127.0.0.1:$TUNQ --target 127.0.0.1:$ECHO --cert "$work/srv.pem" --key "$work/srv.key" \
	--max-connections 20000 --log-level warn 2>"$work/tunnel-quiet.log" & pids+=($!)
TUNQ_PID=$!
"$P" tunnel client --listen 127.0.0.1:$PAIR --target 127.0.0.1:$TUN --ca "$work/ca.pem" --server-name localhost \
	2>"$work/tunnel-client.log" & pids+=($!)
CLIENT_PID=$!
"$work/plainhop" -listen 127.0.0.1:$HOP -target 127.0.0.1:$ECHO 2>"$work/plainhop.log" & pids+=($!)
HOP_PID=$!
GT_PID=""
GTQ_PID=""
if [ -n "$GHOSTUNNEL" ]; then
	# Its default: 'opening pipe' and 'closed pipe' lines per connection.
	"$GHOSTUNNEL" server --listen 127.0.0.1:$GT --target 127.0.0.1:$ECHO --cert "$work/srv.pem" --key "$work/srv.key" \
		--disable-authentication >"$work/ghostunnel.log" 2>&1 & pids+=($!)
	GT_PID=$!
	GTQ=$(freeport)
	"$GHOSTUNNEL" server --listen 127.0.0.1:$GTQ --target 127.0.0.1:$ECHO --cert "$work/srv.pem" --key "$work/srv.key" \
		--disable-authentication --quiet=conns >"$work/ghostunnel-quiet.log" 2>&1 & pids+=($!)
	GTQ_PID=$!
	"$GHOSTUNNEL" --version >"$OUT/ghostunnel-version.txt" 2>&1 || true
fi
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
for p in $ECHO $BARE $TUN $TUNQ $PAIR $HOP; do waitport $p; done
if [ -n "$GT_PID" ]; then waitport $GT; waitport $GTQ; fi
if [ $HAVE_NGINX = 1 ]; then waitport $NGINX; fi

b() { "$P" bench --format json --ca "$work/ca.pem" --server-name localhost "$@"; }
ticks() { local s=0; for p in "$@"; do s=$((s + $(awk '{print $14 + $15}' /proc/"$p"/stat))); done; echo $s; }
sysc() { local s=0; for p in "$@"; do s=$((s + $(awk '/^sysc[rw]:/ {n += $2} END {print n}' /proc/"$p"/io))); done; echo $s; }
ECHO_PID=${pids[0]}
NGINX_PIDS=""
if [ $HAVE_NGINX = 1 ]; then NGINX_PIDS="$(pgrep -P "$(cat "$work/nginx.pid")" | tr '\n' ' ')"; fi
declare -A SERVER_PIDS=([bare]="$BARE_PID" [tunnel]="$TUN_PID $ECHO_PID" [tunnel-quiet]="$TUNQ_PID $ECHO_PID"
	[ghostunnel-quiet]="$GTQ_PID $ECHO_PID" [pair]="$CLIENT_PID $TUN_PID $ECHO_PID" [nginx]="$NGINX_PIDS $ECHO_PID"
	[ghostunnel]="$GT_PID $ECHO_PID" [floor]="$HOP_PID $ECHO_PID" [plain]="$ECHO_PID")
# The proxy alone, without the echo backend.
declare -A PROXY_PIDS=([bare]="$BARE_PID" [tunnel]="$TUN_PID" [tunnel-quiet]="$TUNQ_PID" [ghostunnel-quiet]="$GTQ_PID" [pair]="$CLIENT_PID $TUN_PID" [nginx]="$NGINX_PIDS"
	[ghostunnel]="$GT_PID" [floor]="$HOP_PID" [plain]="$ECHO_PID")
# measure NAME KIND ROUND ARGS...: one bench run with the server-side CPU ticks recorded.
measure() {
	local name=$1 kind=$2 round=$3; shift 3
	local t0 t1 p0 p1 s0 s1
	t0=$(ticks ${SERVER_PIDS[$name]})
	p0=$(ticks ${PROXY_PIDS[$name]})
	s0=$(sysc ${PROXY_PIDS[$name]})
	"$@" >"$OUT/$kind-$name-$round.json"
	t1=$(ticks ${SERVER_PIDS[$name]})
	p1=$(ticks ${PROXY_PIDS[$name]})
	s1=$(sysc ${PROXY_PIDS[$name]})
	echo "{\"ticks\": $((t1 - t0)), \"proxy_ticks\": $((p1 - p0)), \"proxy_syscalls\": $((s1 - s0)), \"hz\": $(getconf CLK_TCK), \"load\": \"$(cut -d' ' -f1 /proc/loadavg)\"}" >"$OUT/cpu-$kind-$name-$round.json"
}
targets_tls=(bare:$BARE tunnel:$TUN)
if [ $HAVE_NGINX = 1 ]; then targets_tls+=(nginx:$NGINX); fi
if [ -n "$GT_PID" ]; then targets_tls+=(ghostunnel:$GT); fi
targets_hs=("${targets_tls[@]}" tunnel-quiet:$TUNQ)
if [ -n "$GT_PID" ]; then targets_hs+=(ghostunnel-quiet:$GTQ); fi

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/machine.txt"
for r in $(seq "$ROUNDS"); do
	for t in "${targets_hs[@]}"; do
		measure "${t%%:*}" handshake "$r" b --target 127.0.0.1:${t#*:} --mode handshake -c "$HS_CONC" --duration "$DUR"
	done
	# Connections without TLS: through the plaintext hop, and to the echo directly.
	measure floor handshake "$r" "$P" bench --format json --plain --target 127.0.0.1:$HOP --mode handshake -c "$HS_CONC" --duration "$DUR"
	measure plain handshake "$r" "$P" bench --format json --plain --target 127.0.0.1:$ECHO --mode handshake -c "$HS_CONC" --duration "$DUR"
	for t in "${targets_tls[@]}"; do
		measure "${t%%:*}" throughput "$r" b --target 127.0.0.1:${t#*:} --mode throughput -c "$TP_CONC" --duration "$DUR"
	done
	measure pair throughput "$r" "$P" bench --format json --plain --target 127.0.0.1:$PAIR --mode throughput -c "$TP_CONC" --duration "$DUR"
	measure floor throughput "$r" "$P" bench --format json --plain --target 127.0.0.1:$HOP --mode throughput -c "$TP_CONC" --duration "$DUR"
	measure plain throughput "$r" "$P" bench --format json --plain --target 127.0.0.1:$ECHO --mode throughput -c "$TP_CONC" --duration "$DUR"
	b --target 127.0.0.1:$BARE --mode rr -c 1 --size 64 --duration "$DUR" >"$OUT/rr-bare-$r.json"
	"$P" bench --format json --plain --target 127.0.0.1:$PAIR --mode rr -c 1 --size 64 --duration "$DUR" >"$OUT/rr-pair-$r.json"
done

rss() { awk '/VmRSS/ {print $2}' /proc/"$1"/status; }
rss_sum() { local s=0; for p in "$@"; do s=$((s + $(rss "$p"))); done; echo $s; }
# Idle memory: RSS growth of the server process(es) while holding IDLE_CONNS
# connections that each did a handshake and echoed IDLE_SIZE bytes (64 at a
# time), measured 2 s after the last one went idle.
idle() { # name port pids...
	local name=$1 port=$2; shift 2
	local before after
	before=$(rss_sum "$@")
	b --target 127.0.0.1:$port --mode idle -c "$IDLE_CONNS" --size "$IDLE_SIZE" --duration "$IDLE_HOLD" --timeout 60s \
		--ready-file "$work/idle-$name.ready" >"$OUT/idle-$name.json" 2>"$work/idle-$name.err" &
	local bp=$!
	for _ in $(seq 600); do [ -f "$work/idle-$name.ready" ] && break; sleep 0.1; done
	sleep 2
	after=$(rss_sum "$@")
	wait $bp
	echo "{\"name\":\"$name\",\"rss_before_kib\":$before,\"rss_holding_kib\":$after,\"connections\":$(jq .open_connections "$OUT/idle-$name.json")}" >"$OUT/idle-rss-$name.json"
}
idle tunnel $TUN $TUN_PID
idle bare $BARE $BARE_PID
if [ -n "$GT_PID" ]; then idle ghostunnel $GT "$GT_PID"; fi
if [ $HAVE_NGINX = 1 ]; then
	idle nginx $NGINX $(pgrep -P "$(cat "$work/nginx.pid")") "$(cat "$work/nginx.pid")"
fi

python3 - "$OUT" <<'PY'
import glob, json, statistics, sys
out = sys.argv[1]
names = ("bare", "tunnel", "pair", "nginx", "ghostunnel", "floor", "plain")
hs_names = ("bare", "tunnel", "tunnel-quiet", "nginx", "ghostunnel", "ghostunnel-quiet", "floor", "plain")
def load(kind, name, r):
    try:
        return json.load(open(f"{out}/{kind}-{name}-{r}.json")), json.load(open(f"{out}/cpu-{kind}-{name}-{r}.json"))
    except FileNotFoundError:
        return None, None
rounds = sorted({int(f.rsplit("-", 1)[1].split(".")[0]) for f in glob.glob(f"{out}/handshake-bare-*.json")})
def med(xs):
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")
def series(kind, name, f):
    vals = []
    for r in rounds:
        res, cpu = load(kind, name, r)
        vals.append(f(res, cpu) if res else float("nan"))
    return vals
rate = lambda res, cpu: res["operations_per_second"]
mibs = lambda res, cpu: res["echoed_bytes_per_second"] / 2**20
cpu_per_hs = lambda res, cpu: 1000 * cpu["ticks"] / cpu["hz"] / max(res["operations"], 1)          # ms
proxy_per_hs = lambda res, cpu: 1000 * cpu["proxy_ticks"] / cpu["hz"] / max(res["operations"], 1)
proxy_per_gib = lambda res, cpu: cpu["proxy_ticks"] / cpu["hz"] / max(res["echoed_bytes"] / 2**30, 1e-9)
cpu_per_gib = lambda res, cpu: cpu["ticks"] / cpu["hz"] / max(res["echoed_bytes"] / 2**30, 1e-9)   # s
proxy_sys_per_mib = lambda res, cpu: cpu.get("proxy_syscalls", float("nan")) / max(res["echoed_bytes"] / 2**20, 1e-9)
def ratio(kind, name, f, inverse=False, ref="bare"):
    a, b = series(kind, name, f), series(kind, ref, f)
    return med([(y / x if inverse else x / y) for x, y in zip(a, b) if x == x and y == y and x > 0 and y > 0])
print("\nhandshakes (full, no resumption, %s workers):" % json.load(open(f"{out}/handshake-bare-{rounds[0]}.json"))["concurrency"])
print("| server | handshakes/s (median) | ratio vs bare (median of rounds) | p50 ms | p99 ms | server-side CPU ms/handshake (with backend) | CPU ratio (bare/x) | proxy-only CPU ms/handshake | proxy CPU ratio | groups | errors |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for n in hs_names:
    if not series("handshake", n, rate) or all(x != x for x in series("handshake", n, rate)):
        continue
    groups = sorted({g for r in rounds for g in (load("handshake", n, r)[0] or {"groups": {}})["groups"]})
    errs = sum((load("handshake", n, r)[0] or {"errors": 0})["errors"] for r in rounds)
    print(f"| {n} | {med(series('handshake', n, rate)):.0f} | {ratio('handshake', n, rate):.2f} | "
          f"{med(series('handshake', n, lambda r, c: r['latency']['p50_ms'])):.2f} | {med(series('handshake', n, lambda r, c: r['latency']['p99_ms'])):.2f} | "
          f"{med(series('handshake', n, cpu_per_hs)):.3f} | {ratio('handshake', n, cpu_per_hs, inverse=True):.2f} | "
          f"{med(series('handshake', n, proxy_per_hs)):.3f} | {ratio('handshake', n, proxy_per_hs, inverse=True):.2f} | {' '.join(groups)} | {errs} |")
print("\nbulk echo (%s streams, 32 KiB writes):" % json.load(open(f"{out}/throughput-bare-{rounds[0]}.json"))["concurrency"])
print("| path | MiB/s (median) | ratio vs bare (median of rounds) | server-side CPU s/GiB (with backend) | CPU ratio (bare/x) | proxy-only CPU s/GiB | proxy CPU ratio | proxy syscalls/MiB | MiB per run | errors |")
print("|---|---|---|---|---|---|---|---|---|---|")
for n in names:
    s_ = series("throughput", n, mibs)
    if all(x != x for x in s_):
        continue
    errs = sum((load("throughput", n, r)[0] or {"errors": 0})["errors"] for r in rounds)
    print(f"| {n} | {med(s_):.0f} | {ratio('throughput', n, mibs):.2f} | {med(series('throughput', n, cpu_per_gib)):.2f} | "
          f"{ratio('throughput', n, cpu_per_gib, inverse=True):.2f} | {med(series('throughput', n, proxy_per_gib)):.2f} | "
          f"{ratio('throughput', n, proxy_per_gib, inverse=True):.2f} | {med(series('throughput', n, proxy_sys_per_mib)):.1f} | "
          f"{med(series('throughput', n, lambda r, c: r['echoed_bytes'] / 2**20)):.0f} | {errs} |")
loads = sorted(float(json.load(open(f)).get("load", "nan")) for f in glob.glob(f"{out}/cpu-*.json"))
print(f"\nload average (1 min) during the runs: min {loads[0]:.1f}, median {statistics.median(loads):.1f}, max {loads[-1]:.1f}")
if not all(x != x for x in series("throughput", "ghostunnel", mibs)):
    print("\nratios vs ghostunnel (median of per-round ratios): "
          f"handshakes tunnel/ghostunnel {ratio('handshake', 'tunnel', rate, ref='ghostunnel'):.2f}, "
          f"bulk tunnel/ghostunnel {ratio('throughput', 'tunnel', mibs, ref='ghostunnel'):.2f}, "
          f"bulk ghostunnel/bare {ratio('throughput', 'ghostunnel', mibs):.2f}")
    print("ratios vs ghostunnel, no connection log lines on either side: "
          f"handshakes tunnel-quiet/ghostunnel-quiet {ratio('handshake', 'tunnel-quiet', rate, ref='ghostunnel-quiet'):.2f}")
# The estimated ceiling (see the header), per round.
def ceiling(kind, f):
    b, h, p = series(kind, "bare", f), series(kind, "floor", f), series(kind, "plain", f)
    return med([(1 / x) / (1 / x + 1 / y - 1 / z) for x, y, z in zip(b, h, p) if min(x, y, z) > 0])
for kind, label, f in (("handshake", "handshakes", rate), ("throughput", "bulk", mibs)):
    ceil = ceiling(kind, f)
    if ceil != ceil:
        continue
    parts = [f"{n} {ratio(kind, n, f):.2f}" for n in ("tunnel", "tunnel-quiet", "ghostunnel", "ghostunnel-quiet")
             if not all(x != x for x in series(kind, n, f))]
    print(f"estimated ceiling for a TLS proxy in front of this echo backend, {label}: {ceil:.2f} of bare; measured " + ", ".join(parts))
print(f"floor: plainhop/plain {ratio('throughput', 'floor', mibs, ref='plain'):.2f}, tunnel/floor {ratio('throughput', 'tunnel', mibs, ref='floor'):.2f}")
rr = {n: [json.load(open(f)) for f in sorted(glob.glob(f"{out}/rr-{n}-*.json"))] for n in ("bare", "pair")}
p50 = {n: med([x["latency"]["p50_ms"] for x in rr[n]]) for n in rr}
p99 = {n: med([x["latency"]["p99_ms"] for x in rr[n]]) for n in rr}
print(f"\nsmall request/response (64 B, one connection): direct TLS p50 {p50['bare']*1000:.0f} us, p99 {p99['bare']*1000:.0f} us; "
      f"through the client+server pair p50 {p50['pair']*1000:.0f} us, p99 {p99['pair']*1000:.0f} us "
      f"(added: p50 {(p50['pair']-p50['bare'])*1000:.0f} us, p99 {(p99['pair']-p99['bare'])*1000:.0f} us)")
for f in sorted(glob.glob(f"{out}/idle-rss-*.json")):
    d = json.load(open(f))
    per = (d["rss_holding_kib"] - d["rss_before_kib"]) / max(d["connections"], 1)
    print(f"idle memory {d['name']}: {d['connections']} connections, RSS {d['rss_before_kib']/1024:.0f} -> {d['rss_holding_kib']/1024:.0f} MiB, {per:.1f} KiB per connection")
PY
echo "raw results: $OUT"

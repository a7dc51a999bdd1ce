#!/usr/bin/env bash
# Exporter benchmark (docs/PERFORMANCE.md, "Exporter"): 'pqtls exporter'
# against Debian's prometheus-blackbox-exporter (its 'tcp' prober with TLS),
# both probing the same Go TLS server ('pqtls bench echo-server', ECDSA
# P-256) on loopback. Cases:
#   pqtls-classical  a pqtls module with 'policy: classical' (X25519, like blackbox's Go)
#   blackbox-tls     blackbox_exporter tcp prober, tls: true
#   pqtls-hybrid     the default pqtls module (X25519MLKEM768)
#   pqtls-enumerate  'enumerate: true' (every registry group + the large-ClientHello case)
# The load generator is hey (github.com/rakyll/hey, installed with 'go install'
# when missing); runs are interleaved (ROUNDS rounds of every case at every
# concurrency) and the medians reported. For each run the script reads the
# exporter process's CPU time (utime+stime, /proc/PID/stat) before and after,
# and samples its RSS and open descriptors every 50 ms (peak reported).
#
#   scripts/bench/exporter.sh                    # about 4 minutes
#   ROUNDS=2 N=400 scripts/bench/exporter.sh     # quicker
#
# Needs: prometheus-blackbox-exporter (apt-get install prometheus-blackbox-exporter).
set -euo pipefail

ROUNDS=${ROUNDS:-3}
N=${N:-2000}                 # probes per run (enumerate: N/8)
CONCS=${CONCS:-"8 200"}      # concurrent /probe requests
BLACKBOX=${BLACKBOX:-$(command -v prometheus-blackbox-exporter || command -v blackbox_exporter || true)}
[ -n "$BLACKBOX" ] || { echo "blackbox_exporter not found: apt-get install prometheus-blackbox-exporter" >&2; exit 2; }
HEY=${HEY:-$(go env GOPATH)/bin/hey}
[ -x "$HEY" ] || go install github.com/rakyll/hey@v0.1.4
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/pqtls" ./cmd/pqtls
P=$work/pqtls
"$P" certs dev --out "$work/pki" --host localhost >/dev/null

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitport() { for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
TLS=$(freeport); PQ=$(freeport); BB=$(freeport)

"$P" bench echo-server --listen 127.0.0.1:$TLS --cert "$work/pki/server.pem" --key "$work/pki/server-key.pem" 2>/dev/null & pids+=($!)

cat >"$work/exporter.yaml" <<EOF
allowed_targets: [127.0.0.1/32]
max_concurrent_probes: 512
modules:
  classical:
    timeout: 5s
    policy: classical
    ca_file: pki/ca.pem
    server_name: localhost
  hybrid:
    timeout: 5s
    ca_file: pki/ca.pem
    server_name: localhost
  enumerate:
    timeout: 10s
    ca_file: pki/ca.pem
    server_name: localhost
    enumerate: true
EOF
cat >"$work/blackbox.yml" <<EOF
modules:
  tls:
    prober: tcp
    timeout: 5s
    tcp:
      tls: true
      tls_config:
        ca_file: $work/pki/ca.pem
        server_name: localhost
EOF
"$P" exporter --config "$work/exporter.yaml" --listen 127.0.0.1:$PQ --log-level warn 2>"$work/pqtls-exporter.log" & pids+=($!)
PQ_PID=$!
"$BLACKBOX" --config.file "$work/blackbox.yml" --web.listen-address 127.0.0.1:$BB --log.level warn 2>"$work/blackbox.log" & pids+=($!)
BB_PID=$!
waitport $TLS; waitport $PQ; waitport $BB

declare -A url pid
url[pqtls-classical]="http://127.0.0.1:$PQ/probe?module=classical&target=127.0.0.1:$TLS"
url[pqtls-hybrid]="http://127.0.0.1:$PQ/probe?module=hybrid&target=127.0.0.1:$TLS"
url[pqtls-enumerate]="http://127.0.0.1:$PQ/probe?module=enumerate&target=127.0.0.1:$TLS"
url[blackbox-tls]="http://127.0.0.1:$BB/probe?module=tls&target=127.0.0.1:$TLS"
pid[pqtls-classical]=$PQ_PID; pid[pqtls-hybrid]=$PQ_PID; pid[pqtls-enumerate]=$PQ_PID; pid[blackbox-tls]=$BB_PID
CASES="pqtls-classical blackbox-tls pqtls-hybrid pqtls-enumerate"

# Every case must succeed before it is timed.
for c in $CASES; do
	out=$(curl -fsS "${url[$c]}")
	grep -q '^probe_success 1' <<<"$out" || { echo "$c: probe fails:" >&2; echo "$out" >&2; exit 1; }
done
curl -fsS "${url[pqtls-hybrid]}" | grep -q 'group="x25519_mlkem768"' || { echo "pqtls-hybrid did not negotiate X25519MLKEM768" >&2; exit 1; }

cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }   # clock ticks
# successes: probes that succeeded so far (pqtls: its own counter; blackbox
# has none, so its HTTP 200 answers count, checked above to be successes).
successes() {
	case $1 in
	pqtls-*) curl -fsS "http://127.0.0.1:$PQ/metrics" | awk -v m="${1#pqtls-}" '$1 == "pqtls_exporter_probes_total{module=\""m"\",result=\"success\"}" {print $2}' ;;
	*) echo 0 ;;
	esac
}
TCK=$(getconf CLK_TCK)
# sample PID FILE: peak RSS (KiB) and descriptors until FILE.stop exists.
sample() {
	local rss=0 fds=0 r f
	while [ ! -e "$2.stop" ]; do
		r=$(awk '/^VmRSS/{print $2}' "/proc/$1/status"); f=$(ls "/proc/$1/fd" | wc -l)
		((r > rss)) && rss=$r; ((f > fds)) && fds=$f
		sleep 0.05
	done
	echo "$rss $fds" >"$2"
}

results=$work/results.tsv
: >"$results"
for round in $(seq "$ROUNDS"); do
	for conc in $CONCS; do
		for c in $CASES; do
			n=$N; [ "$c" = pqtls-enumerate ] && n=$((N / 8))
			n=$(((n + conc - 1) / conc * conc)) # hey runs n/c requests per worker
			p=${pid[$c]}
			rm -f "$work/s" "$work/s.stop"
			sample "$p" "$work/s" & sp=$!
			s0=$(successes "$c")
			c0=$(cpu "$p")
			"$HEY" -n "$n" -c "$conc" -t 15 "${url[$c]}" >"$work/hey.txt"
			c1=$(cpu "$p")
			s1=$(successes "$c")
			touch "$work/s.stop"; wait "$sp"
			read -r rss fds <"$work/s"
			ok=$(awk '/\[200\]/{print $2}' "$work/hey.txt"); ok=${ok:-0}
			[ "$c" != blackbox-tls ] && ok=$(awk -v a="$s0" -v b="$s1" 'BEGIN{printf "%d", b-a}')
			p50=$(awk '/ 50% in/{print $3*1000}' "$work/hey.txt"); p50=${p50:-nan}
			p99=$(awk '/ 99% in/{print $3*1000}' "$work/hey.txt"); p99=${p99:-nan}
			rps=$(awk '/Requests\/sec/{print $2}' "$work/hey.txt")
			cpus=$(awk -v a="$c0" -v b="$c1" -v t="$TCK" 'BEGIN{printf "%.3f", (b-a)/t}')
			per=$(awk -v n="$ok" -v s="$cpus" 'BEGIN{ if (s > 0) printf "%.0f", n/s; else print "inf" }')
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$conc" "$c" "$n" "$ok" "$rps" "$per" "$p50" "$p99" "$rss" "$fds" >>"$results"
			printf 'round %s c=%-3s %-16s success %4s/%-4s %8s req/s %6s probes/CPU-s p50 %6s ms p99 %6s ms RSS %6s KiB fds %4s\n' \
				"$round" "$conc" "$c" "$ok" "$n" "$rps" "$per" "$p50" "$p99" "$rss" "$fds" >&2
		done
	done
done

echo
echo "Medians over $ROUNDS rounds (successful probes per CPU-second of the exporter process; latency as hey measures /probe; peak RSS and descriptors during the run):"
printf '%-4s %-16s %14s %10s %10s %10s %6s\n' c case probes/CPU-s p50_ms p99_ms RSS_KiB fds
for conc in $CONCS; do
	for c in $CASES; do
		awk -F'\t' -v c="$c" -v k="$conc" '$2==k && $3==c' "$results" | python3 -c '
import sys, statistics as st
rows=[l.rstrip("\n").split("\t") for l in sys.stdin]
import math
med=lambda i: st.median([float(r[i]) for r in rows if not math.isnan(float(r[i]))] or [math.nan])
print("%-4s %-16s %14.0f %10.2f %10.2f %10.0f %6.0f" % (rows[0][1], rows[0][2], med(6), med(7), med(8), med(9), med(10)))'
	done
	# Per-round ratio pqtls-classical / blackbox-tls, median.
	awk -F'\t' -v k="$conc" '$2==k' "$results" | python3 -c '
import sys, statistics as st
by={}
for l in sys.stdin:
    r=l.rstrip("\n").split("\t"); by.setdefault(r[0],{})[r[2]]=float(r[6])
for a in ("pqtls-classical","pqtls-hybrid"):
    rs=[v[a]/v["blackbox-tls"] for v in by.values() if "blackbox-tls" in v and a in v]
    print("     c=%s %s / blackbox-tls probes per CPU-second: median %.2fx (rounds %s)" % (sys.argv[1], a, st.median(rs), " ".join("%.2f" % x for x in rs)))' "$conc"
done
echo "machine: $(nproc) CPU, $(uname -sr), $(go version | cut -d" " -f3), blackbox: $("$BLACKBOX" --version 2>&1 | head -1)"

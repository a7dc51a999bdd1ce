#!/usr/bin/env bash
# Throughput of `pqtls observe -r` against `tshark -T fields` extracting the
# same handshake fields from the same generated capture, in the same run.
#
#   scripts/bench/observe.sh [FLOWS] [BULK_BYTES]
#
# Defaults: 1000 TLS 1.3 hybrid flows, each followed by 256 KiB of application
# data (about 280 MB, 200k packets). Needs tshark. Prints packets/s, MB/s,
# peak RSS of both tools and the speed ratio; figures go to docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

FLOWS=${1:-1000}
BULK=${2:-262144}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
CAP=$TMP/bench.pcap

command -v tshark >/dev/null || { echo "tshark is not installed (apt-get install tshark)" >&2; exit 1; }

go build -o "$TMP/pqtls" ./cmd/pqtls
PQTLS_BENCH_CAPTURE=$CAP PQTLS_BENCH_FLOWS=$FLOWS PQTLS_BENCH_BULK=$BULK \
	go test -count=1 -run '^TestWriteBenchCapture$' ./observe >/dev/null

BYTES=$(stat -c %s "$CAP")
PKTS=$(( $(tshark -r "$CAP" -T fields -e frame.number 2>/dev/null | tail -1) ))

# timed CMD...: runs CMD, prints "seconds maxrss_kib" (wall clock in ms
# resolution; peak RSS from GNU time when installed, else 0).
timed() {
	local s e rss=0
	s=$(date +%s%N)
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f '%M' -o "$TMP/rss" "$@" >"$TMP/stdout" 2>/dev/null
		rss=$(cat "$TMP/rss")
	else
		"$@" >"$TMP/stdout" 2>/dev/null
	fi
	e=$(date +%s%N)
	echo "$(( (e - s) / 1000000 ))e-3 $rss"
}

# Warm the page cache so both tools read from memory.
cat "$CAP" >/dev/null

read -r P_SEC P_RSS < <(timed "$TMP/pqtls" observe -r "$CAP" --format jsonl)
P_FLOWS=$(wc -l <"$TMP/stdout")
read -r T_SEC T_RSS < <(timed tshark -r "$CAP" -Y 'tls.handshake.type == 1 || tls.handshake.type == 2' -T fields \
	-e tcp.stream -e tls.handshake.type -e tls.handshake.extensions_server_name \
	-e tls.handshake.extensions_supported_group -e tls.handshake.extensions_key_share_group \
	-e tls.handshake.extensions_key_share_selected_group -e tls.handshake.extensions.supported_version)
T_HELLOS=$(wc -l <"$TMP/stdout")

awk -v bytes="$BYTES" -v pkts="$PKTS" -v ps="$P_SEC" -v ts="$T_SEC" -v pr="$P_RSS" -v tr="$T_RSS" \
	-v pf="$P_FLOWS" -v th="$T_HELLOS" -v flows="$FLOWS" 'BEGIN {
	ps += 0; ts += 0; if (ps < 0.001) ps = 0.001
	printf "capture: %d flows, %d packets, %.1f MB\n", flows, pkts, bytes / 1e6
	printf "%-16s %8s %12s %10s %10s %s\n", "tool", "seconds", "packets/s", "MB/s", "max RSS", "output"
	printf "%-16s %8.3f %12.0f %10.1f %7.0f MB %d flow records\n", "pqtls observe", ps, pkts / ps, bytes / 1e6 / ps, pr / 1024, pf
	printf "%-16s %8.3f %12.0f %10.1f %7.0f MB %d hello rows\n", "tshark -T fields", ts, pkts / ts, bytes / 1e6 / ts, tr / 1024, th
	printf "speed-up: %.1fx\n", ts / ps
}'
if [ "$P_FLOWS" -ne "$FLOWS" ]; then
	echo "pqtls observe reported $P_FLOWS flows, expected $FLOWS" >&2
	exit 1
fi

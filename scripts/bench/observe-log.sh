#!/usr/bin/env bash
# Throughput and memory of `pqtls observe --log nginx` against awk doing the
# same extraction (protocol and group per line, counted) on the same
# generated nginx access log, in the same run.
#
#   scripts/bench/observe-log.sh [MEGABYTES]
#
# Default 1024 MB (about 5.3 million lines, in a temp dir, deleted at exit).
# Mix: 50 % TLS 1.3 X25519MLKEM768, 10 % TLS 1.3 0x11ec (OpenSSL 3.5's
# hex), 20 % TLS 1.3 X25519, 15 % TLS 1.2 prime256v1, 5 % plain HTTP.
# Prints lines/s, MB/s and peak RSS of each; figures go to docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

MB=${1:-1024}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
LOG=$TMP/access.log
FORMAT='$remote_addr - - [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $ssl_protocol $ssl_curve'

go build -o "$TMP/pqtls" ./cmd/pqtls
awk -v target=$((MB * 1000000)) 'BEGIN {
	ua = "\"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0 Safari/537.36\""
	while (bytes < target) {
		i++; r = i % 20
		if (r < 10) tls = "TLSv1.3 X25519MLKEM768"; else if (r < 12) tls = "TLSv1.3 0x11ec"
		else if (r < 16) tls = "TLSv1.3 X25519"; else if (r < 19) tls = "TLSv1.2 prime256v1"; else tls = "- -"
		line = sprintf("10.%d.%d.%d - - [02/Dec/2026:12:%02d:%02d +0000] \"GET /api/v1/items/%d HTTP/1.1\" 200 %d \"-\" %s %s",
			int(i / 65536) % 256, int(i / 256) % 256, i % 256, int(i / 60) % 60, i % 60, i, 200 + i % 5000, ua, tls)
		print line; bytes += length(line) + 1
	}
}' >"$LOG"
BYTES=$(stat -c %s "$LOG")
LINES=$(wc -l <"$LOG")

timed() { # CMD...: prints "wall_seconds cpu_seconds maxrss_kib" (CPU = user + system: the
	# figure to compare on a shared machine, where wall time includes waiting for a core)
	/usr/bin/time -f '%e %U %S %M' -o "$TMP/rss" "$@" >"$TMP/stdout" 2>"$TMP/stderr"
	awk '{ print $1, $2 + $3, $4 }' "$TMP/rss"
}
cat "$LOG" >/dev/null # page cache: both read from memory

read -r PP_SEC PP_CPU PP_RSS < <(timed "$TMP/pqtls" observe --log nginx --log-format "$FORMAT" -r "$LOG" --format prom)
grep '^tls_handshake_group_total' "$TMP/stdout" | sed 's/^/  pqtls: /'
read -r PJ_SEC PJ_CPU PJ_RSS < <(timed "$TMP/pqtls" observe --log nginx --log-format "$FORMAT" -r "$LOG" --format jsonl)
PJ_RECORDS=$(wc -l <"$TMP/stdout")
read -r A_SEC A_CPU A_RSS < <(timed awk '$(NF-1) != "-" { c[$(NF-1) " " $NF]++ } END { for (k in c) print c[k], k }' "$LOG")
sed 's/^/  awk: /' "$TMP/stdout"

awk -v bytes="$BYTES" -v lines="$LINES" -v pp="$PP_SEC" -v pj="$PJ_SEC" -v as="$A_SEC" \
	-v ppc="$PP_CPU" -v pjc="$PJ_CPU" -v ac="$A_CPU" \
	-v ppr="$PP_RSS" -v pjr="$PJ_RSS" -v ar="$A_RSS" -v pjn="$PJ_RECORDS" 'BEGIN {
	printf "log: %d lines, %.1f MB\n", lines, bytes / 1e6
	printf "%-34s %7s %7s %12s %8s %8s\n", "tool", "wall s", "CPU s", "lines/CPU s", "MB/CPU s", "max RSS"
	printf "%-34s %7.2f %7.2f %12.0f %8.1f %5.0f MB\n", "pqtls observe --log nginx (prom)", pp, ppc, lines / ppc, bytes / 1e6 / ppc, ppr / 1024
	printf "%-34s %7.2f %7.2f %12.0f %8.1f %5.0f MB (%d records)\n", "pqtls observe --log nginx (jsonl)", pj, pjc, lines / pjc, bytes / 1e6 / pjc, pjr / 1024, pjn
	printf "%-34s %7.2f %7.2f %12.0f %8.1f %5.0f MB\n", "awk (mawk), last two fields", as, ac, lines / ac, bytes / 1e6 / ac, ar / 1024
	printf "CPU time pqtls/awk: prom %.2f, jsonl %.2f\n", ppc / ac, pjc / ac
}'

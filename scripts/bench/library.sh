#!/usr/bin/env bash
# Library benchmarks: handshake cost per group, key-exchange cost per side,
# and the pqtls Listener's overhead against a bare crypto/tls server in the
# same run. Prints benchstat summaries; figures go to docs/PERFORMANCE.md.
#
#   scripts/bench/library.sh [COUNT]   (default 8 interleaved runs)
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-8}
out=$(mktemp -d)
benchstat=$(command -v benchstat || echo "$(go env GOPATH)/bin/benchstat")
[ -x "$benchstat" ] || go install golang.org/x/perf/cmd/benchstat@latest
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(go version)"
go test -c -o "$out/pqtls.test" .
for i in $(seq "$count"); do
  "$out/pqtls.test" -test.run '^$' -test.bench 'InstrumentationOverhead' -test.benchtime 1000x -test.benchmem >>"$out/overhead.txt"
done
"$out/pqtls.test" -test.run '^$' -test.bench 'HandshakeGroup|KeyExchange' -test.benchtime 1s -test.count 3 -test.benchmem >"$out/groups.txt"
"$benchstat" "$out/overhead.txt"
"$benchstat" "$out/groups.txt"

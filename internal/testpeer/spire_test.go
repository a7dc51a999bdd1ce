package testpeer

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// TestSpireVersionRE: the version check accepts what a source build of
// SPIRE 1.13.3 prints (no release linker flags) and the release tag, and
// nothing else, so a stale cache is rebuilt rather than used.
func TestSpireVersionRE(t *testing.T) {
	for v, want := range map[string]bool{
		"1.13.3-dev-unk": true, "v1.13.3": true, "1.13.3": true, "1.13.3-dev-3f2a9c1": true,
		"1.13.30": false, "1.13.2-dev-unk": false, "1.13.3-rc1": false, "v1.12.0": false, "": false,
	} {
		if got := spireVersionRE.MatchString(v); got != want {
			t.Errorf("spire-server --version %q accepted = %v, want %v", v, got, want)
		}
	}
}

// TestInteropSpire: the harness's SPIRE issues this process an X.509-SVID
// through one agent only (the entry's parent), valid for the configured
// TTL and verified by the bundle the Workload API serves; and the server's
// agent port negotiates X25519MLKEM768 by default (SPIRE 1.13.3 built with
// Go 1.26), as docs/TESTING.md records.
func TestInteropSpire(t *testing.T) {
	sp := Spire(t, SpireOptions{X509SVIDTTL: 2 * time.Minute})
	a, b := sp.Agent(t, "node-a"), sp.Agent(t, "node-b")
	id := "spiffe://" + sp.TrustDomain + "/harness"
	sp.Register(t, a, id, UnixUIDSelector())
	svid := a.SVID(t, id, 45*time.Second)
	leaf := svid.Certificates[0]
	if ttl := time.Until(leaf.NotAfter); ttl > 2*time.Minute+5*time.Second || ttl < time.Minute {
		t.Errorf("SVID valid for %v more, want about 2m (X509SVIDTTL)", ttl)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bundles, err := workloadapi.FetchX509Bundles(ctx, workloadapi.WithAddr(a.Addr))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := x509svid.Verify(svid.Certificates, bundles); err != nil {
		t.Errorf("SVID does not verify against the Workload API bundle: %v", err)
	}
	// The other agent never issues it: its parent is node-a.
	time.Sleep(6 * time.Second) // one agent sync interval (5 s)
	if _, err := b.FetchSVID(id); err == nil {
		t.Errorf("agent node-b issued %s, whose entry is parented to node-a", id)
	}

	// The agent port with a default Go client (what the agents use).
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", sp.Addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS to spire-server %s: %v", sp.Addr, err)
	}
	defer c.Close()
	if g := c.ConnectionState().CurveID; g != tls.X25519MLKEM768 {
		t.Errorf("spire-server negotiated %v, want X25519MLKEM768", g)
	}
}

// TestInteropSpireRequirePQKEM pins what docs/PLAYBOOK.md records about
// SPIRE 1.13.3's experimental require_pq_kem (it names only the draft group
// 0x6399, which Go no longer implements): on the server it changes nothing
// on the agent port (TLS 1.2 still accepted, X25519MLKEM768 negotiated); an
// agent with it cannot attest. A SPIRE that fixes this fails the test:
// update the docs then.
func TestInteropSpireRequirePQKEM(t *testing.T) {
	sp := Spire(t, SpireOptions{RequirePQKEM: true})
	// The state the client saw when the server's certificate arrived: the
	// server chose version and group by then (a TLS 1.2 handshake ends in
	// bad_certificate later, since this client has no SVID).
	dial := func(maxVersion uint16) (tls.ConnectionState, error) {
		var cs tls.ConnectionState
		cfg := &tls.Config{InsecureSkipVerify: true, MaxVersion: maxVersion,
			VerifyConnection: func(s tls.ConnectionState) error { cs = s; return nil }}
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", sp.Addr, cfg)
		if err == nil {
			c.Close()
		}
		return cs, err
	}
	if cs, err := dial(tls.VersionTLS12); cs.Version != tls.VersionTLS12 {
		t.Errorf("server with require_pq_kem, TLS 1.2 client: version %x (%v); docs/PLAYBOOK.md says TLS 1.2 is still accepted", cs.Version, err)
	}
	if cs, err := dial(0); err != nil || cs.CurveID != tls.X25519MLKEM768 {
		t.Errorf("server with require_pq_kem, default client: %v, group %v", err, cs.CurveID)
	}
	a := sp.StartAgent(t, "pq", SpireAgentOptions{RequirePQKEM: true})
	const refusal = "no supported elliptic curves for ECDHE"
	deadline := time.Now().Add(spireStartTimeout)
	for !strings.Contains(a.Proc.Output(), refusal) {
		if a.Proc.Exited() || time.Now().After(deadline) {
			t.Fatalf("agent with require_pq_kem: no %q in its log (docs/PLAYBOOK.md says it cannot attest):\n%s", refusal, a.Proc.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out, err := spireOutput(10*time.Second, sp.agentBin, "healthcheck", "-socketPath", a.Socket); err == nil {
		t.Errorf("agent with require_pq_kem is healthy: %s", out)
	}
}

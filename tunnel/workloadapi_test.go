package tunnel

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/proto/spiffe/workload"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// fakeWorkloadAPI is a minimal SPIFFE Workload API (FetchX509SVID only) on
// a unix socket: it streams the current SVID set and every rotation.
type fakeWorkloadAPI struct {
	workload.UnimplementedSpiffeWorkloadAPIServer
	mu      sync.Mutex
	resp    *workload.X509SVIDResponse
	updated chan struct{} // closed and replaced on every rotation
}

func (f *fakeWorkloadAPI) FetchX509SVID(_ *workload.X509SVIDRequest, stream grpc.ServerStreamingServer[workload.X509SVIDResponse]) error {
	// The spec requires the security header on every call.
	if md, ok := metadata.FromIncomingContext(stream.Context()); !ok || len(md.Get("workload.spiffe.io")) != 1 || md.Get("workload.spiffe.io")[0] != "true" {
		return status.Error(codes.InvalidArgument, "security header missing")
	}
	for {
		f.mu.Lock()
		resp, updated := f.resp, f.updated
		f.mu.Unlock()
		if err := stream.Send(resp); err != nil {
			return err
		}
		select {
		case <-updated:
		case <-stream.Context().Done():
			return nil
		}
	}
}

// set publishes a new SVID response to every watcher.
func (f *fakeWorkloadAPI) set(resp *workload.X509SVIDResponse) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resp = resp
	if f.updated != nil {
		close(f.updated)
	}
	f.updated = make(chan struct{})
}

// svidResponse issues an X.509-SVID for id from the test CA.
func svidResponse(t *testing.T, p *testPKI, id string, client bool) *workload.X509SVIDResponse {
	t.Helper()
	cert, _, _ := p.issue(t, certOpts{cn: "svid", uris: []string{id}, client: client, name: strings.ReplaceAll(id, "/", "_") + time.Now().Format("150405.000000000")})
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return &workload.X509SVIDResponse{Svids: []*workload.X509SVID{{SpiffeId: id, X509Svid: cert.Certificate[0], X509SvidKey: key, Bundle: p.Cert.Raw}}}
}

// startFakeWorkloadAPI serves f on a unix socket and returns its address.
func startFakeWorkloadAPI(t *testing.T, f *fakeWorkloadAPI) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	workload.RegisterSpiffeWorkloadAPIServer(srv, f)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return "unix://" + path
}

// TestWorkloadAPIPairAndRotation: a server and a client tunnel fed by the
// Workload API (SVIDs and bundle), with an allow/verify ACL, proxy traffic;
// after the SVIDs rotate, new handshakes present the new certificate
// without a restart and traffic keeps flowing.
func TestWorkloadAPIPairAndRotation(t *testing.T) {
	p := newPKI(t)
	const serverID, clientID = "spiffe://example.org/ns/db/sa/server", "spiffe://example.org/ns/app/sa/client"
	// One agent per workload, as SPIRE runs one per node.
	srvAPI, cliAPI := &fakeWorkloadAPI{}, &fakeWorkloadAPI{}
	srvAPI.set(svidResponse(t, p, serverID, false))
	cliAPI.set(svidResponse(t, p, clientID, true))
	srvAddr, cliAddr := startFakeWorkloadAPI(t, srvAPI), startFakeWorkloadAPI(t, cliAPI)

	server := ListenerConfig{Name: "srv", Mode: ModeServer, Listen: "127.0.0.1:0", Target: echoServer(t),
		UseWorkloadAPI: true, WorkloadAPIAddr: srvAddr, Allow: ACL{URI: []string{"spiffe://example.org/ns/app/sa/*"}}}
	tuS, _ := startTunnel(t, Config{Listeners: []ListenerConfig{server}})
	client := ListenerConfig{Name: "cli", Mode: ModeClient, Listen: "127.0.0.1:0", Target: tuS.Listeners()[0].Addr().String(),
		UseWorkloadAPI: true, WorkloadAPIAddr: cliAddr, Verify: ACL{URI: []string{serverID}}}
	tuC, _ := startTunnel(t, Config{Listeners: []ListenerConfig{client}})

	roundTripVia := func() error {
		c, err := dialPlain(tuC.Listeners()[0].Addr().String())
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = roundTrip(c, "through spiffe")
		return err
	}
	if err := roundTripVia(); err != nil {
		t.Fatalf("pair over Workload API SVIDs: %v", err)
	}
	serverSerial := func() string {
		cfg := &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{mustCert(t, cliAPI)}}
		c, err := dialTLS(tuS.Listeners()[0].Addr().String(), cfg)
		if err != nil {
			t.Fatalf("direct handshake: %v", err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serverSerial()
	srvAPI.set(svidResponse(t, p, serverID, false))
	cliAPI.set(svidResponse(t, p, clientID, true))
	waitFor(t, "the rotated server SVID", func() bool { return serverSerial() != before })
	if err := roundTripVia(); err != nil {
		t.Fatalf("pair after rotation: %v", err)
	}
	// A client SVID outside the allow list is refused by the server tunnel.
	other := &fakeWorkloadAPI{}
	other.set(svidResponse(t, p, "spiffe://example.org/ns/dev/sa/mallory", true))
	cfg := &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{mustCert(t, other)}}
	if err := dialRefusal(tuS.Listeners()[0].Addr().String(), cfg); err == nil || !strings.Contains(err.Error(), "bad certificate") {
		t.Fatalf("mallory's SVID: %v, want a bad_certificate refusal", err)
	}
}

// mustCert returns the tls.Certificate of the fake API's current SVID.
func mustCert(t *testing.T, f *fakeWorkloadAPI) tls.Certificate {
	t.Helper()
	f.mu.Lock()
	s := f.resp.Svids[0]
	f.mu.Unlock()
	key, err := x509.ParsePKCS8PrivateKey(s.X509SvidKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{s.X509Svid}, PrivateKey: key}
}

// TestWorkloadAPIConfigErrors: use_workload_api is exclusive with cert, key
// and CA files, needs an address, and in client mode a pinned server ID.
func TestWorkloadAPIConfigErrors(t *testing.T) {
	t.Setenv("SPIFFE_ENDPOINT_SOCKET", "")
	base := func(mod func(*ListenerConfig)) Config {
		l := ListenerConfig{Mode: ModeServer, Listen: "127.0.0.1:0", Target: "127.0.0.1:1", UseWorkloadAPI: true, WorkloadAPIAddr: "unix:///run/spire/agent.sock"}
		mod(&l)
		return Config{Listeners: []ListenerConfig{l}}
	}
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"with cert", base(func(l *ListenerConfig) { l.Cert, l.Key = "a.pem", "a.key" }), "remove cert, key and ca"},
		{"with client CA", base(func(l *ListenerConfig) { l.CA = "ca.pem" }), "remove cert, key and ca"},
		{"no address", base(func(l *ListenerConfig) { l.WorkloadAPIAddr = "" }), "SPIFFE_ENDPOINT_SOCKET"},
		{"bad address", base(func(l *ListenerConfig) { l.WorkloadAPIAddr = "/run/agent.sock" }), "unix:///path"},
		{"client without verify", base(func(l *ListenerConfig) { l.Mode = ModeClient }), "needs verify"},
		{"address without the switch", base(func(l *ListenerConfig) { l.UseWorkloadAPI = false; l.Cert, l.Key = "a", "b" }), "needs use_workload_api"},
	} {
		if _, err := c.cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
	valid := base(func(*ListenerConfig) {})
	if _, err := valid.Validate(); err != nil {
		t.Errorf("valid server config: %v", err)
	}
}

// TestWorkloadAPIReadyzExpiredSVID: /readyz (Ready) watches the current
// SVID of a Workload API listener: an expired one makes it not ready, the
// rotated one ready again.
func TestWorkloadAPIReadyzExpiredSVID(t *testing.T) {
	p := newPKI(t)
	const id = "spiffe://example.org/ns/db/sa/server"
	api := &fakeWorkloadAPI{}
	expired := svidResponse(t, p, id, false)
	cert, _, _ := p.issue(t, certOpts{cn: "old", uris: []string{id}, notAfter: time.Now().Add(-time.Minute), name: "expired-svid"})
	expired.Svids[0].X509Svid = cert.Certificate[0]
	key, _ := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	expired.Svids[0].X509SvidKey = key
	api.set(expired)
	addr := startFakeWorkloadAPI(t, api)
	tu, _ := startTunnel(t, Config{Listeners: []ListenerConfig{{Name: "srv", Mode: ModeServer, Listen: "127.0.0.1:0", Target: echoServer(t),
		UseWorkloadAPI: true, WorkloadAPIAddr: addr}}})
	if problems := strings.Join(tu.Ready(), "\n"); !strings.Contains(problems, "X.509-SVID "+id+" expired") {
		t.Fatalf("Ready with an expired SVID: %q", problems)
	}
	api.set(svidResponse(t, p, id, false))
	waitFor(t, "ready after rotation", func() bool { return len(tu.Ready()) == 0 })
}

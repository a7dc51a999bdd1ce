package interop

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
	"github.com/prometheus/client_golang/prometheus"
)

type h2Result struct {
	Status   int    `json:"status"`
	ALPN     string `json:"alpn"`
	Cipher   string `json:"cipher"`
	Protocol string `json:"protocol"`
	Group    string `json:"group"`
	Body     string `json:"body"`
	Error    string `json:"error"`
}

// nodeH2Get runs Node 26's http2.connect against url (30 s bound).
func nodeH2Get(t *testing.T, url string, ca *testpki.CA) h2Result {
	t.Helper()
	testpeer.Require(t, testpeer.PeerNode)
	node, err := testpeer.Find(testpeer.PeerNode)
	if err != nil {
		t.Fatal(err)
	}
	caFile := ca.WriteCertFile(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	script, _ := filepath.Abs("testdata/h2client.js")
	out, err := exec.CommandContext(ctx, node, script, url, caFile).Output()
	if err != nil {
		t.Fatalf("node: %v %s", err, out)
	}
	var r h2Result
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("node printed %q: %v", out, err)
	}
	return r
}

func protoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.Proto, pqtls.GroupName(r.TLS.CurveID))
	})
}

// net/http's ListenAndServeTLS(certFile, keyFile) with an instrumented
// ServerConfig, and Node 26's HTTP/2 client: h2, hybrid, recorded once (no
// duration: the certificates live in net/http's copy of the config).
func TestInteropNodeHTTP2ListenAndServeTLS(t *testing.T) {
	testpeer.Require(t, testpeer.PeerNode)
	ca := testpki.NewCA(t)
	files := ca.Server(t, testpki.CertOptions{}).WriteFiles(t, t.TempDir())
	obs, reg := observed(t)
	cfg, err := pqtls.ServerConfig(pqtls.Options{Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // ListenAndServeTLS listens on Addr itself
	srv := &http.Server{Addr: addr, TLSConfig: cfg, Handler: protoHandler(), ReadHeaderTimeout: 5 * time.Second, ErrorLog: obs.HTTPServerErrorLog(nil)}
	testpeer.ServeHTTP(t, srv, func() error { return srv.ListenAndServeTLS(files.Cert, files.Key) })
	var r h2Result
	for i := 0; i < 50; i++ { // until it listens (bounded)
		if r = nodeH2Get(t, "https://"+addr+"/", ca); !strings.Contains(r.Error, "ECONNREFUSED") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantNodeH2(t, "ListenAndServeTLS", r, reg, nil)
}

// pqtls.Listen + http.Server.Serve serves HTTP/2 to Node 26 and Chromium,
// with the Listener's duration.
func TestInteropNodeHTTP2PqtlsListen(t *testing.T) {
	testpeer.Require(t, testpeer.PeerNode)
	ca := testpki.NewCA(t)
	cert := ca.Server(t, testpki.CertOptions{})
	obs, reg := observed(t)
	cfg, err := pqtls.ServerConfig(pqtls.Options{Base: &tls.Config{Certificates: []tls.Certificate{cert.TLS}}, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := pqtls.Listen("tcp", "127.0.0.1:0", cfg, pqtls.ListenerOptions{Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: protoHandler(), ReadHeaderTimeout: 5 * time.Second}
	testpeer.ServeHTTP(t, srv, func() error { return srv.Serve(ln) })
	url := "https://localhost:" + portOf(ln.Addr()) + "/"
	r := nodeH2Get(t, url, ca)
	wantNodeH2(t, "pqtls.Listen", r, reg, map[string]float64{"tls_handshake_duration_seconds_count{group=x25519_mlkem768,role=server}": 1})
	t.Run("chromium", func(t *testing.T) {
		testpeer.Require(t, testpeer.PeerChromium)
		dom, err := testpeer.ChromiumFetch(t, url, testpeer.ChromiumOptions{Trust: []*testpki.Cert{cert}})
		if err != nil || !strings.Contains(dom, "HTTP/2.0 X25519MLKEM768") {
			t.Fatalf("Chromium against pqtls.Listen: %v %q", err, dom)
		}
	})
}

func portOf(a net.Addr) string { _, p, _ := net.SplitHostPort(a.String()); return p }

// wantNodeH2 checks that Node's http2 GET got protoHandler's answer over
// h2 and X25519MLKEM768, and that reg holds the server's group and cipher
// series and extra, nothing else.
func wantNodeH2(t *testing.T, server string, r h2Result, reg *prometheus.Registry, extra map[string]float64) {
	t.Helper()
	if r.Status != 200 || r.ALPN != "h2" || r.Body != "HTTP/2.0 X25519MLKEM768" {
		t.Fatalf("Node http2 against %s: %+v", server, r)
	}
	want := map[string]float64{
		group(pqtls.RoleServer, tls.X25519MLKEM768):                      1,
		cipher(pqtls.RoleServer, tls.VersionTLS13, suiteID(t, r.Cipher)): 1,
	}
	maps.Copy(want, extra)
	wantSeries(t, reg, want)
}

// suiteID maps an IANA cipher suite name to its ID.
func suiteID(t *testing.T, name string) uint16 {
	t.Helper()
	for _, cs := range tls.CipherSuites() {
		if cs.Name == name {
			return cs.ID
		}
	}
	t.Fatalf("unknown cipher suite %q", name)
	return 0
}

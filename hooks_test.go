package pqtls

import (
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/pqtls/pqtls/internal/testpeer"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpki"
	"github.com/prometheus/client_golang/prometheus"
)

// series and wantSeries are the shared metric-series helpers.
func series(t testing.TB, reg *prometheus.Registry) map[string]float64 {
	return testpeer.Series(t, reg)
}

func wantSeries(t testing.TB, reg *prometheus.Registry, want map[string]float64) {
	t.Helper()
	testpeer.WantSeries(t, reg, want)
}

func newObserved(t testing.TB) (*Observer, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	return &Observer{Metrics: m}, reg
}

const (
	hybridServer = `tls_handshake_group_total{group=x25519_mlkem768,kind=hybrid,role=server}`
	hybridClient = `tls_handshake_group_total{group=x25519_mlkem768,kind=hybrid,role=client}`
	aes128Server = `tls_handshake_cipher_total{cipher=TLS_AES_128_GCM_SHA256,role=server,version=TLS 1.3}`
	aes128Client = `tls_handshake_cipher_total{cipher=TLS_AES_128_GCM_SHA256,role=client,version=TLS 1.3}`
	hookDurSrv   = `tls_handshake_hook_duration_seconds_count{group=x25519_mlkem768,role=server}`
	durSrv       = `tls_handshake_duration_seconds_count{group=x25519_mlkem768,role=server}`
	durCli       = `tls_handshake_duration_seconds_count{group=x25519_mlkem768,role=client}`
)

// listenHTTPS serves an empty handler over pqtls.Listen (ServerConfig of p
// with cert; obs, if not nil, on both the configuration and the Listener)
// until the test ends.
func listenHTTPS(t *testing.T, p Policy, cert tls.Certificate, obs *Observer) net.Listener {
	t.Helper()
	cfg, err := ServerConfig(Options{Policy: p, Base: &tls.Config{Certificates: []tls.Certificate{cert}}, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen("tcp", "127.0.0.1:0", cfg, ListenerOptions{Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	testpeer.ServeHTTP(t, srv, func() error { return srv.Serve(ln) })
	return ln
}

func httpGet(t *testing.T, url string, cfg *tls.Config) (*http.Response, error) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

// http.Server.ListenAndServeTLS(certFile, keyFile): the certificates live
// only in net/http's copy of the configuration, so the hooks record without
// duration; the handshake is recorded once, and net/http's own handshake
// errors reach the metrics through HTTPServerErrorLog.
func TestObserverListenAndServeTLSCertFiles(t *testing.T) {
	ca := testpki.NewCA(t)
	files := ca.Server(t, testpki.CertOptions{}).WriteFiles(t, t.TempDir())
	obs, reg := newObserved(t)
	cfg, err := ServerConfig(Options{Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	logged := &testpeer.Buffer{}
	srv := &http.Server{TLSConfig: cfg, ErrorLog: obs.HTTPServerErrorLog(log.New(logged, "", 0)), ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, r.Proto, " ", GroupName(r.TLS.CurveID)) })}
	// ListenAndServeTLS needs a fixed address: take a free loopback port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Addr = ln.Addr().String()
	ln.Close()
	testpeer.ServeHTTP(t, srv, func() error { return srv.ListenAndServeTLS(files.Cert, files.Key) })
	url := "https://" + srv.Addr + "/"
	var resp *http.Response
	for i := 0; i < 100; i++ { // until ListenAndServeTLS listens (bounded: 1 s)
		if resp, err = httpGet(t, url, ca.ClientTLS("localhost", nil)); err == nil || !strings.Contains(err.Error(), "refused") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 2 {
		t.Errorf("ListenAndServeTLS served %s, want HTTP/2", resp.Proto)
	}
	wantSeries(t, reg, map[string]float64{hybridServer: 1, aes128Server: 1})

	// A client that refuses the server's certificate: the failure is inside
	// crypto/tls, seen only by net/http's error log. In TLS 1.3 without
	// client certificates the server's VerifyConnection runs before the
	// client's Finished, so the hooks count the handshake as completed too
	// (docs/LIBRARY.md says so).
	if _, err := httpGet(t, url, &tls.Config{ServerName: "localhost"}); err == nil {
		t.Fatal("client without the CA connected")
	}
	wantSeries(t, reg, map[string]float64{hybridServer: 2, aes128Server: 2,
		`tls_handshake_errors_total{reason=alert_bad_certificate,role=server}`: 1})
	for i := 0; i < 100 && !strings.Contains(logged.String(), "TLS handshake error"); i++ {
		time.Sleep(10 * time.Millisecond) // the line follows the count (bounded: 1 s)
	}
	if !strings.Contains(logged.String(), "TLS handshake error") {
		t.Errorf("HTTPServerErrorLog did not pass the line on: %q", logged.String())
	}
}

// ServeTLS with certificates in the configuration: per-connection hooks,
// duration in the hook histogram; require refusals are recorded by the hook
// and not counted again by the error-log adapter.
func TestObserverServeTLSRequire(t *testing.T) {
	cert, pool := selfSigned(t)
	obs, reg := newObserved(t)
	cfg, err := ServerConfig(Options{Policy: Policy{Mode: "Require "}, Base: &tls.Config{Certificates: []tls.Certificate{cert}}, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{TLSConfig: cfg, ErrorLog: obs.HTTPServerErrorLog(nil), ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	testpeer.ServeHTTP(t, srv, func() error { return srv.ServeTLS(ln, "", "") })
	url := "https://" + ln.Addr().String() + "/"
	if _, err := httpGet(t, url, &tls.Config{RootCAs: pool, ServerName: "localhost"}); err != nil {
		t.Fatal(err)
	}
	_, err = httpGet(t, url, &tls.Config{RootCAs: pool, ServerName: "localhost", CurvePreferences: []tls.CurveID{tls.X25519}})
	if err == nil || !strings.Contains(err.Error(), "handshake failure") {
		t.Fatalf("classical client vs require: %v, want a handshake_failure alert", err)
	}
	wantSeries(t, reg, map[string]float64{hybridServer: 1, aes128Server: 1, hookDurSrv: 1,
		`tls_handshake_errors_total{reason=policy_classical_peer,role=server}`: 1})
}

// pqtls.Listen (and Observer.Handshake in general) on an instrumented
// configuration: recorded once, with the Listener's duration.
func TestObserverListenerNotCountedTwice(t *testing.T) {
	cert, pool := selfSigned(t)
	obs, reg := newObserved(t)
	ln := listenHTTPS(t, Policy{}, cert, obs)
	resp, err := httpGet(t, "https://"+ln.Addr().String()+"/", &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 2 {
		t.Errorf("pqtls.Listen + http.Server.Serve served %s, want HTTP/2", resp.Proto)
	}
	// A classical client against a require Listener: one refusal.
	creq, err := ServerConfig(Options{Policy: Policy{Mode: ModeRequire}, Base: &tls.Config{Certificates: []tls.Certificate{cert}}, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	ln2, err := Listen("tcp", "127.0.0.1:0", creq, ListenerOptions{Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	if c, err := tls.Dial("tcp", ln2.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "localhost", CurvePreferences: []tls.CurveID{tls.X25519}}); err == nil {
		c.Close()
		t.Fatal("classical client accepted")
	}
	wantSeries(t, reg, map[string]float64{hybridServer: 1, aes128Server: 1, durSrv: 1,
		`tls_handshake_errors_total{reason=policy_classical_peer,role=server}`: 1})
}

// tls.Listen / tls.Dial on instrumented configurations: both sides record,
// the client without duration; a Dialer on an instrumented configuration
// does not count the handshake again.
func TestObserverPlainCryptoTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	obs, reg := newObserved(t)
	srvCfg, err := ServerConfig(Options{Base: &tls.Config{Certificates: []tls.Certificate{cert}}, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srvCfg)
	if err != nil {
		t.Fatal(err)
	}
	testpeer.Serve(t, ln, 5*time.Second, func(c net.Conn) { _ = c.(*tls.Conn).Handshake() })
	cliCfg, err := ClientConfig(Options{Base: &tls.Config{RootCAs: pool, ServerName: "localhost"}, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	if !Instrumented(cliCfg) || !Instrumented(srvCfg) || !Instrumented(cliCfg.Clone()) {
		t.Fatal("Instrumented is false for configurations with an Observer")
	}
	c, err := tls.Dial("tcp", ln.Addr().String(), cliCfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	d := &Dialer{Config: cliCfg, Observer: obs}
	c2, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c2.Close()
	wantSeries(t, reg, map[string]float64{hybridServer: 2, aes128Server: 2, hookDurSrv: 2, hybridClient: 2, aes128Client: 2})
	// Without an Observer in the config, the Dialer records with duration.
	plain, err := ClientConfig(Options{Base: &tls.Config{RootCAs: pool, ServerName: "localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	if Instrumented(plain) {
		t.Fatal("Instrumented true without an Observer")
	}
	d = &Dialer{Config: plain, Observer: obs}
	c3, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c3.Close()
	wantSeries(t, reg, map[string]float64{hybridServer: 3, aes128Server: 3, hookDurSrv: 3, hybridClient: 3, aes128Client: 3, durCli: 1})
}

// Wrapping an existing configuration keeps the caller's hooks.
func TestObserverKeepsCallerHooks(t *testing.T) {
	cert, pool := selfSigned(t)
	obs, reg := newObserved(t)
	var getCert, verify, perClientVerify atomic.Int32
	inner := &tls.Config{
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { getCert.Add(1); return &cert, nil },
		VerifyConnection: func(tls.ConnectionState) error {
			perClientVerify.Add(1)
			return nil
		},
	}
	existing := &tls.Config{
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return inner, nil },
		VerifyConnection:   func(tls.ConnectionState) error { verify.Add(1); return nil },
	}
	cfg, err := ServerConfig(Options{Base: existing, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	pipeHandshake(t, cfg, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if getCert.Load() != 1 || perClientVerify.Load() != 1 {
		t.Fatalf("caller hooks: GetCertificate %d, per-client VerifyConnection %d, want 1 and 1", getCert.Load(), perClientVerify.Load())
	}
	// The caller's VerifyConnection refusing: recorded once with its reason.
	existing.GetConfigForClient = nil
	existing.Certificates = []tls.Certificate{cert}
	existing.VerifyConnection = func(tls.ConnectionState) error { verify.Add(1); return errors.New("tls: access denied by the caller") }
	cfg2, err := ServerConfig(Options{Base: existing, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, serr := loopbackHandshake(t, cfg2, &tls.Config{RootCAs: pool, ServerName: "localhost"}); serr == nil || !strings.Contains(serr.Error(), "access denied by the caller") {
		t.Fatalf("caller's VerifyConnection error: %v", serr)
	}
	if verify.Load() != 1 {
		t.Fatalf("caller's VerifyConnection ran %d times, want 1", verify.Load())
	}
	wantSeries(t, reg, map[string]float64{hybridServer: 1, aes128Server: 1, hookDurSrv: 1,
		`tls_handshake_errors_total{reason=other,role=server}`: 1})
	// Wrapping an instrumented configuration with another Observer is a
	// configuration error (it would count every handshake twice).
	if _, err := ServerConfig(Options{Base: cfg, Observer: obs}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("double instrumentation: %v", err)
	}
	if c, err := ServerConfig(Options{Base: cfg}); err != nil || !Instrumented(c) {
		t.Fatalf("wrapping an instrumented config without Observer: %v, Instrumented=%v", err, Instrumented(c))
	}
}

// ALPN: h2/http/1.1 only to clients that offer one; other protocols get no
// ALPN and are not refused; ClientConfig never adds ALPN.
func TestServerConfigPerConnectionALPN(t *testing.T) {
	cert, pool := selfSigned(t)
	cfg, err := ServerConfig(Options{Base: &tls.Config{Certificates: []tls.Certificate{cert}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		offer []string
		want  string
	}{
		{[]string{"h2", "http/1.1"}, "h2"},
		{[]string{"http/1.1"}, "http/1.1"},
		{[]string{"postgresql"}, ""},
		{nil, ""},
	} {
		cs := pipeHandshake(t, cfg, &tls.Config{RootCAs: pool, ServerName: "localhost", NextProtos: tc.offer})
		if cs.NegotiatedProtocol != tc.want {
			t.Errorf("client offering %v got %q, want %q", tc.offer, cs.NegotiatedProtocol, tc.want)
		}
	}
	// Explicitly empty NextProtos: no ALPN at all (the tunnel's setting).
	off, err := ServerConfig(Options{Base: &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{}}})
	if err != nil {
		t.Fatal(err)
	}
	if cs := pipeHandshake(t, off, &tls.Config{RootCAs: pool, ServerName: "localhost", NextProtos: []string{"h2"}}); cs.NegotiatedProtocol != "" {
		t.Errorf("NextProtos []string{}: negotiated %q", cs.NegotiatedProtocol)
	}
	cli, err := ClientConfig(Options{})
	if err != nil || cli.NextProtos != nil {
		t.Fatalf("ClientConfig added ALPN: %v %v", cli.NextProtos, err)
	}
	if slices.Contains(cfg.NextProtos, "h2") {
		t.Fatalf("ServerConfig set a static NextProtos %v", cfg.NextProtos)
	}
}

// Refusals pqtls decides at ClientHello time, with their alerts and typed
// errors: no shared group, no shared version.
func TestServerRefusalsAtClientHello(t *testing.T) {
	cert, pool := selfSigned(t)
	obs, reg := newObserved(t)
	cfg, err := ServerConfig(Options{Policy: Policy{Groups: []tls.CurveID{tls.X25519MLKEM768, tls.X25519}, MinVersion: tls.VersionTLS13}, Base: &tls.Config{Certificates: []tls.Certificate{cert}}, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	_, cerr, serr := loopbackHandshake(t, cfg, &tls.Config{RootCAs: pool, ServerName: "localhost", CurvePreferences: []tls.CurveID{tls.CurveP384}})
	var rerr *RefusalError
	if cerr == nil || !strings.Contains(cerr.Error(), "handshake failure") || !errors.As(serr, &rerr) || rerr.Code != ReasonNoSharedGroup || !RefusedByPolicy(serr) || !RefusedByPolicy(cerr) {
		t.Fatalf("no shared group: client %v, server %v", cerr, serr)
	}
	_, cerr, serr = loopbackHandshake(t, cfg, &tls.Config{RootCAs: pool, ServerName: "localhost", MaxVersion: tls.VersionTLS12})
	if cerr == nil || !strings.Contains(cerr.Error(), "protocol version") || ErrorReason(serr) != ReasonProtocolVersion || RefusedByPolicy(serr) {
		t.Fatalf("no shared version: client %v, server %v (%s)", cerr, serr, ErrorReason(serr))
	}
	wantSeries(t, reg, map[string]float64{
		`tls_handshake_errors_total{reason=no_shared_group,role=server}`:  1,
		`tls_handshake_errors_total{reason=protocol_version,role=server}`: 1,
	})
}

package pqtls

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpeer"
)

// HTTPTransport starts from http.DefaultTransport: its proxy function,
// timeouts and pool sizes; h2 is negotiated through the pqtls Dialer.
func TestHTTPTransportLikeDefault(t *testing.T) {
	cert, pool := selfSigned(t)
	cfg, err := ClientConfig(Options{Base: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	obs, reg := newObserved(t)
	tr := (&Dialer{Config: cfg, Observer: obs}).HTTPTransport()
	def := http.DefaultTransport.(*http.Transport)
	if reflect.ValueOf(tr.Proxy).Pointer() != reflect.ValueOf(http.ProxyFromEnvironment).Pointer() {
		t.Error("Proxy is not http.ProxyFromEnvironment")
	}
	if tr.ResponseHeaderTimeout != def.ResponseHeaderTimeout || tr.MaxIdleConnsPerHost != def.MaxIdleConnsPerHost ||
		tr.IdleConnTimeout != def.IdleConnTimeout || tr.TLSHandshakeTimeout != def.TLSHandshakeTimeout || tr.MaxIdleConns != def.MaxIdleConns {
		t.Errorf("timeouts/pool differ from http.DefaultTransport: %+v", tr)
	}
	if tr.TLSClientConfig == nil || tr.TLSClientConfig == cfg || !slicesEqual(tr.TLSClientConfig.CurvePreferences, cfg.CurvePreferences) {
		t.Fatal("TLSClientConfig is not a clone of the pqtls config")
	}
	if cfg.NextProtos != nil {
		t.Fatal("HTTPTransport modified the Dialer's config")
	}
	ln := listenHTTPS(t, Policy{}, cert, nil)
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://localhost:" + portOf(ln.Addr()) + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("HTTPTransport got %s, want HTTP/2", resp.Proto)
	}
	wantSeries(t, reg, map[string]float64{hybridClient: 1, aes128Client: 1, durCli: 1})
}

func portOf(a net.Addr) string { _, p, _ := net.SplitHostPort(a.String()); return p }

func slicesEqual(a, b []tls.CurveID) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// Through an HTTP CONNECT proxy the target handshake runs in net/http with
// TLSClientConfig: policy and hook metrics still apply.
func TestHTTPTransportThroughProxy(t *testing.T) {
	cert, pool := selfSigned(t)
	proxy := connectProxy(t)
	obs, reg := newObserved(t)
	for _, tc := range []struct {
		server Policy
		ok     bool
	}{{Policy{}, true}, {Policy{Mode: ModeClassical}, false}} {
		ln := listenHTTPS(t, tc.server, cert, nil)
		cfg, err := ClientConfig(Options{Policy: Policy{Mode: ModeRequire}, Base: &tls.Config{RootCAs: pool, ServerName: "localhost"}})
		if err != nil {
			t.Fatal(err)
		}
		tr := (&Dialer{Config: cfg, Observer: obs}).HTTPTransport()
		tr.Proxy = http.ProxyURL(proxy) // ProxyFromEnvironment never proxies loopback
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + ln.Addr().String() + "/")
		tr.CloseIdleConnections()
		if (err == nil) != tc.ok {
			t.Fatalf("server %s through the proxy: err %v, want ok=%v", tc.server.EffectiveMode(), err, tc.ok)
		}
		if err == nil {
			resp.Body.Close()
		}
	}
	// Hook metrics: the completed handshake (no duration on the client
	// hook path); the refusal happens inside crypto/tls (alert) and is not
	// seen by any hook.
	wantSeries(t, reg, map[string]float64{hybridClient: 1, aes128Client: 1})
}

// connectProxy runs a minimal HTTP CONNECT proxy on loopback.
func connectProxy(t *testing.T) *url.URL {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testpeer.Serve(t, ln, 0, func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil || req.Method != http.MethodConnect {
			return
		}
		up, err := net.DialTimeout("tcp", req.Host, 5*time.Second)
		if err != nil {
			fmt.Fprint(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
			return
		}
		defer up.Close()
		_ = up.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprint(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		go func() { _, _ = io.Copy(up, br); up.Close() }()
		_, _ = io.Copy(c, up)
	})
	return &url.URL{Scheme: "http", Host: ln.Addr().String()}
}

// A request cancelled during the handshake: net/http keeps dialing (the
// connection may serve a later request); CloseIdleConnections cancels that
// dial, and the handshake is counted as canceled, not timeout.
func TestHTTPTransportCancelIsCanceled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan struct{}, 1)
	testpeer.Serve(t, ln, 0, func(c net.Conn) {
		// Cancel once the ClientHello arrives: the handshake is under way.
		if _, err := c.Read(make([]byte, 1)); err == nil {
			accepted <- struct{}{}
		}
		_, _ = io.Copy(io.Discard, c) // never answers the ClientHello
	})
	cfg, err := ClientConfig(Options{Base: &tls.Config{ServerName: "localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	obs, reg := newObserved(t)
	tr := (&Dialer{Config: cfg, Observer: obs}).HTTPTransport()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-accepted; cancel() }()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+ln.Addr().String()+"/", nil)
	if _, err := (&http.Client{Transport: tr}).Do(req); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Fatalf("cancelled request: %v", err)
	}
	want := `tls_handshake_errors_total{reason=canceled,role=client}`
	for i := 0; i < 500 && series(t, reg)[want] == 0; i++ { // bounded: 5 s
		tr.CloseIdleConnections()
		time.Sleep(10 * time.Millisecond)
	}
	wantSeries(t, reg, map[string]float64{`tls_handshake_errors_total{reason=canceled,role=client}`: 1})
}

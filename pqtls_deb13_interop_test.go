package pqtls_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
)

// dialerGet GETs url through d's HTTP transport (15 s timeout) and returns
// the body and the connection's TLS state.
func dialerGet(d *pqtls.Dialer, url string) (string, *tls.ConnectionState, error) {
	tr := d.HTTPTransport()
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 15 * time.Second}).Get(url)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body), resp.TLS, nil
}

// TestInteropDeb13RequireNginx: a Go client with policy require against
// real nginx 1.26 / OpenSSL 3.5. Default nginx (hybrid) is accepted over
// X25519MLKEM768; nginx with `ssl_ecdh_curve X25519:prime256v1` is refused
// with a *pqtls.PolicyError that names the group it selects (x25519).
func TestInteropDeb13RequireNginx(t *testing.T) {
	d := testpeer.Deb13(t)
	hybrid := d.Nginx(t, testpeer.NginxOptions{})
	classical := d.Nginx(t, testpeer.NginxOptions{ECDHCurve: "X25519:prime256v1"})

	dialer := func(n *testpeer.NginxPeer) *pqtls.Dialer {
		cfg, err := pqtls.ClientConfig(pqtls.Options{
			Policy: pqtls.Policy{Mode: pqtls.ModeRequire},
			Base:   &tls.Config{RootCAs: n.CA.Pool(), ServerName: "localhost"},
		})
		if err != nil {
			t.Fatal(err)
		}
		return &pqtls.Dialer{Config: cfg, HandshakeTimeout: 10 * time.Second}
	}

	// Accepted: a full HTTP request over the hybrid group.
	body, st, err := dialerGet(dialer(hybrid), "https://"+hybrid.Addr+"/")
	if err != nil {
		t.Fatalf("require against hybrid nginx: %v", err)
	}
	if body != "hello from nginx\n" || st.CurveID != tls.X25519MLKEM768 {
		t.Errorf("hybrid nginx: %q over %v, want X25519MLKEM768", body, st.CurveID)
	}

	// Refused, with the group named.
	conn, err := dialer(classical).Dial("tcp", classical.Addr)
	if err == nil {
		conn.Close()
		t.Fatalf("require accepted nginx with ssl_ecdh_curve X25519:prime256v1 (group %v)", conn.(*tls.Conn).ConnectionState().CurveID)
	}
	var perr *pqtls.PolicyError
	if !errors.As(err, &perr) {
		t.Fatalf("error is %T (%v), want *pqtls.PolicyError", err, err)
	}
	if perr.Role != pqtls.RoleClient || !slices.Equal(perr.Offered, []tls.CurveID{tls.X25519}) {
		t.Errorf("PolicyError role %v offered %v, want client and [X25519]", perr.Role, perr.Offered)
	}
	if !strings.Contains(err.Error(), "x25519") || !strings.Contains(err.Error(), "classical-only") {
		t.Errorf("error does not name the group: %v", err)
	}
	t.Logf("refused: %v", err)
}

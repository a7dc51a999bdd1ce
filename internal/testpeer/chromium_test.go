package testpeer

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpki"
)

// TestInteropChromium checks that headless Chromium offers and negotiates
// X25519MLKEM768 with a Go server, and that SPKI pinning rejects any other
// certificate.
func TestInteropChromium(t *testing.T) {
	Require(t, PeerChromium)
	ca := testpki.NewCA(t)
	cert := ca.Server(t, testpki.CertOptions{})
	var (
		mu     sync.Mutex
		curves []tls.CurveID
	)
	cfg := ca.ServerTLS(cert, false)
	cfg.GetConfigForClient = func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		mu.Lock()
		defer mu.Unlock()
		curves = curves[:0]
		for _, c := range hi.SupportedCurves {
			if c&0x0f0f != 0x0a0a { // skip GREASE (RFC 8701)
				curves = append(curves, c)
			}
		}
		return nil, nil
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var negotiated []tls.CurveID
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		negotiated = append(negotiated, r.TLS.CurveID)
		mu.Unlock()
		fmt.Fprintf(w, "<html><body><p id=g>group=%v</p></body></html>", r.TLS.CurveID)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	url := "https://" + ln.Addr().(*net.TCPAddr).String() + "/"

	dom, err := ChromiumFetch(t, url, ChromiumOptions{Trust: []*testpki.Cert{cert}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dom, "group=X25519MLKEM768") {
		t.Errorf("chromium page %q", dom)
	}
	mu.Lock()
	if len(negotiated) == 0 || negotiated[0] != tls.X25519MLKEM768 {
		t.Errorf("Go server negotiated %v", negotiated)
	}
	if len(curves) == 0 || curves[0] != tls.X25519MLKEM768 {
		t.Errorf("chromium offered %v, want X25519MLKEM768 first", curves)
	}
	negotiated = nil
	mu.Unlock()

	// Pinned to another key: Chromium must refuse the page.
	other := testpki.NewCA(t).Server(t, testpki.CertOptions{})
	if dom, err := ChromiumFetch(t, url, ChromiumOptions{Trust: []*testpki.Cert{other}}); err == nil {
		t.Errorf("chromium loaded a page with an unpinned certificate: %q", dom)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(negotiated) != 0 {
		t.Errorf("requests reached the handler: %v", negotiated)
	}
}

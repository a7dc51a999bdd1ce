package testpeer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpki"
)

// ChromiumOptions configures [ChromiumFetch]. Exactly one way of trusting
// the server is needed: Trust, SPKIHashes or IgnoreCertErrors.
type ChromiumOptions struct {
	// Trust accepts these server certificates by public key
	// (--ignore-certificate-errors-spki-list with their SPKI hashes). This is
	// the precise way: any other certificate is still rejected.
	Trust []*testpki.Cert
	// SPKIHashes are base64 SHA-256 SPKI hashes to accept (see
	// testpki.Cert.SPKIHash).
	SPKIHashes []string
	// IgnoreCertErrors accepts any certificate (--ignore-certificate-errors).
	IgnoreCertErrors bool
	// ExtraFlags are appended to the command line, e.g.
	// "--host-resolver-rules=MAP api.test 127.0.0.1".
	ExtraFlags []string
	// Timeout bounds the whole run (default 60 s).
	Timeout time.Duration
}

// ChromiumFlags are the flags every headless run uses (plus
// --user-data-dir=<fresh temp dir>): no sandbox (we run as root), no GPU, no
// QUIC (so the TLS handshake is over TCP where the tests can see it), and no
// background traffic.
var ChromiumFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-dev-shm-usage", "--disable-extensions", "--disable-default-apps",
	"--no-default-browser-check", "--metrics-recording-only", "--mute-audio",
}

// ChromiumFetch loads url in headless Chromium (--dump-dom) and returns the
// serialized DOM of the page. It fails the test if Chromium cannot run, and
// returns an error if the page did not load (certificate rejected,
// connection refused: Chromium then prints an empty DOM). Note that Chromium
// also requests /favicon.ico. A run takes about 5 s.
func ChromiumFetch(tb testing.TB, url string, opts ChromiumOptions) (string, error) {
	tb.Helper()
	Require(tb, PeerChromium)
	bin, _ := Find(PeerChromium)
	args := append([]string(nil), ChromiumFlags...)
	args = append(args, "--user-data-dir="+tb.TempDir())
	hashes := append([]string(nil), opts.SPKIHashes...)
	for _, c := range opts.Trust {
		hashes = append(hashes, c.SPKIHash())
	}
	switch {
	case opts.IgnoreCertErrors:
		args = append(args, "--ignore-certificate-errors")
	case len(hashes) > 0:
		args = append(args, "--ignore-certificate-errors-spki-list="+strings.Join(hashes, ","))
	}
	args = append(args, opts.ExtraFlags...)
	args = append(args, "--dump-dom", url)
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// HOME in a temp dir: Chromium writes ~/.pki and caches there.
	out, err := runCtx(ctx, []string{"HOME=" + tb.TempDir()}, nil, bin, args...)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			tb.Fatalf("testpeer: chromium did not finish within %v: %v", timeout, err)
		}
		tb.Fatalf("testpeer: chromium: %v", err)
	}
	if !strings.Contains(out, "<body") || strings.Contains(out, "<body></body>") {
		return out, fmt.Errorf("chromium loaded no page from %s (certificate rejected or connection failed): %q", url, tail(out, 300))
	}
	return out, nil
}

package starttls_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/starttls"
	"github.com/pqtls/pqtls/internal/testpeer"
)

// dial connects to addr on loopback and closes the connection when the
// test ends.
func dial(t *testing.T, ctx context.Context, addr string) net.Conn {
	t.Helper()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestInteropPostgres runs the SSLRequest against PostgreSQL 15 itself: with
// ssl=on the TLS handshake that follows completes and verifies; with ssl=off
// the answer 'N' is a typed refusal.
func TestInteropPostgres(t *testing.T) {
	testpeer.Require(t, testpeer.PeerPostgres)
	pg := testpeer.Postgres(t, testpeer.PostgresOptions{SSL: true, SSLOnly: true})
	plain := testpeer.Postgres(t, testpeer.PostgresOptions{})
	// The bound is for the preambles and the handshake, not the peers' start
	// (several seconds each on a loaded machine).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := dial(t, ctx, pg.Addr)
	sent, received, err := starttls.Negotiate(ctx, c, starttls.Postgres, "")
	if err != nil || sent != 8 || received != 1 {
		t.Fatalf("ssl=on: sent %d received %d, %v", sent, received, err)
	}
	tc := tls.Client(c, pg.CA.ClientTLS("localhost", nil))
	if err := tc.HandshakeContext(ctx); err != nil {
		t.Fatalf("TLS after the SSLRequest: %v", err)
	}
	if cs := tc.ConnectionState(); cs.Version != tls.VersionTLS13 || len(cs.VerifiedChains) == 0 {
		t.Errorf("TLS %x, %d verified chains", cs.Version, len(cs.VerifiedChains))
	}

	_, _, err = starttls.Negotiate(ctx, dial(t, ctx, plain.Addr), starttls.Postgres, "")
	var re *starttls.RefusedError
	if !errors.As(err, &re) || re.Protocol != starttls.Postgres || !strings.Contains(err.Error(), "ssl=on") {
		t.Fatalf("ssl=off: %v, want a refusal telling to set ssl=on", err)
	}
}

package wire

import (
	"context"
	"crypto/tls"
	"slices"
	"testing"

	"github.com/pqtls/pqtls"
)

// goGroups are the groups Go's crypto/tls server can negotiate.
var goGroups = []tls.CurveID{
	tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024,
	tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521,
}

func exchange(t *testing.T, addr string, ch *ClientHello, opts ExchangeOptions) *ExchangeResult {
	t.Helper()
	res, err := Exchange(context.Background(), dialTest(t, addr), ch, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// eachGoGroup runs f in a subtest per group of goGroups against one Go
// server that offers them all, with a TLS 1.3 ClientHello offering only
// that group (and a real key share for it when share is set).
func eachGoGroup(t *testing.T, share bool, f func(t *testing.T, addr string, g tls.CurveID, ch *ClientHello)) {
	srv := startGoServer(t, &tls.Config{CurvePreferences: goGroups})
	for _, g := range goGroups {
		t.Run(pqtls.GroupName(g), func(t *testing.T) { f(t, srv.addr, g, goGroupHello(t, g, share)) })
	}
}

// goGroupHello is a TLS 1.3 ClientHello offering only g, with a real key
// share for it when share is set.
func goGroupHello(t *testing.T, g tls.CurveID, share bool) *ClientHello {
	ch := NewClientHello13("localhost")
	ch.SupportedGroups = []tls.CurveID{g}
	if share {
		ch.KeyShares = mustShares(t, g)
	}
	return ch
}

// TestGoServerRealKeyShares sends, for each group Go implements, a ClientHello
// whose only group has a real key share: Go's server computes the shared
// secret from it (an invalid share gets illegal_parameter, see below) and
// answers with a ServerHello for that group.
func TestGoServerRealKeyShares(t *testing.T) {
	eachGoGroup(t, true, func(t *testing.T, addr string, g tls.CurveID, ch *ClientHello) {
		res := exchange(t, addr, ch, ExchangeOptions{})
		if res.Outcome != OutcomeServerHello {
			t.Fatalf("outcome %s (%v, alert %v), want server_hello", res.Outcome, res.Err, res.Alert)
		}
		sh := res.ServerHello
		if sh.SelectedGroup != g || sh.KeyShare.Group != g || sh.Version() != VersionTLS13 {
			t.Fatalf("ServerHello group %v version %s, want %v TLS 1.3", sh.SelectedGroup, VersionName(sh.Version()), g)
		}
		info, _ := pqtls.LookupGroup(g)
		if len(sh.KeyShare.Data) != info.ServerShareSize {
			t.Errorf("server share %d bytes, registry says %d", len(sh.KeyShare.Data), info.ServerShareSize)
		}
		if err := sh.CheckAgainst(ch); err != nil {
			t.Errorf("CheckAgainst: %v", err)
		}
		if res.BytesSent != len(res.Sent) || res.BytesReceived < int64(len(sh.Raw)+RecordHeaderLen) {
			t.Errorf("bytes sent %d of %d, received %d", res.BytesSent, len(res.Sent), res.BytesReceived)
		}
	})
}

// TestGoServerRejectsBadShare shows the positive test above is meaningful:
// Go's server validates the share and refuses a corrupted one.
func TestGoServerRejectsBadShare(t *testing.T) {
	srv := startGoServer(t, &tls.Config{CurvePreferences: goGroups})
	for _, g := range []tls.CurveID{tls.CurveP256, tls.SecP256r1MLKEM768} {
		ch := goGroupHello(t, g, true)
		ch.KeyShares[0].Data[0] = 0x05 // not an uncompressed point any more
		res := exchange(t, srv.addr, ch, ExchangeOptions{})
		if res.Outcome != OutcomeAlert || res.Alert.Description != AlertIllegalParameter {
			t.Errorf("%v: outcome %s alert %v, want alert illegal_parameter", g, res.Outcome, res.Alert)
		}
	}
}

// TestGoServerHelloRetry sends supported_groups with no key share: Go's server
// must answer with a HelloRetryRequest for the group, and accept the second
// ClientHello with a real share on the same connection.
func TestGoServerHelloRetry(t *testing.T) {
	eachGoGroup(t, false, func(t *testing.T, addr string, g tls.CurveID, ch *ClientHello) {
		conn := dialTest(t, addr)
		res, err := Exchange(context.Background(), conn, ch, ExchangeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != OutcomeHelloRetryRequest {
			t.Fatalf("outcome %s (%v %v), want hello_retry_request", res.Outcome, res.Err, res.Alert)
		}
		hrr := res.ServerHello
		if !hrr.IsHRR || hrr.SelectedGroup != g || hrr.Random != HelloRetryRequestRandom() {
			t.Fatalf("HRR selected %v (IsHRR %v), want %v", hrr.SelectedGroup, hrr.IsHRR, g)
		}
		if err := hrr.CheckAgainst(ch); err != nil {
			t.Errorf("CheckAgainst: %v", err)
		}
		// Second ClientHello: same parameters plus the requested share.
		ch2, err := ch.Retry(hrr)
		if err != nil {
			t.Fatal(err)
		}
		if len(ch2.KeyShares) != 1 || ch2.KeyShares[0].Group != g || ch2.RecordVersion != VersionTLS12 {
			t.Fatalf("Retry built shares %v record version %#x", ch2.KeyShareGroups(), ch2.RecordVersion)
		}
		res2, err := Exchange(context.Background(), conn, ch2, ExchangeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res2.Outcome != OutcomeServerHello || res2.ServerHello.SelectedGroup != g {
			t.Fatalf("second hello: outcome %s %v %v", res2.Outcome, res2.Err, res2.Alert)
		}
	})
}

// TestGoServerPreference offers several groups without shares: Go's server
// picks a post-quantum group first, and the HRR names one we offered.
func TestGoServerPreference(t *testing.T) {
	srv := startGoServer(t, &tls.Config{})
	ch := NewClientHello13("localhost")
	ch.SupportedGroups = []tls.CurveID{tls.X25519, 0x0201, tls.SecP256r1MLKEM768}
	ch.KeyShares = mustShares(t, tls.X25519)
	res := exchange(t, srv.addr, ch, ExchangeOptions{})
	if res.Outcome != OutcomeHelloRetryRequest || res.ServerHello.SelectedGroup != tls.SecP256r1MLKEM768 {
		t.Fatalf("outcome %s, want HRR to SecP256r1MLKEM768: %+v", res.Outcome, res.ServerHello)
	}
}

// TestGoServerTLS12 probes a TLS 1.2-only Go server with a TLS 1.2 hello and
// reads on through Certificate and ServerKeyExchange.
func TestGoServerTLS12(t *testing.T) {
	cert := testCert(t)
	srv := startGoServer(t, &tls.Config{
		MaxVersion: tls.VersionTLS12, CurvePreferences: []tls.CurveID{tls.CurveP384},
		Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"},
	})
	ch := NewClientHello12("localhost")
	ch.SupportedGroups = []tls.CurveID{tls.X25519, tls.CurveP384}
	ch.ALPN = []string{"h2", "http/1.1"}
	res := exchange(t, srv.addr, ch, ExchangeOptions{})
	if res.Outcome != OutcomeServerHello {
		t.Fatalf("outcome %s: %v", res.Outcome, res.Err)
	}
	sh := res.ServerHello
	if sh.Version() != VersionTLS12 || sh.ALPN != "h2" || !sh.ExtendedMasterSecret || !sh.RenegotiationInfo {
		t.Fatalf("ServerHello %+v", sh)
	}
	if err := sh.CheckAgainst(ch); err != nil {
		t.Fatal(err)
	}
	chain, ske := readTLS12Flight(t, res.Reader, sh.Version())
	if chain == nil {
		t.Fatal("no Certificate before ServerKeyExchange")
	}
	if len(chain) != 1 || !slices.Equal(chain[0].Raw, cert.Certificate[0]) {
		t.Fatalf("chain of %d certificates does not match the server's", len(chain))
	}
	if ske.Curve != tls.CurveP384 || len(ske.Public) != 97 || ske.SignatureAlgorithm == 0 || len(ske.Signature) == 0 {
		t.Fatalf("ServerKeyExchange %+v", ske)
	}
}

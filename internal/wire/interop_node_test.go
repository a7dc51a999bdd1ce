package wire

import (
	"crypto/tls"
	"reflect"
	"slices"
	"testing"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
)

// nodeServer starts a Node.js 26 (OpenSSL 3.5) TLS server with the given
// ecdhCurve ("" for Node's default) and maxVersion ("" for none) and returns
// its address; testpeer skips or fails the test when Node is missing.
func nodeServer(t *testing.T, curves, maxVersion string) string {
	t.Helper()
	return testpeer.NodeServer(t, testpeer.NodeServerOptions{Curves: curves, MaxVersion: maxVersion}).Addr
}

// nodeClientHello makes Node.js 26 send its ClientHello (SNI localhost, ALPN
// h2 and http/1.1, the given ecdhCurve) to addr, a capturing listener that
// hangs up after the hello: the handshake must not complete.
func nodeClientHello(t *testing.T, addr, curves string) {
	t.Helper()
	res := testpeer.NodeClient(t, addr, testpeer.NodeClientOptions{Curves: curves, Insecure: true, ALPN: []string{"h2", "http/1.1"}})
	if res.Connected {
		t.Errorf("node client completed a handshake with a listener that only reads the ClientHello: %+v", res)
	}
}

// probe sends a TLS 1.3 ClientHello offering groups, with real key shares for
// shareGroups, and returns the result.
func probe(t *testing.T, addr string, groups, shareGroups []tls.CurveID) *ExchangeResult {
	t.Helper()
	ch := NewClientHello13("localhost")
	ch.SupportedGroups = groups
	if len(shareGroups) > 0 {
		ch.KeyShares = mustShares(t, shareGroups...)
	}
	res := exchange(t, addr, ch, ExchangeOptions{})
	if res.ServerHello != nil {
		if err := res.ServerHello.CheckAgainst(ch); err != nil {
			t.Errorf("answer does not match the ClientHello: %v", err)
		}
	}
	return res
}

func wantHRR(t *testing.T, res *ExchangeResult, group tls.CurveID) {
	t.Helper()
	if res.Outcome != OutcomeHelloRetryRequest || res.ServerHello.SelectedGroup != group {
		t.Fatalf("outcome %s (%v %v %+v), want HelloRetryRequest for %s", res.Outcome, res.Err, res.Alert, res.ServerHello, pqtls.GroupName(group))
	}
}

func wantSH(t *testing.T, res *ExchangeResult, group tls.CurveID) {
	t.Helper()
	if res.Outcome != OutcomeServerHello || res.ServerHello.SelectedGroup != group {
		t.Fatalf("outcome %s (%v %v), want ServerHello for %s", res.Outcome, res.Err, res.Alert, pqtls.GroupName(group))
	}
	g, _ := pqtls.LookupGroup(group)
	if n := len(res.ServerHello.KeyShare.Data); n != g.ServerShareSize {
		t.Errorf("%s server share is %d bytes, registry says %d", g.Name, n, g.ServerShareSize)
	}
}

// TestInteropWireNodeHRR: Node.js 26 (OpenSSL 3.5) servers restricted to one
// ML-KEM based group answer an empty key_share with a HelloRetryRequest for
// that group, and refuse a ClientHello without it.
func TestInteropWireNodeHRR(t *testing.T) {
	for _, tc := range []struct {
		curve string
		group tls.CurveID
	}{
		{"MLKEM768", 0x0201},
		{"SecP384r1MLKEM1024", tls.SecP384r1MLKEM1024},
		{"MLKEM1024", 0x0202},
	} {
		t.Run(tc.curve, func(t *testing.T) {
			addr := nodeServer(t, tc.curve, "")
			wantHRR(t, probe(t, addr, []tls.CurveID{tc.group}, nil), tc.group)
			// Among several offered groups, the server still picks its only one.
			wantHRR(t, probe(t, addr, []tls.CurveID{tls.X25519, tls.CurveP256, tc.group}, []tls.CurveID{tls.X25519}), tc.group)
			// Without the group there is no common group: an alert, not an HRR.
			res := probe(t, addr, []tls.CurveID{tls.X25519, tls.CurveP256}, nil)
			if res.Outcome != OutcomeAlert || res.Alert.Description != AlertHandshakeFailure {
				t.Fatalf("classical-only hello: outcome %s alert %v, want handshake_failure", res.Outcome, res.Alert)
			}
			// With a real key share the server goes on to a ServerHello.
			wantSH(t, probe(t, addr, []tls.CurveID{tc.group}, []tls.CurveID{tc.group}), tc.group)
		})
	}
}

// TestInteropWireNodeKeyShares: an OpenSSL 3.5 server accepts our key shares
// for every group it implements, which checks the draft-ietf-tls-ecdhe-mlkem
// layouts against an implementation that is not Go's, and the well-formed
// MLKEM512 share that Go cannot generate natively.
func TestInteropWireNodeKeyShares(t *testing.T) {
	groups := []tls.CurveID{tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024, 0x0200, 0x0201, 0x0202, tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521, 0x001E, 0x0100, 0x0101}
	addr := nodeServer(t, "X25519MLKEM768:SecP256r1MLKEM768:SecP384r1MLKEM1024:MLKEM512:MLKEM768:MLKEM1024:X25519:P-256:P-384:P-521:X448:ffdhe2048:ffdhe3072", "")
	for _, g := range groups {
		t.Run(pqtls.GroupName(g), func(t *testing.T) {
			wantSH(t, probe(t, addr, []tls.CurveID{g}, []tls.CurveID{g}), g)
		})
	}
	// A corrupted ML-KEM key (coefficient above q) is refused, so the
	// acceptance above means the shares are valid, not that anything goes.
	ch := NewClientHello13("localhost")
	ch.SupportedGroups = []tls.CurveID{0x0201}
	ch.KeyShares = mustShares(t, 0x0201)
	ch.KeyShares[0].Data[0], ch.KeyShares[0].Data[1] = 0xff, 0xff
	res := exchange(t, addr, ch, ExchangeOptions{})
	if res.Outcome != OutcomeAlert {
		t.Fatalf("corrupted ML-KEM-768 share: outcome %s, want an alert", res.Outcome)
	}
	// The X25519MLKEM768 layout with the components swapped (X25519 first)
	// is refused too: the component order really is checked by OpenSSL.
	ch.SupportedGroups = []tls.CurveID{tls.X25519MLKEM768}
	ch.KeyShares = mustShares(t, tls.X25519MLKEM768)
	d := ch.KeyShares[0].Data
	ch.KeyShares[0].Data = append(append([]byte{}, d[1184:]...), d[:1184]...)
	res = exchange(t, addr, ch, ExchangeOptions{})
	if res.Outcome != OutcomeAlert {
		t.Fatalf("swapped X25519MLKEM768 share: outcome %s, want an alert", res.Outcome)
	}
}

// TestInteropWireNodeDefault: Node's default group list answers a browser-like
// hello (hybrid + X25519 shares) with X25519MLKEM768, and the HRR path works
// end to end with ClientHello.Retry when only X25519 is sent.
func TestInteropWireNodeDefault(t *testing.T) {
	addr := nodeServer(t, "", "")
	wantSH(t, probe(t, addr, []tls.CurveID{tls.X25519MLKEM768, tls.X25519}, []tls.CurveID{tls.X25519MLKEM768, tls.X25519}), tls.X25519MLKEM768)

	ch := NewClientHello13("localhost")
	ch.SupportedGroups = []tls.CurveID{tls.X25519MLKEM768, tls.X25519}
	conn := dialTest(t, addr)
	res, err := Exchange(t.Context(), conn, ch, ExchangeOptions{RecordFragments: []int{50, 50}, Segments: []int{20}})
	if err != nil {
		t.Fatal(err)
	}
	wantHRR(t, res, tls.X25519MLKEM768)
	ch2, err := ch.Retry(res.ServerHello)
	if err != nil {
		t.Fatal(err)
	}
	res2, err := Exchange(t.Context(), conn, ch2, ExchangeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantSH(t, res2, tls.X25519MLKEM768)
}

// TestInteropWireNodeTLS12: a maxVersion TLSv1.2 Node server answers a TLS 1.2
// hello; the ECDHE curve is read from its ServerKeyExchange and the chain from
// its Certificate message.
func TestInteropWireNodeTLS12(t *testing.T) {
	addr := nodeServer(t, "P-384:P-256", "TLSv1.2")
	ch := NewClientHello12("localhost")
	ch.SupportedGroups = []tls.CurveID{tls.CurveP256, tls.CurveP384}
	res := exchange(t, addr, ch, ExchangeOptions{})
	if res.Outcome != OutcomeServerHello || res.ServerHello.Version() != VersionTLS12 {
		t.Fatalf("outcome %s %v", res.Outcome, res.Err)
	}
	chain, ske := readTLS12Flight(t, res.Reader, VersionTLS12)
	if len(chain) > 0 && chain[0].Subject.CommonName != "localhost" {
		t.Errorf("leaf subject %s", chain[0].Subject)
	}
	if curve := ske.Curve; len(chain) != 1 || (curve != tls.CurveP384 && curve != tls.CurveP256) {
		t.Fatalf("certs %d curve %v", len(chain), curve)
	}
	// A TLS 1.3-only hello gets protocol_version from this server.
	ch13 := NewClientHello13("localhost")
	ch13.SupportedVersions = []uint16{VersionTLS13}
	ch13.SupportedGroups = []tls.CurveID{tls.X25519}
	res = exchange(t, addr, ch13, ExchangeOptions{})
	if res.Outcome != OutcomeAlert || res.Alert.Description != AlertProtocolVersion {
		t.Fatalf("TLS 1.3-only hello: outcome %s alert %v, want protocol_version", res.Outcome, res.Alert)
	}
}

// TestInteropWireNodeClientHello parses real ClientHellos from Node.js 26
// (OpenSSL 3.5) clients, what `pqtls observe` sees on the wire, and checks
// that the builder can reproduce them field for field.
func TestInteropWireNodeClientHello(t *testing.T) {
	testpeer.Require(t, testpeer.PeerNode)
	for _, tc := range []struct {
		curves string
		groups []tls.CurveID
		shares map[tls.CurveID]int
	}{
		// OpenSSL sends a key share for the first group of an explicit list,
		// for each group marked with '*' (OpenSSL 3.5 syntax), and for
		// X25519MLKEM768 and X25519 with its default list.
		{"X25519MLKEM768:X25519", []tls.CurveID{tls.X25519MLKEM768, tls.X25519}, map[tls.CurveID]int{tls.X25519MLKEM768: 1216}},
		{"*X25519MLKEM768:*X25519", []tls.CurveID{tls.X25519MLKEM768, tls.X25519}, map[tls.CurveID]int{tls.X25519MLKEM768: 1216, tls.X25519: 32}},
		{"", []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, 0x001E, tls.CurveP384, tls.CurveP521, 0x0100, 0x0101}, map[tls.CurveID]int{tls.X25519MLKEM768: 1216, tls.X25519: 32}},
		{"SecP384r1MLKEM1024:P-256", []tls.CurveID{tls.SecP384r1MLKEM1024, tls.CurveP256}, map[tls.CurveID]int{tls.SecP384r1MLKEM1024: 1665}},
	} {
		name := tc.curves
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			flight := clientFlight(t, func(addr string) { nodeClientHello(t, addr, tc.curves) })
			msgs := messages(t, flight)
			if len(msgs) != 1 || msgs[0].HandshakeType != TypeClientHello {
				t.Fatalf("captured %d messages", len(msgs))
			}
			ch, err := ParseClientHello(msgs[0].Data)
			if err != nil {
				t.Fatal(err)
			}
			if ch.ServerName != "localhost" || len(ch.ALPN) != 2 || ch.ALPN[0] != "h2" || !ch.OffersTLS13() || len(ch.Raw) != len(flight)-RecordHeaderLen*msgs[0].Records {
				t.Fatalf("SNI %q ALPN %v versions %v size %d", ch.ServerName, ch.ALPN, ch.SupportedVersions, len(ch.Raw))
			}
			if !slices.Equal(ch.SupportedGroups, tc.groups) {
				t.Errorf("groups %v, want %v", ch.SupportedGroups, tc.groups)
			}
			if len(ch.KeyShares) != len(tc.shares) {
				t.Errorf("key shares %v, want %v", ch.KeyShareGroups(), tc.shares)
			}
			for _, ks := range ch.KeyShares {
				if tc.shares[ks.Group] != len(ks.Data) {
					t.Errorf("share %s: %d bytes, want %d", pqtls.GroupName(ks.Group), len(ks.Data), tc.shares[ks.Group])
				}
			}
			if err := ch.Validate(); err != nil {
				t.Fatalf("OpenSSL's hello does not pass Validate: %v", err)
			}
			again, err := ch.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			p, err := ParseClientHello(again)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := fuzzNormalize(ch), fuzzNormalize(p); !reflect.DeepEqual(a, b) {
				t.Errorf("rebuilt hello differs:\n%+v\n%+v", a, b)
			}
		})
	}
}

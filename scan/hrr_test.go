package scan

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/wire"
	"golang.org/x/crypto/cryptobyte"
)

// Test-only TLS 1.3 ServerHello/HelloRetryRequest builder (internal/wire
// parses these messages but has no builder for them): just enough to play
// a misbehaving or cookie-demanding server.
func serverHello(hrr bool, ch *wire.ClientHello, group tls.CurveID, share []byte, cookie []byte) []byte {
	random := wire.HelloRetryRequestRandom()
	if !hrr {
		random = [32]byte{1, 2, 3}
	}
	var b cryptobyte.Builder
	b.AddUint8(byte(wire.TypeServerHello))
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint16(0x0303)
		b.AddBytes(random[:])
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(ch.SessionID) })
		b.AddUint16(tls.TLS_AES_128_GCM_SHA256)
		b.AddUint8(0)
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint16(43) // supported_versions
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(0x0304) })
			b.AddUint16(51) // key_share
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint16(uint16(group))
				if share != nil {
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(share) })
				}
			})
			if cookie != nil {
				b.AddUint16(44)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(cookie) })
				})
			}
		})
	})
	msg := b.BytesOrPanic()
	rec, err := wire.EncodeRecords(wire.ContentHandshake, 0x0303, msg, nil)
	if err != nil {
		panic(err)
	}
	return rec
}

var fatalHandshakeFailure = []byte{21, 3, 3, 0, 2, 2, 40}

// fakeTLS13 answers ClientHellos with respond(ch, second) and records every
// ClientHello it sees.
type fakeTLS13 struct {
	mu      sync.Mutex
	hellos  []*wire.ClientHello
	respond func(ch *wire.ClientHello, second bool) []byte
}

// readClientHello reads one message from r and parses it as a ClientHello;
// nil when the peer sent anything else or hung up.
func readClientHello(r *wire.Reader) *wire.ClientHello {
	m, err := r.ReadMessage()
	if err != nil || m.ContentType != wire.ContentHandshake {
		return nil
	}
	ch, err := wire.ParseClientHello(m.Data)
	if err != nil {
		return nil
	}
	return ch
}

func (f *fakeTLS13) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := wire.NewReader(c)
	for second := false; ; second = true {
		ch := readClientHello(r)
		if ch == nil {
			return
		}
		f.mu.Lock()
		f.hellos = append(f.hellos, ch)
		f.mu.Unlock()
		out := f.respond(ch, second)
		if out == nil {
			return
		}
		c.Write(out)
		if second {
			time.Sleep(50 * time.Millisecond)
			return
		}
	}
}

func TestHRRValidation(t *testing.T) {
	const cookie = "pqtls-test-cookie"
	offers := func(ch *wire.ClientHello, g tls.CurveID) bool { return slices.Contains(ch.SupportedGroups, g) }
	cases := []struct {
		name    string
		respond func(ch *wire.ClientHello, second bool) []byte
		check   func(t *testing.T, r Result, f *fakeTLS13)
	}{
		{"hrr-for-unoffered-group", func(ch *wire.ClientHello, second bool) []byte {
			if second {
				return nil
			}
			return serverHello(true, ch, 0x1234, nil, nil)
		}, func(t *testing.T, r Result, f *fakeTLS13) {
			if len(r.Groups) != 0 || !noted(r, "not counted") {
				t.Errorf("an HRR selecting a group we did not offer counted as support: %v notes %v", r.GroupNames(), r.Notes)
			}
		}},
		{"serverhello-without-hrr-random", func(ch *wire.ClientHello, second bool) []byte {
			if second || len(ch.KeyShares) > 0 {
				return fatalHandshakeFailure
			}
			// A ServerHello (normal random) "selecting" x25519 with a
			// share although the client sent none.
			return serverHello(false, ch, tls.X25519, make([]byte, 32), nil)
		}, func(t *testing.T, r Result, f *fakeTLS13) {
			if len(r.Groups) != 0 {
				t.Errorf("a ServerHello without the HRR random counted as support: %v", r.GroupNames())
			}
		}},
		{"cookie", func(ch *wire.ClientHello, second bool) []byte {
			if !offers(ch, 0x0201) {
				return fatalHandshakeFailure
			}
			if !second {
				return serverHello(true, ch, 0x0201, nil, []byte(cookie))
			}
			if string(ch.Cookie) != cookie || len(ch.KeyShares) != 1 || ch.KeyShares[0].Group != 0x0201 {
				return fatalHandshakeFailure
			}
			return serverHello(false, ch, 0x0201, make([]byte, 1088), nil)
		}, func(t *testing.T, r Result, f *fakeTLS13) {
			if !slices.Equal(r.GroupNames(), []string{"MLKEM768"}) || r.Groups[0].Confirmed == nil || !*r.Groups[0].Confirmed {
				t.Fatalf("MLKEM768 behind a cookie: groups %v %+v", r.GroupNames(), r.Groups)
			}
			echoed := 0
			for _, h := range f.hellos {
				if string(h.Cookie) == cookie {
					echoed++
					if len(h.KeyShares) != 1 || len(h.KeyShares[0].Data) != 1184 || !slices.Contains(h.Extensions, 45) {
						t.Errorf("second ClientHello: shares %v, extensions %v", h.KeyShareGroups(), h.Extensions)
					}
				}
			}
			if echoed == 0 {
				t.Errorf("cookie never echoed")
			}
			if r.Verdict != VerdictPQCapable {
				t.Errorf("verdict %s", r.Verdict)
			}
		}},
		{"kyber-draft-only", func(ch *wire.ClientHello, second bool) []byte {
			switch {
			case !offers(ch, 0x6399):
				return fatalHandshakeFailure
			case !second && !slices.Contains(ch.KeyShareGroups(), 0x6399):
				return serverHello(true, ch, 0x6399, nil, nil)
			case len(ch.KeyShares) == 1 && ch.KeyShares[0].Group == 0x6399:
				return serverHello(false, ch, 0x6399, make([]byte, 1120), nil)
			}
			return fatalHandshakeFailure
		}, func(t *testing.T, r Result, f *fakeTLS13) {
			if r.Verdict != VerdictClassical || !slices.Equal(r.GroupNames(), []string{"X25519Kyber768Draft00"}) || !noted(r, "obsolete pre-standard Kyber draft") {
				t.Errorf("draft-only server: %s groups %v notes %v", r.Verdict, r.GroupNames(), r.Notes)
			}
			if conds, _ := ParseFailOn("draft"); len(conds) == 1 {
				if off, _ := Offenders([]Result{r}, conds); len(off) != 1 {
					t.Errorf("--fail-on draft does not match a draft-only server")
				}
			}
		}},
		{"mlkem-share-wrong-size", func(ch *wire.ClientHello, second bool) []byte {
			switch {
			case !offers(ch, 0x0201):
				return fatalHandshakeFailure
			case !second:
				return serverHello(true, ch, 0x0201, nil, nil)
			}
			return serverHello(false, ch, 0x0201, make([]byte, 32), nil) // ML-KEM-768 ciphertexts are 1088 bytes
		}, func(t *testing.T, r Result, f *fakeTLS13) {
			if len(r.Groups) != 1 || !r.Groups[0].Broken() || !strings.Contains(r.Groups[0].ConfirmError, "32 bytes, want 1088") {
				t.Errorf("a 32-byte ML-KEM-768 share confirmed the group: %+v", r.Groups)
			}
			if r.Verdict == VerdictPQCapable || r.Verdict == VerdictPQReady {
				t.Errorf("verdict %s from a group that cannot complete a key exchange", r.Verdict)
			}
		}},
		{"closes-on-default-client", func(ch *wire.ClientHello, second bool) []byte {
			switch {
			case !second && len(ch.KeyShares) > 0:
				return nil // a clean close, no alert
			case !offers(ch, 0x0201):
				return fatalHandshakeFailure
			case !second:
				return serverHello(true, ch, 0x0201, nil, nil)
			}
			return serverHello(false, ch, 0x0201, make([]byte, 1088), nil)
		}, func(t *testing.T, r Result, f *fakeTLS13) {
			if r.Verdict != VerdictPQCapable || !slices.Equal(r.GroupNames(), []string{"MLKEM768"}) || r.DefaultClient == nil || !strings.HasPrefix(r.DefaultClient.Error, "eof") {
				t.Errorf("server closing on the default hello: %s (%s) groups %v default %+v", r.Verdict, r.Reason, r.GroupNames(), r.DefaultClient)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeTLS13{respond: tc.respond}
			addr := listen(t, f.serve)
			r, err := ScanOne(context.Background(), target(t, addr), Options{Enumerate: true, Timeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			// Every ClientHello we sent must be valid for a real server:
			// key_share groups listed in supported_groups, psk modes with
			// TLS 1.3.
			for _, h := range f.hellos {
				for _, g := range h.KeyShareGroups() {
					if !slices.Contains(h.SupportedGroups, g) {
						t.Errorf("key share for %v not in supported_groups", g)
					}
				}
				// Our crafted hellos offer TLS 1.3 alone (Go's own default
				// client, which offers 1.3 and 1.2, omits the extension
				// without a session cache).
				if slices.Equal(h.SupportedVersions, []uint16{wire.VersionTLS13}) && len(h.PSKModes) == 0 {
					t.Errorf("TLS 1.3 ClientHello without psk_key_exchange_modes")
				}
			}
			tc.check(t, r, f)
		})
	}
}

// TestHRRThenHandshakeFails: a server (here a proxy in front of a
// classical-only server) that answers a key-share-less ClientHello with a
// HelloRetryRequest for X25519MLKEM768 but cannot complete a handshake with
// it must not be counted as supporting hybrid: the full handshake decides.
func TestHRRThenHandshakeFails(t *testing.T) {
	cert := newTestCert(t)
	backend := startPQTLSServer(t, cert, "classical", "", "")
	addr := listen(t, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		var buf bytesBuffer
		r := wire.NewReader(io.TeeReader(c, &buf))
		ch := readClientHello(r)
		if ch == nil {
			return
		}
		if len(ch.KeyShares) == 0 && slices.Contains(ch.SupportedGroups, tls.X25519MLKEM768) {
			c.Write(serverHello(true, ch, tls.X25519MLKEM768, nil, nil))
			time.Sleep(50 * time.Millisecond)
			return
		}
		b, err := net.Dial("tcp", backend)
		if err != nil {
			return
		}
		defer b.Close()
		b.Write(buf.Bytes())
		go func() {
			_, _ = io.Copy(b, c)
			b.Close() // the scanner hung up: end the backend side too
		}()
		_, _ = io.Copy(c, b)
	})
	r, err := ScanOne(context.Background(), target(t, addr), Options{Enumerate: true, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var g *GroupResult
	for i := range r.Groups {
		if r.Groups[i].ID == uint16(tls.X25519MLKEM768) {
			g = &r.Groups[i]
		}
	}
	if g == nil || !g.HelloRetry || g.Confirmed == nil || *g.Confirmed {
		t.Fatalf("X25519MLKEM768 should be listed as HRR'd but not confirmed: %+v", r.Groups)
	}
	if r.Verdict != VerdictClassical {
		t.Errorf("verdict %s (%s), want classical: the hybrid group never completes a handshake", r.Verdict, r.Reason)
	}
	if !noted(r, "X25519MLKEM768") {
		t.Errorf("no note about the broken hybrid group: %v", r.Notes)
	}
	if conds, _ := ParseFailOn("pq_capable"); len(conds) == 1 {
		if off, _ := Offenders([]Result{r}, conds); len(off) != 0 {
			t.Errorf("a broken hybrid group made the endpoint pq_capable")
		}
	}
	rep := NewReport([]Result{r}, Options{Enumerate: true}, "test", time.Now(), time.Second)
	if n := rep.Summary.Groups["X25519MLKEM768"]; n != 0 {
		t.Errorf("summary counts the broken group as accepted by %d endpoint(s)", n)
	}
	var table strings.Builder
	if err := WriteTable(&table, rep, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "X25519MLKEM768(broken)") {
		t.Errorf("table does not flag the broken group:\n%s", table.String())
	}
	var csvOut strings.Builder
	if err := WriteCSV(&csvOut, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(csvOut.String(), "X25519MLKEM768(broken)") {
		t.Errorf("CSV does not flag the broken group:\n%s", csvOut.String())
	}
	bom, err := json.Marshal(BuildCBOM(rep))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(string(bom)), "tls-group/x25519mlkem768") {
		t.Errorf("CBOM lists the broken group as an algorithm of the endpoint")
	}
}

type bytesBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (w *bytesBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *bytesBuffer) Bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.b)
}

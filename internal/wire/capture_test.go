package wire

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpeer"
)

// The fuzz seeds in testdata/fuzz/ are real first flights recorded by
// TestInteropWireCaptureSeeds from Go's crypto/tls and Node.js 26 (OpenSSL
// 3.5). They are written once, with
//
//	PQTLS_WIRE_WRITE_SEEDS=1 go test -run TestInteropWireCaptureSeeds ./internal/wire/
//
// and committed. Without the variable the test still records the flights and
// checks that every parser accepts them.

// teeConn records every byte read from the connection.
type teeConn struct {
	net.Conn
	buf bytes.Buffer
}

func (c *teeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.buf.Write(p[:n])
	return n, err
}

// serverFlight sends ch to addr and returns every byte the server sent
// within a short window after its first answer, and the exchange result.
func serverFlight(t *testing.T, addr string, ch *ClientHello) ([]byte, *ExchangeResult) {
	t.Helper()
	tc := &teeConn{Conn: dialTest(t, addr)}
	res, err := Exchange(t.Context(), tc, ch, ExchangeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome == OutcomeServerHello {
		// Read on to the end of the flight: the server then waits for us.
		tc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		for {
			if _, err := res.Reader.ReadMessage(); err != nil {
				break
			}
		}
	}
	return tc.buf.Bytes(), res
}

// clientFlight returns the ClientHello records a client sends to a raw
// listener; dial runs the client against the listener's address.
func clientFlight(t *testing.T, dial func(addr string)) []byte {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		tc := &teeConn{Conn: c}
		r := NewReader(tc)
		r.ReadMessage()
		got <- tc.buf.Bytes()
	}()
	dial(ln.Addr().String())
	b := <-got
	if len(b) == 0 {
		t.Fatal("no ClientHello captured")
	}
	return b
}

// messages splits a captured stream into its messages.
func messages(t *testing.T, stream []byte) []Message {
	t.Helper()
	r := NewReader(bytes.NewReader(stream))
	var out []Message
	for {
		m, err := r.ReadMessage()
		if err != nil {
			return out
		}
		out = append(out, m)
	}
}

type seed struct {
	target, name string
	args         []any
}

func writeSeeds(t *testing.T, seeds []seed) {
	if os.Getenv("PQTLS_WIRE_WRITE_SEEDS") != "1" {
		return
	}
	for _, s := range seeds {
		var b bytes.Buffer
		b.WriteString("go test fuzz v1\n")
		for _, a := range s.args {
			switch v := a.(type) {
			case []byte:
				fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(v)))
			case uint16:
				fmt.Fprintf(&b, "uint16(%d)\n", v)
			}
		}
		dir := filepath.Join("testdata", "fuzz", s.target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, s.name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %d seed files under testdata/fuzz", len(seeds))
}

func TestInteropWireCaptureSeeds(t *testing.T) {
	testpeer.Require(t, testpeer.PeerNode)
	var seeds []seed
	addFlight := func(name string, flight []byte) {
		seeds = append(seeds, seed{"FuzzRecordReader", name, []any{flight}})
		for _, m := range messages(t, flight) {
			switch {
			case m.ContentType == ContentAlert:
				if _, err := ParseAlert(m.Data); err != nil {
					t.Errorf("%s: alert: %v", name, err)
				}
				seeds = append(seeds, seed{"FuzzParseAlert", name, []any{m.Data}})
			case m.HandshakeType == TypeServerHello:
				if _, err := ParseServerHello(m.Data); err != nil {
					t.Errorf("%s: %v", name, err)
				}
				seeds = append(seeds, seed{"FuzzParseServerHello", name, []any{m.Data}})
			case m.HandshakeType == TypeClientHello:
				if _, err := ParseClientHello(m.Data); err != nil {
					t.Errorf("%s: %v", name, err)
				}
				seeds = append(seeds, seed{"FuzzParseClientHello", name, []any{m.Data}})
			case m.ContentType == ContentHandshake && m.HandshakeType == TypeCertificate && m.RecordVersion == VersionTLS12:
				if _, err := ParseCertificateChain12(m.Data); err != nil {
					t.Errorf("%s: %v", name, err)
				}
				seeds = append(seeds, seed{"FuzzParseCertificate12", name, []any{m.Data}})
			case m.ContentType == ContentHandshake && m.HandshakeType == TypeServerKeyExchange:
				if _, err := ParseServerKeyExchangeECDHE(m.Data, VersionTLS12); err != nil {
					t.Errorf("%s: %v", name, err)
				}
				seeds = append(seeds, seed{"FuzzParseServerKeyExchange", name, []any{m.Data, VersionTLS12}})
			}
		}
	}
	hello := func(groups, shares []tls.CurveID) *ClientHello {
		ch := NewClientHello13("localhost")
		ch.SupportedGroups = groups
		ch.KeyShares = mustShares(t, shares...)
		return ch
	}

	// Servers: Go crypto/tls and Node.js 26.
	goSrv := startGoServer(t, &tls.Config{})
	f, res := serverFlight(t, goSrv.addr, hello([]tls.CurveID{tls.X25519MLKEM768, tls.X25519}, []tls.CurveID{tls.X25519MLKEM768, tls.X25519}))
	wantSH(t, res, tls.X25519MLKEM768)
	addFlight("go-server-x25519mlkem768", f)
	f, res = serverFlight(t, goSrv.addr, hello([]tls.CurveID{tls.X25519, tls.SecP384r1MLKEM1024}, []tls.CurveID{tls.X25519}))
	wantHRR(t, res, tls.SecP384r1MLKEM1024)
	addFlight("go-server-hrr-secp384r1mlkem1024", f)
	go12 := startGoServer(t, &tls.Config{MaxVersion: tls.VersionTLS12})
	ch12 := NewClientHello12("localhost")
	ch12.SupportedGroups = []tls.CurveID{tls.CurveP256}
	f, res = serverFlight(t, go12.addr, ch12)
	if res.Outcome != OutcomeServerHello {
		t.Fatalf("go TLS 1.2: %s", res.Outcome)
	}
	addFlight("go-server-tls12", f)

	nodeDefault := nodeServer(t, "", "")
	f, res = serverFlight(t, nodeDefault, hello([]tls.CurveID{tls.X25519MLKEM768, tls.X25519}, []tls.CurveID{tls.X25519MLKEM768, tls.X25519}))
	wantSH(t, res, tls.X25519MLKEM768)
	addFlight("node-server-x25519mlkem768", f)
	nodeMLKEM := nodeServer(t, "MLKEM768", "")
	f, res = serverFlight(t, nodeMLKEM, hello([]tls.CurveID{0x0201}, nil))
	wantHRR(t, res, 0x0201)
	addFlight("node-server-hrr-mlkem768", f)
	f, res = serverFlight(t, nodeMLKEM, hello([]tls.CurveID{tls.X25519}, []tls.CurveID{tls.X25519}))
	if res.Outcome != OutcomeAlert {
		t.Fatalf("node MLKEM768-only with X25519: %s", res.Outcome)
	}
	addFlight("node-server-alert-handshake-failure", f)
	node12 := nodeServer(t, "P-256", "TLSv1.2")
	f, res = serverFlight(t, node12, ch12)
	if res.Outcome != OutcomeServerHello {
		t.Fatalf("node TLS 1.2: %s", res.Outcome)
	}
	addFlight("node-server-tls12", f)

	// Clients: Go's default crypto/tls client and Node.js 26.
	addFlight("go-client-default", clientFlight(t, func(addr string) {
		c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "localhost", NextProtos: []string{"h2"}})
		if err == nil {
			c.Close()
		}
	}))
	addFlight("node-client-default", clientFlight(t, func(addr string) { nodeClientHello(t, addr, "") }))
	// Our own hybrid hello split over records, padded to 4 KB.
	ours := hello([]tls.CurveID{tls.X25519MLKEM768, tls.X25519}, []tls.CurveID{tls.X25519MLKEM768, tls.X25519})
	ours.PadTo = 4096
	recs, err := ours.MarshalRecords(100, 1000)
	if err != nil {
		t.Fatal(err)
	}
	addFlight("pqtls-client-padded-fragmented", recs)

	want := map[string]bool{}
	for _, s := range seeds {
		want[s.target] = true
	}
	for _, target := range []string{"FuzzRecordReader", "FuzzParseAlert", "FuzzParseServerHello", "FuzzParseClientHello", "FuzzParseCertificate12", "FuzzParseServerKeyExchange"} {
		if !want[target] {
			t.Errorf("no seed captured for %s", target)
		}
	}
	writeSeeds(t, seeds)
}

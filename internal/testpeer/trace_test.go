package testpeer

import (
	"crypto/tls"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestOpenSSLTrace parses a real Node 26 server trace (testdata): a TLS 1.3
// handshake with a HelloRetryRequest to P-256, then a TLS 1.2 handshake on
// X25519 (ServerKeyExchange), plus a non-trace line.
func TestOpenSSLTrace(t *testing.T) {
	tr := newOpenSSLTrace()
	tr.consume(strings.NewReader(readTestdata(t, "openssl-trace-hrr-tls12.txt") + "node: some warning\n"))

	hrr, err := tr.wait("fe987513fac0c03304e6dac0ff333d3282cf12775fc458ea2dbe40df8fd2835b", 0)
	if err != nil {
		t.Fatal(err)
	}
	if hrr.group != tls.CurveP256 || hrr.groupName != "secp256r1 (P-256)" || hrr.serverHello != 2 {
		t.Errorf("HRR handshake: %+v", hrr)
	}
	if !slices.Equal(hrr.keyShares, []tls.CurveID{tls.X25519MLKEM768}) {
		t.Errorf("first key shares %v", hrr.keyShares)
	}
	if len(hrr.offered) == 0 || !slices.Contains(hrr.offered, tls.CurveP256) {
		t.Errorf("offered %v", hrr.offered)
	}
	t12, err := tr.wait("855488f848318ffe6e151f27b17659ffd4c0728be4f2b1e432e4b75e40484346", 0)
	if err != nil {
		t.Fatal(err)
	}
	if t12.group != tls.X25519 || t12.serverHello != 1 {
		t.Errorf("TLS 1.2 handshake: %+v", t12)
	}
	if last, err := tr.last(0); err != nil || last.group != tls.X25519 {
		t.Errorf("last: %+v %v", last, err)
	}
	if _, err := tr.wait("00", 0); err == nil {
		t.Error("unknown random found")
	}
	if got := tr.other.String(); got != "node: some warning\n" {
		t.Errorf("non-trace output %q", got)
	}
}

func TestParseAlert(t *testing.T) {
	n, name := parseAlert("error:0A000410:SSL routines:ssl3_read_bytes:ssl/tls alert handshake failure:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:918:SSL alert number 40")
	if n != 40 || name != "handshake_failure" {
		t.Errorf("got %d %q", n, name)
	}
	if n, _ := parseAlert("ECONNRESET"); n != 0 {
		t.Errorf("got %d", n)
	}
	if AlertName(200) != "alert_200" {
		t.Error(AlertName(200))
	}
}

func TestRequireSkipsOrFails(t *testing.T) {
	if _, err := Find("no-such-peer"); err == nil {
		t.Fatal("unknown peer found")
	}
	t.Setenv("PQTLS_NODE", "/nonexistent/node")
	findMu.Lock()
	delete(findCache, PeerNode)
	findMu.Unlock()
	t.Cleanup(func() {
		findMu.Lock()
		delete(findCache, PeerNode)
		findMu.Unlock()
	})
	if _, err := NodePath(); err == nil || !strings.Contains(err.Error(), "PQTLS_NODE") {
		t.Errorf("NodePath: %v", err)
	}
	for _, required := range []string{"", "1"} {
		t.Setenv(EnvRequire, required)
		ft := &fakeTB{TB: t}
		func() {
			defer func() { _ = recover() }()
			Missing(ft, PeerNode, os.ErrNotExist)
		}()
		if required == "1" && (!ft.fataled || ft.skipped) {
			t.Errorf("%s=1: fatal %v skip %v", EnvRequire, ft.fataled, ft.skipped)
		}
		if required == "" && (ft.fataled || !ft.skipped) {
			t.Errorf("unset: fatal %v skip %v", ft.fataled, ft.skipped)
		}
		if !strings.Contains(ft.msg, "peer node missing: run scripts/test-deps.sh") {
			t.Errorf("message %q", ft.msg)
		}
	}
}

// fakeTB records Skip/Fatal instead of stopping the test.
type fakeTB struct {
	testing.TB
	skipped, fataled bool
	msg              string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skip(args ...any) {
	f.skipped = true
	f.msg = sprint(args...)
	panic("skip")
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fataled = true
	f.msg = sprintf(format, args...)
	panic("fatal")
}

func sprint(args ...any) string                 { return fmt.Sprint(args...) }
func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

package testpeer

import (
	"bufio"
	"context"
	"crypto/tls"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpki"
)

//go:embed node/server.js
var nodeServerJS []byte

//go:embed node/client.js
var nodeClientJS []byte

// NodeServerOptions configures [NodeServer]. The zero value is a TLS server
// with Node's default groups and a certificate for localhost/127.0.0.1/::1
// from a fresh CA (NodeServer.CA).
type NodeServerOptions struct {
	// Curves is Node's ecdhCurve: OpenSSL group names separated by ':', e.g.
	// "X25519MLKEM768:X25519", "SecP256r1MLKEM768", "MLKEM768", "P-256".
	// Empty means Node's default (X25519MLKEM768 first on Node 26).
	Curves string
	// MinVersion and MaxVersion are "TLSv1.2" or "TLSv1.3" (empty: Node's
	// defaults, TLS 1.2 to 1.3).
	MinVersion, MaxVersion string
	// Ciphers is Node's ciphers option (OpenSSL cipher list), optional.
	Ciphers string
	// Cert is the server certificate; nil issues one from a new CA.
	Cert *testpki.Cert
	// ClientCA, with RequestCert, verifies client certificates.
	ClientCA *testpki.CA
	// RequestCert asks the client for a certificate; with RejectUnauthorized
	// an absent or unverified certificate fails the handshake.
	RequestCert, RejectUnauthorized bool
	// ALPN protocols offered, e.g. []string{"h2", "http/1.1"}.
	ALPN []string
	// Response is written to each client after the handshake, then the
	// server closes the connection. Empty means "hello from node\n".
	Response string
	// Echo makes the server echo everything it receives instead (a TLS echo
	// backend, e.g. behind a tunnel); it closes when the client does.
	Echo bool
}

// NodeServerPeer is a running Node.js TLS server.
type NodeServerPeer struct {
	// Addr is "127.0.0.1:port".
	Addr string
	// Port is the TCP port.
	Port int
	// CA issued the server certificate (verify with CA.Pool()).
	CA *testpki.CA
	// Cert is the server certificate.
	Cert *testpki.Cert
	// Proc is the node process.
	Proc *Proc

	trace  *opensslTrace
	events chan NodeEvent
	mu     sync.Mutex
	seen   []NodeEvent
}

// NodeEvent is what the Node server saw for one connection.
type NodeEvent struct {
	// Event is "handshake" (success) or "error" (tlsClientError: the
	// handshake failed on the server side).
	Event string `json:"event"`
	// Seq numbers connections from 1.
	Seq int `json:"seq"`
	// Group is the negotiated group as OpenSSL names it ("X25519MLKEM768",
	// "ecdh_x25519", "secp256r1 (P-256)"); use GroupID for comparisons.
	Group string `json:"group"`
	// GroupID is the negotiated group's codepoint (from the ServerHello, or
	// the ServerKeyExchange in TLS 1.2).
	GroupID tls.CurveID `json:"groupID"`
	// HelloRetry reports that the server sent a HelloRetryRequest.
	HelloRetry bool `json:"helloRetry"`
	// Offered is the client's supported_groups list as the server saw it.
	Offered []tls.CurveID `json:"offered"`
	// KeyShares are the groups of the client's first key_share.
	KeyShares []tls.CurveID `json:"keyShares"`
	// Protocol is "TLSv1.3" or "TLSv1.2".
	Protocol string `json:"protocol"`
	// Cipher is the IANA cipher suite name.
	Cipher string `json:"cipher"`
	// ALPN is the negotiated protocol.
	ALPN string `json:"alpn"`
	// ServerName is the SNI the client sent.
	ServerName string `json:"servername"`
	// Authorized reports that a client certificate was verified.
	Authorized bool `json:"authorized"`
	// AuthorizationError explains why it was not.
	AuthorizationError string `json:"authorizationError"`
	// PeerCN is the client certificate's subject CN.
	PeerCN string `json:"peerCN"`
	// Resumed reports session resumption.
	Resumed bool `json:"resumed"`
	// Error and Code describe a failed handshake (Event "error").
	Error string `json:"message"`
	Code  string `json:"code"`
	// Alert is the TLS alert number in the error, if any (40 =
	// handshake_failure, 42 = bad_certificate, ...); AlertDescription is its
	// name.
	Alert            int    `json:"alert"`
	AlertDescription string `json:"alertDescription"`

	ClientRandom string `json:"clientRandom"`
}

// NodeServer starts a Node.js 26 TLS server on 127.0.0.1 and waits until it
// listens. It skips (or fails, with PQTLS_REQUIRE_PEERS=1) when Node 26 is
// missing. The server runs until the test ends.
func NodeServer(tb testing.TB, opts NodeServerOptions) *NodeServerPeer {
	tb.Helper()
	Require(tb, PeerNode)
	node, _ := Find(PeerNode)
	dir := tb.TempDir()
	s := &NodeServerPeer{trace: newOpenSSLTrace(), events: make(chan NodeEvent, 1024)}
	s.CA, s.Cert = serverCert(tb, opts.Cert)
	cfg := map[string]any{
		"key": string(s.Cert.KeyPEM), "cert": string(s.Cert.CertPEM),
		"curves": opts.Curves, "minVersion": opts.MinVersion, "maxVersion": opts.MaxVersion,
		"ciphers": opts.Ciphers, "requestCert": opts.RequestCert,
		"rejectUnauthorized": opts.RejectUnauthorized, "alpn": opts.ALPN,
	}
	if opts.ClientCA != nil {
		cfg["ca"] = string(opts.ClientCA.CertPEM)
	}
	if opts.Response != "" {
		cfg["response"] = opts.Response
	}
	cfg["echo"] = opts.Echo
	script := writeJSFiles(tb, dir, "server.js", nodeServerJS, cfg)

	stdoutR, stdoutW := io.Pipe()
	stderrR, stderrW := io.Pipe()
	s.Proc = start(tb, "node server", procOptions{stdout: stdoutW, stderr: stderrW, stderrOnly: true, dir: dir}, node, script, filepath.Join(dir, "config.json"))
	go func() { <-s.Proc.Done(); stdoutW.Close(); stderrW.Close() }()
	go s.trace.consume(stderrR)
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("testpeer: node server stderr (without OpenSSL trace):\n%s", s.trace.other.String())
		}
	})
	listening := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdoutR)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var ev NodeEvent
			var raw struct {
				Port int `json:"port"`
			}
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				continue
			}
			_ = json.Unmarshal(sc.Bytes(), &raw)
			switch ev.Event {
			case "listening":
				listening <- raw.Port
				continue
			case "handshake":
				if h, err := s.trace.wait(ev.ClientRandom, 5*time.Second); err == nil {
					ev.Group, ev.GroupID, ev.HelloRetry = h.groupName, h.group, h.serverHello > 1
					ev.Offered, ev.KeyShares = h.offered, h.keyShares
				}
			case "error":
				ev.Alert, ev.AlertDescription = parseAlert(ev.Error)
			default:
				continue
			}
			select {
			case s.events <- ev:
			default: // nobody reads; keep the newest in seen only
			}
			s.mu.Lock()
			s.seen = append(s.seen, ev)
			s.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, stdoutR)
	}()
	select {
	case s.Port = <-listening:
	case <-s.Proc.Done():
		tb.Fatalf("testpeer: node server exited before listening: %v\n%s%s", s.Proc.waitErr, s.Proc.Output(), s.trace.other.String())
	case <-time.After(StartTimeout):
		tb.Fatalf("testpeer: node server did not listen within %v\n%s%s", StartTimeout, s.Proc.Output(), s.trace.other.String())
	}
	s.Addr = hostPort(s.Port)
	return s
}

// Next returns the next connection event, failing the test if none arrives
// within 10 seconds.
func (s *NodeServerPeer) Next(tb testing.TB) NodeEvent {
	tb.Helper()
	ev, err := s.NextEvent(10 * time.Second)
	if err != nil {
		tb.Fatalf("testpeer: %v", err)
	}
	return ev
}

// NextEvent returns the next connection event, or an error after timeout.
func (s *NodeServerPeer) NextEvent(timeout time.Duration) (NodeEvent, error) {
	select {
	case ev := <-s.events:
		return ev, nil
	case <-s.Proc.Done():
		select {
		case ev := <-s.events:
			return ev, nil
		default:
		}
		return NodeEvent{}, fmt.Errorf("node server exited: %v", s.Proc.waitErr)
	case <-time.After(timeout):
		return NodeEvent{}, fmt.Errorf("node server reported no connection within %v", timeout)
	}
}

// Events returns every event so far (including ones already read by Next).
func (s *NodeServerPeer) Events() []NodeEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]NodeEvent(nil), s.seen...)
}

// NodeClientOptions configures [NodeClient].
type NodeClientOptions struct {
	// Curves is Node's ecdhCurve (see NodeServerOptions.Curves).
	Curves string
	// ServerName is the SNI and the name verified; default "localhost".
	ServerName string
	// CA verifies the server; nil with Insecure unset is an error (pass
	// Insecure: true to skip verification).
	CA *testpki.CA
	// Insecure disables server certificate verification.
	Insecure bool
	// Cert is a client certificate to present, optional.
	Cert *testpki.Cert
	// MinVersion and MaxVersion: "TLSv1.2" or "TLSv1.3".
	MinVersion, MaxVersion string
	// ALPN protocols to offer.
	ALPN []string
	// Send is written after the handshake, optional.
	Send string
	// ReadTimeout is how long to wait for the server's first bytes after
	// the handshake (default 2s). A TLS 1.3 server's rejection of a client
	// certificate arrives in that window.
	ReadTimeout time.Duration
}

// NodeResult is what the Node client saw.
type NodeResult struct {
	// Connected reports that the handshake completed on the client side.
	Connected bool `json:"connected"`
	// Group is Node's name for the negotiated group (getEphemeralKeyInfo):
	// "X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024",
	// "MLKEM768" (type "TLSGroup"), or "X25519", "prime256v1" (type "ECDH").
	Group string `json:"group"`
	// GroupType is getEphemeralKeyInfo().type: "TLSGroup" or "ECDH".
	GroupType string `json:"groupType"`
	// GroupID is the codepoint from the ServerHello in the OpenSSL trace.
	GroupID tls.CurveID `json:"groupID"`
	// HelloRetry reports that the server sent a HelloRetryRequest.
	HelloRetry bool `json:"helloRetry"`
	// Protocol is "TLSv1.3" or "TLSv1.2".
	Protocol string `json:"protocol"`
	// Cipher is the IANA cipher suite name.
	Cipher string `json:"cipher"`
	// ALPN is the negotiated protocol.
	ALPN string `json:"alpn"`
	// Authorized reports that the server certificate verified.
	Authorized bool `json:"authorized"`
	// AuthorizationError explains why not (with Insecure).
	AuthorizationError string `json:"authorizationError"`
	// Response is the first bytes the server sent.
	Response string `json:"response"`
	// Error and Code describe a failure (handshake or after).
	Error string `json:"error"`
	Code  string `json:"code"`
	// Alert is the TLS alert number received, if any; AlertDescription its
	// name ("handshake_failure").
	Alert            int    `json:"alert"`
	AlertDescription string `json:"alertDescription"`
	// Stderr is Node's output that is not OpenSSL trace.
	Stderr string `json:"-"`
}

// NodeClient connects once from Node.js 26 to addr and reports what Node saw.
// A failed handshake is a result (Error, Alert), not a test failure; the
// test fails only if Node cannot run. Deadline: 30 s.
func NodeClient(tb testing.TB, addr string, opts NodeClientOptions) NodeResult {
	tb.Helper()
	Require(tb, PeerNode)
	node, _ := Find(PeerNode)
	host, port, err := splitHostPort(addr)
	if err != nil {
		tb.Fatalf("testpeer: NodeClient address %q: %v", addr, err)
	}
	if opts.CA == nil && !opts.Insecure {
		tb.Fatalf("testpeer: NodeClient needs CA or Insecure: true")
	}
	sn := opts.ServerName
	if sn == "" {
		sn = "localhost"
	}
	rt := opts.ReadTimeout
	if rt == 0 {
		rt = 2 * time.Second
	}
	cfg := map[string]any{
		"host": host, "port": port, "servername": sn, "insecure": opts.Insecure,
		"curves": opts.Curves, "minVersion": opts.MinVersion, "maxVersion": opts.MaxVersion,
		"alpn": opts.ALPN, "send": opts.Send, "readTimeoutMs": rt.Milliseconds(), "timeoutMs": 10000,
	}
	if opts.CA != nil {
		cfg["ca"] = string(opts.CA.CertPEM)
	}
	if opts.Cert != nil {
		cfg["cert"], cfg["key"] = string(opts.Cert.CertPEM), string(opts.Cert.KeyPEM)
	}
	dir := tb.TempDir()
	script := writeJSFiles(tb, dir, "client.js", nodeClientJS, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr := newOpenSSLTrace()
	pr, pw := io.Pipe()
	consumed := make(chan struct{})
	go func() { tr.consume(pr); close(consumed) }()
	out, err := runCtxStderr(ctx, pw, node, script, filepath.Join(dir, "config.json"))
	pw.Close()
	<-consumed
	if err != nil {
		tb.Fatalf("testpeer: node client: %v\n%s", err, tr.other.String())
	}
	var res NodeResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		tb.Fatalf("testpeer: node client printed %q: %v\n%s", out, err, tr.other.String())
	}
	res.Stderr = tr.other.String()
	if h, err := tr.last(0); err == nil {
		res.GroupID, res.HelloRetry = h.group, h.serverHello > 1
	}
	res.Alert, res.AlertDescription = parseAlert(res.Error)
	return res
}

func writeJSFiles(tb testing.TB, dir, name string, js []byte, cfg map[string]any) string {
	tb.Helper()
	data, err := json.Marshal(cfg)
	if err != nil {
		tb.Fatalf("testpeer: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		tb.Fatalf("testpeer: %v", err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, js, 0o644); err != nil {
		tb.Fatalf("testpeer: %v", err)
	}
	return p
}

var reAlert = regexp.MustCompile(`alert number (\d+)`)

// parseAlert extracts "SSL alert number N" from an OpenSSL error message.
func parseAlert(msg string) (int, string) {
	m := reAlert.FindStringSubmatch(msg)
	if m == nil {
		return 0, ""
	}
	n, _ := strconv.Atoi(m[1])
	return n, AlertName(n)
}

// AlertName returns the RFC 8446 name of a TLS alert number.
func AlertName(n int) string {
	if s, ok := alertNames[n]; ok {
		return s
	}
	return "alert_" + strconv.Itoa(n)
}

var alertNames = map[int]string{
	0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 22: "record_overflow",
	40: "handshake_failure", 42: "bad_certificate", 43: "unsupported_certificate",
	44: "certificate_revoked", 45: "certificate_expired", 46: "certificate_unknown",
	47: "illegal_parameter", 48: "unknown_ca", 49: "access_denied", 50: "decode_error",
	51: "decrypt_error", 70: "protocol_version", 71: "insufficient_security",
	80: "internal_error", 86: "inappropriate_fallback", 90: "user_canceled",
	109: "missing_extension", 110: "unsupported_extension", 112: "unrecognized_name",
	113: "bad_certificate_status_response", 115: "unknown_psk_identity",
	116: "certificate_required", 120: "no_application_protocol",
}

package pqtls

import (
	"context"
	"crypto/tls"
	"errors"
	"log"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"
)

// Observer records handshakes: metrics, and one structured log line per
// handshake. The zero value (or a nil *Observer) records nothing. Listener,
// Dialer, pqgrpc and the tunnel all observe through it, so every pqtls
// component reports the same fields and labels.
type Observer struct {
	// Metrics receives the tls_handshake_* metrics. Nil records none.
	Metrics *Metrics
	// Logger receives one line per handshake: Info for a completed one, Warn
	// for a failed one. Nil logs nothing.
	Logger *slog.Logger
}

// Handshake runs conn's handshake under ctx, then records and logs it.
// Callers set any deadline through ctx.
func (o *Observer) Handshake(ctx context.Context, conn *tls.Conn, role Role) (tls.ConnectionState, error) {
	start := time.Now()
	// The context tells an instrumented configuration's hooks that this
	// handshake is recorded here, so they do not count it too.
	err := conn.HandshakeContext(ownedContext(ctx))
	d := time.Since(start)
	cs := conn.ConnectionState()
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		// HandshakeContext reports a context deadline; the metric reason is
		// the same as a socket timeout.
		err = &timeoutError{err}
	}
	o.Record(role, conn.RemoteAddr(), cs, d, err)
	return cs, err
}

type timeoutError struct{ err error }

func (e *timeoutError) Error() string   { return "handshake timeout: " + e.err.Error() }
func (e *timeoutError) Unwrap() error   { return e.err }
func (e *timeoutError) Reason() string  { return ReasonTimeout }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return false }

// Record records a handshake that was run elsewhere (for example by
// grpc-go's TLS credentials): err nil means it completed with state cs. An
// error the hooks of an instrumented configuration already recorded
// (RecordedByHook) is skipped.
func (o *Observer) Record(role Role, peer net.Addr, cs tls.ConnectionState, d time.Duration, err error) {
	if o == nil {
		return
	}
	peerStr := ""
	if peer != nil {
		peerStr = peer.String()
	}
	if err != nil {
		o.recordError(role, peerStr, cs.ServerName, d, err)
		return
	}
	o.Metrics.ObserveHandshake(role, cs, d)
	o.logHandshake(role, peerStr, cs, d, "")
}

// RecordError records a handshake failure that pqtls did not see: one
// reported by a database or broker driver, or by http.Server (see
// HTTPServerErrorLog). peer is the remote address, may be empty. Errors
// already recorded by an instrumented configuration's hooks are skipped.
func (o *Observer) RecordError(role Role, peer string, err error) {
	if o == nil || err == nil {
		return
	}
	o.recordError(role, peer, "", 0, err)
}

func (o *Observer) recordError(role Role, peer, sni string, d time.Duration, err error) {
	if RecordedByHook(err) {
		return
	}
	if t, ok := err.(textError); ok && strings.HasPrefix(string(t), "pqtls: ") {
		return // recorded by an instrumented configuration's hooks
	}
	var perr *PolicyError
	if sni == "" && errors.As(err, &perr) {
		// crypto/tls learns the SNI after GetConfigForClient, where
		// require mode refuses; the PolicyError kept it.
		sni = perr.ServerName
	}
	reason := ErrorReason(err)
	o.Metrics.ObserveReason(role, reason)
	if o.Logger != nil {
		o.Logger.LogAttrs(context.Background(), slog.LevelWarn, "tls handshake failed",
			slog.String("role", string(role)), slog.String("peer", peer), slog.String("sni", sni),
			slog.String("reason", reason), slog.Float64("duration_ms", ms(d)), slog.String("error", err.Error()))
	}
}

// recordHook records a handshake completed under an instrumented
// configuration's hooks: the duration (server only) goes to
// tls_handshake_hook_duration_seconds, not tls_handshake_duration_seconds.
func (o *Observer) recordHook(role Role, peer string, cs tls.ConnectionState, d time.Duration) {
	if o == nil {
		return
	}
	o.Metrics.ObserveHookHandshake(role, cs, d)
	o.logHandshake(role, peer, cs, d, "hook")
}

// recordHookError records an error decided in a hook and marks it recorded;
// with a nil Observer it returns err unchanged.
func (o *Observer) recordHookError(role Role, peer string, err error) error {
	if o == nil || err == nil || RecordedByHook(err) {
		return err
	}
	o.recordError(role, peer, "", 0, err)
	return &recordedError{err}
}

func (o *Observer) logHandshake(role Role, peer string, cs tls.ConnectionState, d time.Duration, timing string) {
	if o.Logger == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("role", string(role)), slog.String("peer", peer), slog.String("sni", cs.ServerName),
		slog.String("version", VersionName(cs.Version)), slog.String("group", GroupName(cs.CurveID)),
		slog.String("kind", string(GroupKind(cs.CurveID))), slog.Bool("hrr", cs.HelloRetryRequest),
		slog.String("cipher", tls.CipherSuiteName(cs.CipherSuite)), slog.String("alpn", cs.NegotiatedProtocol),
		slog.Bool("resumed", cs.DidResume), slog.Float64("duration_ms", ms(d)),
		slog.String("peer_identity", PeerIdentity(cs)),
	}
	if timing != "" {
		attrs = append(attrs, slog.String("timing", timing))
	}
	o.Logger.LogAttrs(context.Background(), slog.LevelInfo, "tls handshake", attrs...)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// PeerIdentity names the authenticated peer of a connection: its SPIFFE ID
// (the one spiffe:// URI SAN of its leaf certificate; an X.509-SVID has
// exactly one), else its first URI SAN, else the first DNS SAN, else the
// subject common name. A leaf with several SPIFFE IDs is ambiguous: none of
// its URIs is reported (the tunnel's ACL refuses such a certificate). It is
// empty when the peer sent no certificate.
func PeerIdentity(cs tls.ConnectionState) string {
	if len(cs.PeerCertificates) == 0 {
		return ""
	}
	leaf := cs.PeerCertificates[0]
	if id, ok := uriIdentity(leaf.URIs); ok {
		return id
	}
	if len(leaf.DNSNames) > 0 {
		return leaf.DNSNames[0]
	}
	return leaf.Subject.CommonName
}

// uriIdentity picks the identity among a leaf's URI SANs: the only SPIFFE
// ID, else the first URI; several SPIFFE IDs give none.
func uriIdentity(uris []*url.URL) (string, bool) {
	var spiffe []*url.URL
	for _, u := range uris {
		if strings.EqualFold(u.Scheme, "spiffe") {
			spiffe = append(spiffe, u)
		}
	}
	switch {
	case len(spiffe) == 1:
		return spiffe[0].String(), true
	case len(spiffe) > 1:
		return "", false
	case len(uris) > 0:
		return uris[0].String(), true
	}
	return "", false
}

// HTTPServerErrorLog returns a *log.Logger for http.Server.ErrorLog that
// counts the TLS handshake errors net/http reports ("http: TLS handshake
// error from ADDR: MSG") as tls_handshake_errors_total{role="server"} by
// reason, so ListenAndServeTLS users get the failures inside crypto/tls
// (alerts, certificate verification, timeouts) that no tls.Config hook
// sees. Errors an instrumented configuration's hooks already recorded are
// not counted again. Every line is also written to next (nil: discarded;
// net/http's default is the standard logger, log.Default()).
func (o *Observer) HTTPServerErrorLog(next *log.Logger) *log.Logger {
	return log.New(&httpErrorWriter{obs: o, next: next}, "", 0)
}

type httpErrorWriter struct {
	obs  *Observer
	next *log.Logger
}

const httpTLSErrorPrefix = "http: TLS handshake error from "

func (w *httpErrorWriter) Write(p []byte) (int, error) {
	line := strings.TrimRight(string(p), "\n")
	if rest, ok := strings.CutPrefix(line, httpTLSErrorPrefix); ok {
		// ADDR is host:port (IPv6 in brackets): the message follows the
		// first ": " after the port.
		if i := strings.Index(rest, ": "); i > 0 {
			w.obs.RecordError(RoleServer, rest[:i], textError(rest[i+2:]))
		}
	}
	if w.next != nil {
		_ = w.next.Output(2, line)
	}
	return len(p), nil
}

// textError is a handshake error known only by its text (a log line).
type textError string

func (e textError) Error() string { return string(e) }

// Reason classifies the text the way ErrorReason classifies the error.
func (e textError) Reason() string { return reasonFromText(string(e)) }

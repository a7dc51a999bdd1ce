package pqtls

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
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
	err := conn.HandshakeContext(ctx)
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
// grpc-go's TLS credentials): err nil means it completed with state cs.
func (o *Observer) Record(role Role, peer net.Addr, cs tls.ConnectionState, d time.Duration, err error) {
	if o == nil {
		return
	}
	peerStr := ""
	if peer != nil {
		peerStr = peer.String()
	}
	if err != nil {
		var perr *PolicyError
		if cs.ServerName == "" && errors.As(err, &perr) {
			// crypto/tls learns the SNI after GetConfigForClient, where
			// require mode refuses; the PolicyError kept it.
			cs.ServerName = perr.ServerName
		}
		reason := ErrorReason(err)
		o.Metrics.ObserveReason(role, reason)
		if o.Logger != nil {
			o.Logger.LogAttrs(context.Background(), slog.LevelWarn, "tls handshake failed",
				slog.String("role", string(role)), slog.String("peer", peerStr), slog.String("sni", cs.ServerName),
				slog.String("reason", reason), slog.Float64("duration_ms", ms(d)), slog.String("error", err.Error()))
		}
		return
	}
	o.Metrics.ObserveHandshake(role, cs, d)
	if o.Logger != nil {
		o.Logger.LogAttrs(context.Background(), slog.LevelInfo, "tls handshake",
			slog.String("role", string(role)), slog.String("peer", peerStr), slog.String("sni", cs.ServerName),
			slog.String("version", VersionName(cs.Version)), slog.String("group", GroupName(cs.CurveID)),
			slog.String("kind", string(GroupKind(cs.CurveID))), slog.Bool("hrr", cs.HelloRetryRequest),
			slog.String("cipher", tls.CipherSuiteName(cs.CipherSuite)), slog.String("alpn", cs.NegotiatedProtocol),
			slog.Bool("resumed", cs.DidResume), slog.Float64("duration_ms", ms(d)),
			slog.String("peer_identity", PeerIdentity(cs)))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// PeerIdentity names the authenticated peer of a connection: the first URI
// SAN of its leaf certificate (a SPIFFE ID), else the first DNS SAN, else the
// subject common name. It is empty when the peer sent no certificate.
func PeerIdentity(cs tls.ConnectionState) string {
	if len(cs.PeerCertificates) == 0 {
		return ""
	}
	leaf := cs.PeerCertificates[0]
	switch {
	case len(leaf.URIs) > 0:
		return leaf.URIs[0].String()
	case len(leaf.DNSNames) > 0:
		return leaf.DNSNames[0]
	}
	return leaf.Subject.CommonName
}

package pqtls

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"
)

// Dialer dials TLS connections with a deadline on the handshake, records
// each handshake (role=client), and, when its configuration offers hybrid
// groups only (policy require) and the server refuses them all, finds out
// what the server selects when offered classical groups and returns a
// *PolicyError that names it.
type Dialer struct {
	// Config is the client configuration, usually from ClientConfig. If
	// Config.ServerName is empty, the host part of the dialed address is used.
	Config *tls.Config
	// NetDialer dials the TCP connection. Nil uses a net.Dialer with a 10 s
	// timeout.
	NetDialer *net.Dialer
	// HandshakeTimeout bounds the handshake. Default 10 s. A deadline on the
	// context passed to DialContext applies too.
	HandshakeTimeout time.Duration
	// Observer receives metrics and log lines. Nil records nothing.
	Observer *Observer
	// NoDiagnose turns off the classical probe that a require-mode Dialer
	// makes after a refused handshake to name the server's group.
	NoDiagnose bool
}

// Dial connects to addr; see DialContext.
func (d *Dialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, addr)
}

// DialContext connects to addr and completes the TLS handshake. The returned
// net.Conn is a *tls.Conn.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	cfg, err := d.configFor(addr)
	if err != nil {
		return nil, err
	}
	raw, err := d.netDialer().DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	conn := tls.Client(raw, cfg)
	hctx, cancel := context.WithTimeout(ctx, d.handshakeTimeout())
	defer cancel()
	start := time.Now()
	err = conn.HandshakeContext(hctx)
	elapsed := time.Since(start)
	if err != nil {
		_ = raw.Close()
		if errors.Is(err, context.DeadlineExceeded) {
			err = &timeoutError{err}
		}
		err = d.diagnose(ctx, network, addr, cfg, err)
		d.Observer.Record(RoleClient, raw.RemoteAddr(), conn.ConnectionState(), elapsed, err)
		return nil, fmt.Errorf("tls handshake with %s: %w", addr, err)
	}
	if !Instrumented(cfg) { // else the configuration's hooks recorded it
		d.Observer.Record(RoleClient, raw.RemoteAddr(), conn.ConnectionState(), elapsed, nil)
	}
	return conn, nil
}

func (d *Dialer) configFor(addr string) (*tls.Config, error) {
	if d.Config == nil {
		return nil, errors.New("pqtls.Dialer has no Config: build one with pqtls.ClientConfig")
	}
	if d.Config.ServerName != "" || d.Config.InsecureSkipVerify {
		return d.Config, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w (use host:port)", addr, err)
	}
	cfg := d.Config.Clone()
	cfg.ServerName = host
	return cfg, nil
}

func (d *Dialer) netDialer() *net.Dialer {
	if d.NetDialer != nil {
		return d.NetDialer
	}
	return &net.Dialer{Timeout: DefaultHandshakeTimeout}
}

func (d *Dialer) handshakeTimeout() time.Duration {
	if d.HandshakeTimeout > 0 {
		return d.HandshakeTimeout
	}
	return DefaultHandshakeTimeout
}

// diagnose turns a refused hybrid-only handshake into a *PolicyError (a
// refused cnsa2 one into an *AuthPolicyError).
func (d *Dialer) diagnose(ctx context.Context, network, addr string, cfg *tls.Config, herr error) error {
	res := AsPolicyError(cfg, addr, herr)
	perr, ok := res.(*PolicyError)
	if !ok {
		return res // herr, or a cnsa2 *AuthPolicyError
	}
	if d.NoDiagnose {
		return perr
	}
	// Probe with every group Go supports to learn what the server selects
	// (another hybrid, or a classical group). The probe authenticates nothing
	// and sends no application data: it is closed as soon as the handshake
	// tells the group.
	probeCfg := &tls.Config{
		ServerName:         cfg.ServerName,
		InsecureSkipVerify: true, // diagnostic only; see above
		MinVersion:         tls.VersionTLS12,
		MaxVersion:         tls.VersionTLS13,
		CurvePreferences:   goGroups(),
		NextProtos:         cfg.NextProtos,
	}
	pctx, cancel := context.WithTimeout(ctx, d.handshakeTimeout())
	defer cancel()
	raw, err := d.netDialer().DialContext(pctx, network, addr)
	if err != nil {
		return perr
	}
	defer raw.Close()
	probe := tls.Client(raw, probeCfg)
	if err := probe.HandshakeContext(pctx); err != nil {
		return perr
	}
	if cs := probe.ConnectionState(); cs.CurveID != 0 {
		perr.Offered = []tls.CurveID{cs.CurveID}
	}
	return perr
}

// AsPolicyError returns a *PolicyError wrapping err when err is a client
// handshake failure that means "the server accepts none of the hybrid groups
// offered" and cfg offers hybrid groups only (policy require), or an
// *AuthPolicyError naming ML-KEM-1024 key exchange when cfg is a cnsa2
// configuration; otherwise it returns err unchanged. Dialer adds what the server selects; code that runs
// handshakes elsewhere (pqgrpc, a database driver) calls this directly, with
// the configuration it gave the driver and the address it dialed.
func AsPolicyError(cfg *tls.Config, peer string, err error) error {
	if err == nil || cfg == nil {
		return err
	}
	var perr *PolicyError
	var aerr *AuthPolicyError
	if errors.As(err, &perr) || errors.As(err, &aerr) {
		return err
	}
	if cerr := asCNSA2Refusal(cfg, peer, err); cerr != nil {
		return cerr
	}
	offered := cfg.CurvePreferences
	if len(offered) == 0 || slices.ContainsFunc(offered, func(id tls.CurveID) bool { return !IsHybrid(id) }) {
		return err
	}
	switch ErrorReason(err) {
	case "alert_handshake_failure", "alert_insufficient_security", "alert_illegal_parameter", ReasonNoSharedGroup, ReasonEOF, ReasonReset:
		return &PolicyError{Role: RoleClient, Peer: peer, ServerName: cfg.ServerName, Required: slices.Clone(offered), Err: err}
	}
	return err
}

// RefusedByPolicy reports whether err is a handshake refused by policy: an
// *AuthPolicyError (auth require-pq or cnsa2), or, over key exchange, a
// *PolicyError from any pqtls path (a require server refusing a
// classical client, a require Dialer, pqgrpc, AsPolicyError), a
// *RefusalError for no shared group, or, for a handshake a driver ran itself
// (pgx, lib/pq, go-redis), the alert a TLS 1.3 server sends when it shares
// no group with a hybrid-only client (handshake_failure or
// insufficient_security). Use it with a require configuration: with prefer
// or classical, those alerts can have other causes. The error's reason is
// then policy_classical_peer (AsPolicyError) or no_shared_group.
func RefusedByPolicy(err error) bool {
	if err == nil {
		return false
	}
	var perr *PolicyError
	var aerr *AuthPolicyError
	if errors.As(err, &perr) || errors.As(err, &aerr) {
		return true
	}
	switch ErrorReason(err) {
	case ReasonNoSharedGroup, "alert_handshake_failure", "alert_insufficient_security":
		return true
	}
	return false
}

// HTTPTransport returns a clone of http.DefaultTransport (its timeouts, pool
// sizes and ProxyFromEnvironment) whose TLS goes through pqtls:
//
//   - direct connections are dialed by a copy of the Dialer (policy, metrics
//     with duration, handshake timeout, diagnosis);
//   - through an http:// proxy (HTTPS_PROXY=http://...), net/http runs the
//     target handshake inside CONNECT itself, with TLSClientConfig: a clone
//     of the Dialer's Config, so the policy applies, and, when the Dialer has
//     an Observer, the configuration's hooks record it (completed handshakes
//     and pqtls's own refusals, without duration; see docs/LIBRARY.md);
//   - an https:// proxy is itself dialed by the Dialer (that handshake is
//     the proxy's), then the target handshake runs as above.
//
// ALPN is h2 and http/1.1 unless Config.NextProtos is set. The Dialer's
// Config is not modified. A Dialer without Config yields a transport whose
// requests fail with the same error DialContext returns.
//
// net/http keeps dialing after the request that started a dial is
// cancelled (the connection may serve a later request): that handshake ends
// on its own, and CloseIdleConnections cancels it (reason canceled).
func (d *Dialer) HTTPTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	dd := *d
	if d.Config != nil {
		cfg := d.Config.Clone()
		if cfg.NextProtos == nil {
			cfg.NextProtos = []string{"h2", "http/1.1"}
		}
		dd.Config = cfg
		t.TLSClientConfig = observeClient(cfg, d.Observer)
	}
	t.DialTLSContext = dd.DialContext
	t.ForceAttemptHTTP2 = true
	return t
}

// observeClient returns a clone of cfg whose VerifyConnection also records
// through obs, unless cfg already records or obs is nil.
func observeClient(cfg *tls.Config, obs *Observer) *tls.Config {
	c := cfg.Clone()
	if obs == nil || Instrumented(cfg) {
		return c
	}
	h := &clientHooks{next: cfg.VerifyConnection, obs: obs}
	c.VerifyConnection = h.verifyObserved
	return c
}

// goGroups returns every registered group Go's crypto/tls can negotiate.
func goGroups() []tls.CurveID {
	var out []tls.CurveID
	for _, g := range registry {
		if g.GoSupported {
			out = append(out, g.ID)
		}
	}
	return out
}

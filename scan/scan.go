// Package scan actively probes TLS endpoints for post-quantum readiness: the
// TLS versions they accept, every TLS 1.3 named group of the pqtls registry
// (found with crafted ClientHellos, internal/wire), the server's group
// preference, what a default modern client negotiates, TLS 1.2 ECDHE curves,
// the certificate chain, a verdict and a harvest-now-decrypt-later priority.
//
// ScanOne scans one endpoint and is the stable entry point for other
// packages (the exporter, the demo); ScanAll scans a fleet with bounded
// concurrency and returns results in input order.
package scan

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/starttls"
)

// Defaults of Options.
const (
	DefaultTimeout     = 5 * time.Second
	DefaultRetries     = 1
	DefaultConcurrency = 32
	DefaultPerHost     = 8
)

// Options configure a scan. The zero value scans with enumeration off; set
// Enumerate for the full group/version audit.
type Options struct {
	// Enumerate turns on crafted-ClientHello enumeration: TLS versions,
	// every TLS 1.3 group and the server's preference, TLS 1.2 curves, and a
	// confirming handshake per Go-supported group. Off, the scan is a single
	// default-client handshake (one connection): pq_ready is exact, but a
	// pq_capable server (hybrid supported, classical preferred) then shows
	// as classical.
	Enumerate bool
	// Exhaustive additionally offers every registry group on its own (one
	// connection each) to catch servers whose choice depends on the list.
	Exhaustive bool
	// Groups restricts the groups probed (nil: every group of
	// pqtls.Groups()).
	Groups []tls.CurveID
	// StartTLS overrides the target's preamble protocol ("" keeps the
	// target's, which defaults to auto by port).
	StartTLS Protocol
	// ServerName overrides the SNI (and the name the chain is verified for).
	ServerName string
	// RootCAs verifies the chain; nil uses the system roots. The scan never
	// fails on an unverifiable chain: it reports chain_verified=false.
	RootCAs *x509.CertPool
	// ClientCert is presented when the server asks for one (mTLS).
	ClientCert *tls.Certificate
	// ALPN is offered by the default-client probe (postgres-direct forces
	// "postgresql").
	ALPN []string
	// Timeout bounds each step (connect, preamble, handshake) of each
	// connection. Default DefaultTimeout.
	Timeout time.Duration
	// Retries is how many times the first connection is retried after a
	// timeout or reset (DefaultRetries when 0; negative disables).
	Retries int
	// DialContext dials TCP (nil: a net.Dialer).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Logger receives one debug line per probe (nil: discard).
	Logger *slog.Logger

	// Concurrency is the number of endpoints ScanAll scans at once
	// (DefaultConcurrency when 0).
	Concurrency int
	// PerHost bounds concurrent endpoint scans per IP address in ScanAll
	// (DefaultPerHost when 0; negative: unlimited).
	PerHost int
	// Progress, when set, is called by ScanAll after each endpoint, never
	// concurrently (keep it fast).
	Progress func(done, total int)
	// Now returns the time (tests); nil: time.Now.
	Now func() time.Time
}

func (o *Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultTimeout
}

func (o *Options) retries() int {
	switch {
	case o.Retries < 0:
		return 0
	case o.Retries == 0:
		return DefaultRetries
	}
	return o.Retries
}

// effective returns the preamble protocol (auto resolved by port) and the
// SNI that t is scanned with.
func (o *Options) effective(t Target) (Protocol, string) {
	proto, sni := t.StartTLS, t.ServerName
	if o.StartTLS != "" {
		proto = o.StartTLS
	}
	if o.ServerName != "" {
		sni = o.ServerName
	}
	return proto.Resolve(t.Port), sni
}

func (o *Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// prober runs the probes of one endpoint and counts its connections.
type prober struct {
	o     *Options
	t     Target
	proto Protocol
	sni   string
	addr  string
	conns int
	log   *slog.Logger
	// certRequested: a server asked for a client certificate (mTLS).
	certRequested bool
}

// dial opens a TCP connection and runs the preamble; the returned conn has
// a deadline of one timeout for the TLS step.
func (p *prober) dial(ctx context.Context) (net.Conn, error) {
	p.conns++
	to := p.o.timeout()
	dctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	var conn net.Conn
	var err error
	if p.o.DialContext != nil {
		conn, err = p.o.DialContext(dctx, "tcp", p.addr)
	} else {
		d := net.Dialer{}
		conn, err = d.DialContext(dctx, "tcp", p.addr)
	}
	if err != nil {
		return nil, &dialError{err: err}
	}
	if p.proto.HasPreamble() {
		pctx, cancel := context.WithTimeout(ctx, to)
		_, _, err := starttls.Negotiate(pctx, conn, p.proto, p.sni)
		cancel()
		if err != nil {
			conn.Close()
			return nil, err
		}
	}
	conn.SetDeadline(time.Now().Add(to))
	return conn, nil
}

// ScanOne scans one endpoint. It resolves t.Host when t.IP is empty (first
// address; use Resolve to scan every address). The error is non-nil only
// for a canceled context or unusable options; every network outcome is in
// Result.Verdict.
func ScanOne(ctx context.Context, t Target, opts Options) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if t.Port < 1 || t.Port > 65535 || t.Host == "" && t.IP == "" {
		return Result{}, fmt.Errorf("scan: target %q needs a host and a port 1-65535", t.Input)
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	start := now()
	res := Result{Target: t, ScannedAt: start.UTC(), Versions: []string{}, Groups: []GroupResult{}, ServerPreference: []string{}, TLS12Curves: []string{}, Certificates: []CertInfo{}, Notes: []string{}}
	if t.IP == "" {
		rs, err := Resolve(ctx, []Target{t}, nil)
		if err != nil {
			res.Verdict, res.Reason, res.Error = VerdictUnreachable, "dns", err.Error()
			res.CNSA2 = assessCNSA2(&res, opts.Enumerate, opts.Groups)
			res.Priority = Prioritize(&res)
			return res, nil
		}
		t = rs[0]
		res.Target = t
	}
	p := &prober{o: &opts, t: t, addr: t.Address(), log: opts.logger().With("target", t.Address())}
	p.proto, p.sni = opts.effective(t)
	res.Address, res.StartTLS = p.addr, p.proto

	p.run(ctx, &res)
	res.Connections = p.conns
	res.DurationMS = ms(now().Sub(start))
	if err := ctx.Err(); err != nil {
		// Interrupted mid-scan: what was found is kept for reference, but
		// a verdict from a half-done enumeration (a pq_capable server
		// showing as classical...) would be wrong.
		res.ProbeErrors = append(res.ProbeErrors, "scan interrupted ("+err.Error()+"): the results of this endpoint are incomplete")
		res.Verdict, res.Reason, res.Error = VerdictTimeout, pqtls.ReasonCanceled, err.Error()
		res.CNSA2 = assessCNSA2(&res, opts.Enumerate, opts.Groups)
		res.Priority = Prioritize(&res)
		return res, err
	}
	res.CNSA2 = assessCNSA2(&res, opts.Enumerate, opts.Groups)
	res.Priority = Prioritize(&res)
	return res, nil
}

// NoteClientCert is the note of an endpoint that asked for a client
// certificate when the scan had none.
const NoteClientCert = "the server asks for a client certificate (mTLS) and none was given: a server that requires one rejects this scanner after the handshake (it may log bad-certificate errors); the key exchange results stand; pass --cert and --key to scan as an allowed client"

func (p *prober) run(ctx context.Context, res *Result) {
	defer func() {
		if p.certRequested && p.o.ClientCert == nil {
			res.Notes = append(res.Notes, NoteClientCert)
		}
	}()
	// 1. A default modern client, retried on timeout/reset.
	var cs tls.ConnectionState
	var err error
	var d time.Duration
	for attempt := 0; ; attempt++ {
		cs, d, err = p.defaultHandshake(ctx)
		if err == nil || attempt >= p.o.retries() || ctx.Err() != nil {
			break
		}
		if v, _, final := classify(err); !final || v == VerdictUnreachable || v == VerdictNoTLS || v == VerdictNotTLS {
			break
		}
		p.log.Debug("retrying", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt+1) * 100 * time.Millisecond):
		}
	}
	if err != nil {
		v, reason, final := classify(err)
		if final && v == VerdictReset && p.o.Enumerate && ctx.Err() == nil {
			// Some servers close the connection on a ClientHello they do
			// not like (no shared group, old versions only) instead of
			// sending an alert: let the crafted probes decide.
			res.DefaultClient = &Handshake{Error: reason + ": " + err.Error()}
			p.enumerate(ctx, res)
			if len(res.Versions) > 0 {
				decide(res, true)
				return
			}
			res.DefaultClient = nil
			res.Groups, res.ServerPreference, res.TLS12Curves, res.Notes, res.GroupOrder = []GroupResult{}, []string{}, []string{}, []string{}, ""
		}
		if final {
			res.Verdict, res.Reason, res.Error = v, reason, err.Error()
			return
		}
		res.DefaultClient = &Handshake{Error: reason + ": " + err.Error()}
	} else {
		res.DefaultClient = handshakeOf(cs, d)
		res.Versions = appendVersion(res.Versions, cs.Version)
		res.Certificates = certInfos(cs.PeerCertificates)
		p.verifyChain(res, cs.PeerCertificates)
	}

	if p.o.Enumerate {
		p.enumerate(ctx, res)
	}
	decide(res, p.o.Enumerate)
}

// defaultHandshake is a Go crypto/tls client with default settings (its
// default groups, versions and suites).
func (p *prober) defaultHandshake(ctx context.Context) (tls.ConnectionState, time.Duration, error) {
	conn, err := p.dial(ctx)
	if err != nil {
		return tls.ConnectionState{}, 0, err
	}
	defer conn.Close()
	cfg := p.tlsConfig()
	return p.handshake(ctx, conn, cfg)
}

func (p *prober) tlsConfig() *tls.Config {
	cfg := &tls.Config{ServerName: p.sni, InsecureSkipVerify: true, NextProtos: p.o.ALPN}
	if alpn := p.proto.ALPN(); alpn != nil {
		cfg.NextProtos = alpn
	}
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		p.certRequested = true
		if p.o.ClientCert != nil {
			cert := *p.o.ClientCert
			return &cert, nil
		}
		return &tls.Certificate{}, nil // none: the handshake goes on, the server decides
	}
	return cfg
}

func (p *prober) handshake(ctx context.Context, conn net.Conn, cfg *tls.Config) (tls.ConnectionState, time.Duration, error) {
	c := tls.Client(conn, cfg)
	start := time.Now()
	hctx, cancel := context.WithTimeout(ctx, p.o.timeout())
	defer cancel()
	err := c.HandshakeContext(hctx)
	d := time.Since(start)
	if err != nil {
		p.log.Debug("handshake failed", "err", err)
		return tls.ConnectionState{}, d, err
	}
	return c.ConnectionState(), d, nil
}

func (p *prober) verifyChain(res *Result, certs []*x509.Certificate) {
	if len(certs) == 0 {
		res.VerifyError = "no certificate"
		return
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	name := p.sni
	if name == "" {
		name = p.t.IP
	}
	_, err := certs[0].Verify(x509.VerifyOptions{DNSName: name, Roots: p.o.RootCAs, Intermediates: inter})
	if err != nil {
		res.VerifyError = err.Error()
		return
	}
	res.ChainVerified = true
}

func appendVersion(vs []string, v uint16) []string {
	name := pqtls.VersionName(v)
	for _, x := range vs {
		if x == name {
			return vs
		}
	}
	return append(vs, name)
}

package exporter

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/starttls"
)

// Probe phases, the `phase` label of probe_tls_failure_info.
const (
	PhaseTarget    = "target"
	PhaseConnect   = "connect"
	PhaseStartTLS  = "starttls"
	PhaseHandshake = "handshake"
)

// Connect failure reasons (phase="connect"); handshake failures use
// pqtls.ErrorReason.
const (
	ReasonRefused     = "connection_refused"
	ReasonUnreachable = "unreachable"
	ReasonDNS         = "dns"
	// ReasonNoStartTLS (phase="starttls"): the server answered its protocol
	// but does not offer TLS.
	ReasonNoStartTLS = "no_starttls"
)

// Target failure reasons (phase="target").
const (
	// ReasonInvalid: the target is not host[:port].
	ReasonInvalid = "invalid"
	// ReasonNotAllowed: allowed_targets refuse the target; /probe answers
	// HTTP 403 instead of metrics.
	ReasonNotAllowed = "not_allowed"
)

// probeMetrics are the metrics of one probe, registered on the per-request
// registry.
type probeMetrics struct {
	version     *prometheus.GaugeVec
	group       *prometheus.GaugeVec
	cipher      *prometheus.GaugeVec
	pqReady     prometheus.Gauge
	hrr         prometheus.Gauge
	helloBytes  prometheus.Gauge
	certExpiry  prometheus.Gauge
	failure     *prometheus.GaugeVec
	supported   *prometheus.GaugeVec
	largeHello  prometheus.Gauge
	enumSeconds prometheus.Gauge
}

func newProbeMetrics(reg prometheus.Registerer) *probeMetrics {
	m := &probeMetrics{
		version: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "probe_tls_version_info", Help: "TLS version negotiated by the probing client (value 1).",
		}, []string{"version"}),
		group: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "probe_tls_group_info", Help: "Key-exchange group negotiated by the probing client (value 1).",
		}, []string{"group", "kind"}),
		cipher: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "probe_tls_cipher_info", Help: "Cipher suite negotiated by the probing client (value 1).",
		}, []string{"cipher"}),
		pqReady: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "probe_tls_pq_ready", Help: "1 if the negotiated group is post-quantum (hybrid or pure ML-KEM), else 0.",
		}),
		hrr: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "probe_tls_hello_retry", Help: "1 if the server answered the first ClientHello with a HelloRetryRequest.",
		}),
		helloBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "probe_tls_client_hello_bytes", Help: "Bytes of the probing client's first ClientHello flight on the wire (TLS records included).",
		}),
		certExpiry: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "probe_ssl_earliest_cert_expiry", Help: "Earliest NotAfter of the certificates the server presented, as a Unix timestamp.",
		}),
		failure: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "probe_tls_failure_info", Help: "Why the probe failed (value 1): phase and bounded reason.",
		}, []string{"phase", "reason"}),
		supported: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "probe_tls_group_supported", Help: "Enumeration: 1 for each group the server accepts (TLS 1.3 group or TLS 1.2 ECDHE curve), 0 for each enumerated group it refused.",
		}, []string{"group", "kind"}),
		largeHello: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "probe_tls_large_client_hello_ok", Help: "Enumeration: 1 if a ~1.5 KB hybrid ClientHello split over two TCP segments got a ServerHello.",
		}),
		enumSeconds: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "probe_tls_enumeration_duration_seconds", Help: "Enumeration: time spent enumerating groups and running the large ClientHello case.",
		}),
	}
	// The vectors are always present (empty when nothing to report); plain
	// gauges that only make sense after a handshake are registered by Probe
	// when they have a value.
	reg.MustRegister(m.version, m.group, m.cipher, m.pqReady, m.failure)
	return m
}

// Result is what one probe found. The handler turns it into metrics; tests
// read it directly.
type Result struct {
	Success bool
	// Phase and Reason say why the probe failed.
	Phase, Reason string
	// Refused is set when allowed_targets refused the target
	// (Reason ReasonNotAllowed).
	Refused *TargetRefusedError
	// Handshake fields, set when the server answered the handshake (even if
	// the certificate was then refused).
	Handshaked       bool
	Version          uint16
	Group            tls.CurveID
	Cipher           uint16
	HelloRetry       bool
	ClientHelloBytes int
	EarliestExpiry   time.Time
	// Enumeration fields, set when the module enumerates.
	Enumerated       bool
	Supported        map[tls.CurveID]bool
	LargeHelloOK     bool
	EnumerationError error
	EnumDuration     time.Duration
	// Certificates names the algorithms of the chain the probing client
	// received, leaf first; PQAuth is the enumeration's ML-DSA / CNSA 2.0
	// finding.
	Certificates []CertAlg
	PQAuth       PQAuth
}

// probeEnv is what a probe needs beyond its module: how names resolve,
// which allow-lists apply, and who enumerates groups.
type probeEnv struct {
	resolver  Resolver
	lists     []namedList
	enumerate Enumerator
}

func probeWith(ctx context.Context, target string, m *Module, env probeEnv, reg prometheus.Registerer, logger *slog.Logger) *Result {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	pm := newProbeMetrics(reg)
	res := probe(ctx, target, m, env, logger)
	if !res.Success {
		pm.failure.WithLabelValues(res.Phase, res.Reason).Set(1)
	}
	if res.Handshaked {
		pm.version.WithLabelValues(pqtls.VersionName(res.Version)).Set(1)
		pm.group.WithLabelValues(pqtls.GroupLabel(res.Group), string(pqtls.GroupKind(res.Group))).Set(1)
		pm.cipher.WithLabelValues(tls.CipherSuiteName(res.Cipher)).Set(1)
		reg.MustRegister(pm.hrr)
		pm.hrr.Set(b2f(res.HelloRetry))
		if !res.EarliestExpiry.IsZero() {
			reg.MustRegister(pm.certExpiry)
			pm.certExpiry.Set(float64(res.EarliestExpiry.Unix()))
		}
	}
	k := pqtls.GroupKind(res.Group)
	pm.pqReady.Set(b2f(res.Handshaked && (k == pqtls.KindHybrid || k == pqtls.KindPQ)))
	if res.ClientHelloBytes > 0 {
		reg.MustRegister(pm.helloBytes)
		pm.helloBytes.Set(float64(res.ClientHelloBytes))
	}
	// An enumeration that did not reach the server (refused connection,
	// failed STARTTLS, timeout) learnt nothing: a 0 would read as "group
	// refused" or "the path drops large hellos". One that did is reported
	// even when the default client failed (a pure ML-KEM server, an unknown
	// CA): it says what the server accepts.
	if res.Enumerated && res.EnumerationError == nil {
		reg.MustRegister(pm.supported, pm.largeHello, pm.enumSeconds)
		for _, id := range m.enumGroup {
			pm.supported.WithLabelValues(pqtls.GroupLabel(id), string(pqtls.GroupKind(id))).Set(b2f(res.Supported[id]))
		}
		pm.largeHello.Set(b2f(res.LargeHelloOK))
		pm.enumSeconds.Set(res.EnumDuration.Seconds())
	}
	recordPQAuth(reg, res)
	return res
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func probe(ctx context.Context, target string, m *Module, env probeEnv, logger *slog.Logger) *Result {
	res := &Result{}
	host, addr, err := splitTarget(target, m)
	if err != nil {
		res.Phase, res.Reason = PhaseTarget, ReasonInvalid
		logger.Error("invalid target", "target", target, "err", err)
		return res
	}
	ips, err := resolveTarget(ctx, env.resolver, host, env.lists)
	if err != nil {
		if errors.As(err, &res.Refused) {
			res.Phase, res.Reason = PhaseTarget, ReasonNotAllowed
			logger.Error("target not allowed", "target", target, "err", err)
			return res
		}
		res.Phase, res.Reason = PhaseConnect, ReasonDNS
		if ctx.Err() != nil {
			res.Reason = pqtls.ReasonTimeout
		}
		logger.Error("resolution failed", "target", target, "reason", res.Reason, "err", err)
		return res
	}
	_, port, _ := net.SplitHostPort(addr)
	dial := pinnedDialer{addrs: ips, port: parsePort(port)}
	serverName := m.ServerName
	if serverName == "" {
		serverName = host
	}
	logger.Info("probing", "target", target, "addresses", ips, "server_name", serverName, "starttls", m.StartTLS, "timeout", m.Timeout.String())

	var wg sync.WaitGroup
	if len(m.enumGroup) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			res.Supported, res.LargeHelloOK, res.PQAuth, res.EnumerationError = enumerate(ctx, env.enumerate, addr, dial, serverName, m, logger)
			res.EnumDuration = time.Since(start)
			res.Enumerated = true
		}()
	}
	defer wg.Wait()

	conn, phase, err := connect(ctx, dial, serverName, m)
	if err != nil {
		res.Phase, res.Reason = phase, connectReason(phase, err)
		logger.Error("connection failed", "phase", phase, "reason", res.Reason, "err", err)
		return res
	}
	defer conn.Close()
	logger.Info("connected", "local", conn.LocalAddr().String(), "remote", conn.RemoteAddr().String())

	cfg, err := m.clientConfig(serverName)
	if err != nil {
		res.Phase, res.Reason = PhaseHandshake, pqtls.ReasonOther
		logger.Error("building client config", "err", err)
		return res
	}
	var seen *tls.ConnectionState
	verify := cfg.VerifyConnection
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		seen = &cs
		if verify != nil {
			return verify(cs)
		}
		return nil
	}
	cc := &countingConn{Conn: conn}
	tc := tls.Client(cc, cfg)
	start := time.Now()
	err = tc.HandshakeContext(ctx)
	d := time.Since(start)
	res.ClientHelloBytes = cc.firstFlight
	if seen != nil {
		fillState(res, *seen)
	}
	if err != nil {
		if perr := pqtls.AsPolicyError(cfg, addr, err); perr != err {
			err = perr
		}
		if errors.Is(err, context.DeadlineExceeded) {
			res.Reason = pqtls.ReasonTimeout
		} else {
			res.Reason = pqtls.ErrorReason(err)
		}
		res.Phase = PhaseHandshake
		logger.Error("handshake failed", "reason", res.Reason, "duration_ms", d.Milliseconds(), "client_hello_bytes", cc.firstFlight, "err", err)
		return res
	}
	fillState(res, tc.ConnectionState())
	res.Success = true
	logger.Info("handshake", "version", pqtls.VersionName(res.Version), "group", pqtls.GroupName(res.Group),
		"kind", string(pqtls.GroupKind(res.Group)), "hrr", res.HelloRetry, "cipher", tls.CipherSuiteName(res.Cipher),
		"client_hello_bytes", res.ClientHelloBytes, "duration_ms", float64(d.Microseconds())/1000,
		"earliest_cert_expiry", res.EarliestExpiry.UTC().Format(time.RFC3339))
	_ = tc.Close()
	return res
}

func fillState(res *Result, cs tls.ConnectionState) {
	res.Handshaked = true
	res.Version = cs.Version
	res.Group = cs.CurveID
	res.Cipher = cs.CipherSuite
	res.HelloRetry = cs.HelloRetryRequest
	res.EarliestExpiry = time.Time{}
	res.Certificates = certAlgs(cs.PeerCertificates)
	for _, c := range cs.PeerCertificates {
		if res.EarliestExpiry.IsZero() || c.NotAfter.Before(res.EarliestExpiry) {
			res.EarliestExpiry = c.NotAfter
		}
	}
}

// splitTarget returns the host and host:port of a target. A target without a
// port gets the module's STARTTLS protocol's well-known port, else 443.
func splitTarget(target string, m *Module) (host, addr string, err error) {
	if target == "" {
		return "", "", errors.New("empty target: use host:port")
	}
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		// No port.
		host = target
		p := 443
		if dp, ok := m.proto.DefaultPort(); ok && m.proto != "" {
			p = dp
		}
		port = strconv.Itoa(p)
		if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
			host = host[1 : len(host)-1]
		}
	}
	if host == "" {
		return "", "", fmt.Errorf("target %q has no host: use host:port", target)
	}
	if strings.ContainsAny(host, "/ ?#@") {
		return "", "", fmt.Errorf("target %q is not host:port (no scheme or path): use host:port and the module's starttls for the protocol", target)
	}
	if n, perr := strconv.Atoi(port); perr != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("target %q: bad port %q", target, port)
	}
	return host, net.JoinHostPort(host, port), nil
}

// connect dials the checked addresses and runs the module's STARTTLS
// preamble (parsed at load time). The returned connection carries ctx's
// deadline.
func connect(ctx context.Context, d pinnedDialer, serverName string, m *Module) (net.Conn, string, error) {
	conn, err := d.DialContext(ctx, "tcp", "")
	if err != nil {
		return nil, PhaseConnect, err
	}
	if m.proto != "" {
		if _, _, err := starttls.Negotiate(ctx, conn, m.proto.Resolve(int(d.port)), serverName); err != nil {
			conn.Close()
			return nil, PhaseStartTLS, err
		}
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	return conn, "", nil
}

func connectReason(phase string, err error) string {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return pqtls.ReasonTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return ReasonRefused
	case errors.As(err, &dnsErr):
		return ReasonDNS
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return ReasonUnreachable
	case phase == PhaseStartTLS && errors.Is(err, starttls.ErrRefused):
		return ReasonNoStartTLS
	}
	return pqtls.ErrorReason(err)
}

// clientConfig builds the probing client's configuration. Verification is
// done in VerifyConnection so the probe reports the group and certificate
// expiry even when the chain is refused.
func (m *Module) clientConfig(serverName string) (*tls.Config, error) {
	base := &tls.Config{ServerName: serverName, RootCAs: m.roots}
	if m.cert != nil {
		base.Certificates = []tls.Certificate{*m.cert}
	}
	if m.policy == nil {
		// A default modern client: TLS 1.2 and 1.3 (the policy brings its
		// own versions otherwise).
		base.MinVersion = tls.VersionTLS12
	}
	if m.MinVersion != "" && m.policy == nil {
		v, err := pqtls.ParseVersion(m.MinVersion)
		if err != nil {
			return nil, err
		}
		base.MinVersion = v
	}
	base.NextProtos = m.proto.ALPN()
	cfg := base
	if m.policy != nil {
		var err error
		cfg, err = pqtls.ClientConfig(pqtls.Options{Policy: *m.policy, Base: base})
		if err != nil {
			return nil, err
		}
	}
	next := cfg.VerifyConnection
	roots := m.roots
	insecure := m.InsecureSkipVerify
	cfg.InsecureSkipVerify = true // verified below, after the state is recorded
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if !insecure {
			if err := verifyChain(cs, serverName, roots); err != nil {
				return err
			}
		}
		if next != nil {
			return next(cs)
		}
		return nil
	}
	return cfg, nil
}

func verifyChain(cs tls.ConnectionState, serverName string, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("server sent no certificate")
	}
	opts := x509.VerifyOptions{Roots: roots, DNSName: serverName, Intermediates: x509.NewCertPool()}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
	}
	return nil
}

// countingConn counts the bytes written before the first read: the first
// ClientHello flight.
type countingConn struct {
	net.Conn
	mu          sync.Mutex
	read        bool
	firstFlight int
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	if !c.read {
		c.firstFlight += n
	}
	c.mu.Unlock()
	return n, err
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	c.read = true
	c.mu.Unlock()
	return c.Conn.Read(p)
}

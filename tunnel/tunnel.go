// Package tunnel is the pqtls sidecar engine: it puts hybrid post-quantum
// TLS in front of services that cannot change (server mode: hybrid TLS in,
// plaintext to a local target) and originates it for clients that cannot
// change (client mode: plaintext on localhost in, hybrid TLS out).
//
// Each connection goes accept -> handshake (policy, ACL) -> dial target ->
// copy both ways with half-close propagation. Certificates, keys and CA
// bundles reload on Reload (the CLI calls it on SIGHUP) and on file change.
package tunnel

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/acceptloop"
	"github.com/pqtls/pqtls/internal/certload"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// Options are the process-level dependencies of a Tunnel.
type Options struct {
	// Logger receives warnings, reload results and one line per connection.
	// Nil discards.
	Logger *slog.Logger
	// Registerer receives the tls_handshake_* and pqtls_tunnel_* metrics.
	// Nil: the tunnel creates its own registry.
	Registerer prometheus.Registerer
	// Gatherer serves /metrics when Config.Metrics is set. Nil: Registerer
	// if it is a Gatherer, else the tunnel's own registry.
	Gatherer prometheus.Gatherer
	// NoWatch disables reloading on file change (SIGHUP-style Reload calls
	// still work).
	NoWatch bool
}

// Tunnel is a running set of listeners.
type Tunnel struct {
	cfg       Config
	log       *slog.Logger
	m         *metrics
	observer  *pqtls.Observer
	listeners []*Listener
	metricsLn net.Listener
	httpSrv   *http.Server
	watcher   *certload.Watcher

	closing   chan struct{}
	closeOnce sync.Once
	connWG    sync.WaitGroup
	acceptWG  sync.WaitGroup
	mu        sync.Mutex
	conns     map[*conn]struct{}
	reloadMu  sync.Mutex
}

// Listener is one listening socket of a Tunnel.
type Listener struct {
	cfg      ListenerConfig
	t        *Tunnel
	ln       net.Listener
	material atomic.Pointer[material]
	sem      chan struct{}

	active                      prometheus.Gauge
	proxied, hsFailed, beFailed prometheus.Counter
	toTarget, fromTarget        prometheus.Counter
	duration, dial              prometheus.Observer
	role                        pqtls.Role
	src                         *workloadapi.X509Source // use_workload_api: SVID and bundles
}

// addListener sets up one listener: its Workload API source, TLS material
// and metric series. It does not bind.
func (t *Tunnel) addListener(lc ListenerConfig) error {
	l := &Listener{cfg: lc, t: t, sem: make(chan struct{}, lc.MaxConnections), role: pqtls.RoleServer}
	if lc.Mode == ModeClient {
		l.role = pqtls.RoleClient
	}
	if lc.UseWorkloadAPI {
		var err error
		if l.src, err = newWorkloadSource(lc); err != nil {
			return fmt.Errorf("listener %s: %w", lc.Name, err)
		}
	}
	t.listeners = append(t.listeners, l) // before any error: Close closes its source
	mat, _, err := lc.buildMaterial(t.log, l.source())
	if err != nil { // changed on disk since Check
		return &ConfigError{fmt.Errorf("listener %s: %w", lc.Name, err)}
	}
	l.material.Store(mat)
	m, name := t.m, lc.Name
	l.active = m.active.WithLabelValues(name)
	l.proxied = m.total.WithLabelValues(name, "proxied")
	l.hsFailed = m.total.WithLabelValues(name, "handshake_failed")
	l.beFailed = m.total.WithLabelValues(name, "backend_failed")
	l.toTarget = m.bytes.WithLabelValues(name, DirectionToTarget)
	l.fromTarget = m.bytes.WithLabelValues(name, DirectionFromTarget)
	l.duration = m.duration.WithLabelValues(name)
	l.dial = m.dial.WithLabelValues(name)
	m.reloads.WithLabelValues(name)
	m.reloadErrors.WithLabelValues(name)
	return nil
}

// source returns the listener's Workload API source, nil without one.
func (l *Listener) source() svidSource {
	if l.src == nil {
		return nil
	}
	return l.src
}

// WorkloadAPITimeout bounds the wait for the first X.509-SVID from the
// Workload API at start.
const WorkloadAPITimeout = 30 * time.Second

// newWorkloadSource connects to the Workload API and waits for the first
// X.509-SVID; go-spiffe then keeps it current (rotation) in the background.
func newWorkloadSource(lc ListenerConfig) (*workloadapi.X509Source, error) {
	ctx, cancel := context.WithTimeout(context.Background(), WorkloadAPITimeout)
	defer cancel()
	src, err := workloadapi.NewX509Source(ctx, workloadapi.WithClientOptions(workloadapi.WithAddr(lc.workloadAPIAddr())))
	if err != nil {
		return nil, fmt.Errorf("workload API %s: no X.509-SVID within %s: %w (is the SPIRE agent running and is this workload registered?)", lc.workloadAPIAddr(), WorkloadAPITimeout, err)
	}
	return src, nil
}

// Name returns the listener's name (the metrics label).
func (l *Listener) Name() string { return l.cfg.Name }

// Addr returns the address the listener is bound to.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Config returns the listener's validated configuration.
func (l *Listener) Config() ListenerConfig { return l.cfg }

// ConfigError is a problem with the configuration or the files it names
// (the CLI exits 2 for it), as opposed to a runtime failure such as an
// address already in use.
type ConfigError struct{ Err error }

// Error returns the underlying message.
func (e *ConfigError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

// Start validates cfg, loads every certificate, binds every listener and the
// metrics server, and starts serving. Cancelling ctx closes the tunnel
// immediately; use Shutdown for a graceful stop.
func Start(ctx context.Context, cfg Config, opts Options) (*Tunnel, error) {
	cfg.Listeners = append([]ListenerConfig(nil), cfg.Listeners...)
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	warnings, err := Check(cfg)
	if err != nil {
		return nil, err
	}
	_, _ = cfg.Validate() // fill the defaults Check filled in its copy
	for _, w := range warnings {
		logger.Warn("tunnel config warning", "warning", w)
	}
	reg, gath := opts.Registerer, opts.Gatherer
	if reg == nil {
		r := prometheus.NewRegistry()
		reg, gath = r, r
	}
	if gath == nil {
		if g, ok := reg.(prometheus.Gatherer); ok {
			gath = g
		}
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("register tunnel metrics: %w", err)
	}
	hm, err := pqtls.NewMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("register handshake metrics: %w", err)
	}
	t := &Tunnel{cfg: cfg, log: logger, m: m, observer: &pqtls.Observer{Metrics: hm}, closing: make(chan struct{}), conns: map[*conn]struct{}{}}
	for _, lc := range cfg.Listeners {
		if err := t.addListener(lc); err != nil {
			t.Close()
			return nil, err
		}
	}
	for _, l := range t.listeners {
		network, addr, _ := splitAddr(l.cfg.Listen)
		if network == "unix" {
			removeStaleSocket(addr)
		}
		ln, err := net.Listen(network, addr)
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("listener %s: %w (is another process using %s?)", l.cfg.Name, err, l.cfg.Listen)
		}
		l.ln = ln
	}
	if cfg.Metrics != "" {
		if err := t.startHTTP(cfg.Metrics, reg, gath); err != nil {
			t.Close()
			return nil, err
		}
	}
	if !opts.NoWatch {
		if t.watcher, err = t.watch(); err != nil {
			logger.Warn("tunnel: file watching unavailable; reload with SIGHUP", "error", err)
		}
	}
	for _, l := range t.listeners {
		t.acceptWG.Add(1)
		go l.acceptLoop()
		logger.Info("tunnel listening", "listener", l.cfg.Name, "mode", string(l.cfg.Mode), "listen", l.ln.Addr().String(),
			"target", l.cfg.Target, "policy", pqtlsPolicy(l.cfg))
	}
	if ctx != nil && ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				t.Close()
			case <-t.closing:
			}
		}()
	}
	return t, nil
}

// pqtlsPolicy is the policy the listener enforces, as logged at start: the
// effective one (pqtls.ResolvePolicy, which drops the groups GODEBUG
// disables), the value the TLS configuration is built from, not the
// configured one.
func pqtlsPolicy(l ListenerConfig) string {
	p, _, _ := l.policy()
	if eff, _, err := pqtls.ResolvePolicy(p, nil); err == nil {
		return eff.String()
	}
	return p.String()
}

func removeStaleSocket(path string) {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 {
		return
	}
	if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
		_ = c.Close()
		return // in use: Listen will report it
	}
	_ = os.Remove(path)
}

// Listeners returns the listeners in configuration order.
func (t *Tunnel) Listeners() []*Listener { return t.listeners }

// Listener returns the listener with the given name, or nil.
func (t *Tunnel) Listener(name string) *Listener {
	for _, l := range t.listeners {
		if l.cfg.Name == name {
			return l
		}
	}
	return nil
}

// MetricsAddr returns the address of the metrics server, or nil.
func (t *Tunnel) MetricsAddr() net.Addr {
	if t.metricsLn == nil {
		return nil
	}
	return t.metricsLn.Addr()
}

// ActiveConnections returns the number of connections being served.
func (t *Tunnel) ActiveConnections() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

// Reload re-reads every certificate, key and CA bundle. A listener whose
// files fail to load keeps its previous material; the error is logged,
// counted in pqtls_tunnel_reload_errors_total and returned (joined).
// Established connections are not touched.
func (t *Tunnel) Reload() error {
	t.reloadMu.Lock()
	defer t.reloadMu.Unlock()
	var errs []error
	for _, l := range t.listeners {
		mat, w, err := l.cfg.buildMaterial(t.log, l.source())
		if err != nil {
			t.m.reloadErrors.WithLabelValues(l.cfg.Name).Inc()
			t.log.Error("tunnel reload failed; keeping the previous certificates", "listener", l.cfg.Name, "error", err)
			errs = append(errs, fmt.Errorf("listener %s: %w", l.cfg.Name, err))
			continue
		}
		for _, s := range w {
			t.log.Warn("tunnel config warning", "listener", l.cfg.Name, "warning", s)
		}
		l.material.Store(mat)
		t.m.reloads.WithLabelValues(l.cfg.Name).Inc()
		t.log.Info("tunnel reloaded", "listener", l.cfg.Name, "cert_not_after", mat.notAfter.Format(time.RFC3339))
	}
	return errors.Join(errs...)
}

// Shutdown stops accepting, lets in-flight connections finish until ctx is
// done, then closes what is left. It returns ctx.Err() if connections had to
// be cut.
func (t *Tunnel) Shutdown(ctx context.Context) error {
	t.stopAccepting()
	done := make(chan struct{})
	go func() { t.connWG.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		t.mu.Lock()
		n := len(t.conns)
		for c := range t.conns {
			c.abort()
		}
		t.mu.Unlock()
		if n > 0 {
			t.log.Warn("tunnel drain timeout: closed remaining connections", "connections", n)
		}
		<-done
	}
	t.stopHTTP()
	for _, l := range t.listeners {
		if l.src != nil {
			_ = l.src.Close()
		}
	}
	return err
}

// Close stops the tunnel at once, cutting every connection.
func (t *Tunnel) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = t.Shutdown(ctx)
	return nil
}

func (t *Tunnel) stopAccepting() {
	t.closeOnce.Do(func() {
		close(t.closing)
		if t.watcher != nil {
			_ = t.watcher.Close()
		}
		for _, l := range t.listeners {
			if l.ln != nil {
				_ = l.ln.Close()
			}
		}
	})
	t.acceptWG.Wait()
}

func (t *Tunnel) stopHTTP() {
	if t.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = t.httpSrv.Shutdown(ctx)
		cancel()
	}
}

func (l *Listener) acceptLoop() {
	t := l.t
	defer t.acceptWG.Done()
	var lastFull time.Time
	for {
		select {
		case l.sem <- struct{}{}:
		default:
			// At the limit: further clients wait in the kernel accept
			// queue with no error of their own, so say it here (at most
			// once a minute).
			if time.Since(lastFull) > time.Minute {
				lastFull = time.Now()
				t.log.Warn("tunnel max_connections reached; new connections wait in the accept queue until one ends",
					"listener", l.cfg.Name, "max_connections", l.cfg.MaxConnections)
			}
			select {
			case l.sem <- struct{}{}:
			case <-t.closing:
				return
			}
		}
		// EMFILE and friends: back off and retry, as net/http does.
		c, err := acceptloop.Accept(l.ln, t.closing, func(err error, backoff time.Duration) {
			t.log.Warn("tunnel accept failed; retrying", "listener", l.cfg.Name, "error", err, "backoff", backoff)
		})
		if err != nil {
			<-l.sem
			if !errors.Is(err, net.ErrClosed) {
				t.log.Error("tunnel accept failed; listener stopped", "listener", l.cfg.Name, "error", err)
			}
			return
		}
		cn := &conn{l: l, front: c, start: time.Now()}
		t.mu.Lock()
		t.conns[cn] = struct{}{}
		t.connWG.Add(1)
		t.mu.Unlock()
		go cn.serve()
	}
}

// conn is one proxied connection.
type conn struct {
	l     *Listener
	front net.Conn // accepted socket
	start time.Time

	mu    sync.Mutex
	back  net.Conn // target socket, once dialed
	dead  bool
	state tls.ConnectionState
	// identity is the peer identity the listener's decision approved
	// (material.identify): the one logged and sent in the PROXY header.
	identity string
}

// abort closes both sockets.
func (c *conn) abort() {
	c.mu.Lock()
	c.dead = true
	back := c.back
	c.mu.Unlock()
	_ = c.front.Close()
	if back != nil {
		_ = back.Close()
	}
}

func (c *conn) setBack(b net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return false
	}
	c.back = b
	return true
}

// release forgets the connection and frees its slot.
func (c *conn) release() {
	t := c.l.t
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
	<-c.l.sem
	t.connWG.Done()
}

func (c *conn) serve() {
	l := c.l
	handedOff := false
	defer func() {
		if !handedOff {
			c.release()
		}
	}()
	var (
		front, back *endpoint
		reason      string
		err         error
	)
	switch l.cfg.Mode {
	case ModeServer:
		front, back, reason, err = c.openServer()
	default:
		front, back, reason, err = c.openClient()
	}
	if err != nil {
		c.abort()
		c.logConn(reason, err, 0, 0)
		return
	}
	l.proxied.Inc()
	l.active.Inc()
	// The handshake grew this goroutine's stack; the copy loops run on two
	// fresh goroutines with small stacks and this one exits, so an idle
	// connection costs as little memory as possible.
	p := &pump{c: c, front: front, back: back, idle: time.Duration(l.cfg.IdleTimeout)}
	p.last.Store(time.Now().UnixNano())
	p.remaining.Store(2)
	go p.run(back, front, &p.fromTarget, l.fromTarget, &p.err2)
	go p.run(front, back, &p.toTarget, l.toTarget, &p.err1)
	handedOff = true
}

// pump copies both directions of an established connection.
type pump struct {
	c                    *conn
	front, back          *endpoint
	idle                 time.Duration
	last                 atomic.Int64
	toTarget, fromTarget atomic.Int64
	remaining            atomic.Int32
	err1, err2           error
}

func (p *pump) run(src, dst *endpoint, n *atomic.Int64, ctr prometheus.Counter, errOut *error) {
	err := pipe(src, dst, p.idle, &p.last, func(k int) { n.Add(int64(k)); ctr.Add(float64(k)) })
	*errOut = err
	if err != nil {
		p.c.abort() // unblock the other direction
	}
	if p.remaining.Add(-1) != 0 {
		return
	}
	c, l := p.c, p.c.l
	c.abort()
	l.active.Dec()
	l.duration.Observe(time.Since(c.start).Seconds())
	reason, err := closeReason(c, p.err1, p.err2)
	c.logConn(reason, err, p.toTarget.Load(), p.fromTarget.Load())
	c.release()
}

func closeReason(c *conn, errs ...error) (string, error) {
	c.mu.Lock()
	dead := c.dead
	c.mu.Unlock()
	for _, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, errIdle):
			return "idle_timeout", err
		case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
			return "reset", err
		case errors.Is(err, net.ErrClosed):
			select {
			case <-c.l.t.closing:
				return "shutdown", nil
			default:
			}
			if dead {
				continue
			}
			return "closed", err
		default:
			return "error", err
		}
	}
	for _, err := range errs {
		if err != nil {
			return "closed", nil // cut by the other direction's failure
		}
	}
	return "eof", nil
}

// openServer runs the TLS handshake with the client, then dials the target.
func (c *conn) openServer() (front, back *endpoint, reason string, err error) {
	l := c.l
	mat := l.material.Load()
	rc := newSockConn(c.front)
	tc := tls.Server(rc, mat.config)
	_ = c.front.SetDeadline(time.Now().Add(time.Duration(l.cfg.HandshakeTimeout)))
	hsStart := time.Now()
	err = tc.Handshake()
	c.state = tc.ConnectionState()
	if sni := rc.sni.Load(); c.state.ServerName == "" && sni != nil {
		c.state.ServerName = *sni // refused before crypto/tls kept it
	}
	if err == nil {
		err = c.approve(mat)
	}
	// Metrics, log and PROXY header all read c.state and this err.
	l.t.observer.Record(pqtls.RoleServer, c.front.RemoteAddr(), c.state, time.Since(hsStart), err)
	if err != nil {
		l.hsFailed.Inc()
		return nil, nil, "handshake_" + pqtls.ErrorReason(err), err
	}
	_ = c.front.SetDeadline(time.Time{})
	dialStart := time.Now()
	b, reason, err := l.dialBackend()
	if err != nil {
		return nil, nil, reason, err
	}
	l.dial.Observe(time.Since(dialStart).Seconds())
	if !c.setBack(b) {
		_ = b.Close()
		return nil, nil, "shutdown", net.ErrClosed
	}
	if l.cfg.ProxyProtocol {
		_ = b.SetWriteDeadline(time.Now().Add(time.Duration(l.cfg.ConnectTimeout)))
		if _, err := b.Write(ProxyHeader(c.front.RemoteAddr(), c.front.LocalAddr(), c.state, c.identity)); err != nil {
			l.beFailed.Inc()
			l.t.m.backendErrs.WithLabelValues(l.cfg.Name, "proxy_header").Inc()
			return nil, nil, "backend_proxy_header_failed", err
		}
		_ = b.SetWriteDeadline(time.Time{})
	}
	if mat.target != nil {
		brc := newSockConn(b)
		btc := tls.Client(brc, mat.target)
		_ = b.SetDeadline(time.Now().Add(time.Duration(l.cfg.HandshakeTimeout)))
		if err := btc.Handshake(); err != nil {
			l.beFailed.Inc()
			l.t.m.backendErrs.WithLabelValues(l.cfg.Name, "handshake").Inc()
			return nil, nil, "backend_handshake_failed", fmt.Errorf("TLS to target %s: %w", l.cfg.Target, err)
		}
		_ = b.SetDeadline(time.Time{})
		return newEndpoint(tc, c.front, tc, rc), newEndpoint(btc, b, btc, brc), "", nil
	}
	return newEndpoint(tc, c.front, tc, rc), newEndpoint(b, b, nil, nil), "", nil
}

// dialBackend dials the listener's target. A failure is counted
// (backend_failed, backend error stage "dial") and returned with its close
// reason.
func (l *Listener) dialBackend() (net.Conn, string, error) {
	network, addr, _ := splitAddr(l.cfg.Target)
	b, err := dialTarget(network, addr, time.Duration(l.cfg.ConnectTimeout))
	if err != nil {
		l.beFailed.Inc()
		l.t.m.backendErrs.WithLabelValues(l.cfg.Name, "dial").Inc()
		return nil, "backend_dial_failed", err
	}
	return b, "", nil
}

// dialTarget dials a listener's target. A loopback target gets no TCP
// keepalive: the kernel reports a dead local peer at once, and Go's default
// keepalive costs four setsockopt calls per connection (about a tenth of
// the tunnel's per-connection CPU beyond the handshake).
func dialTarget(network, addr string, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	if loopbackTarget(network, addr) {
		d.KeepAlive = -1
	}
	return d.Dial(network, addr)
}

// loopbackTarget reports whether addr is a loopback IP literal or
// "localhost" (a unix socket has no keepalive either way).
func loopbackTarget(network, addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if network == "unix" || err != nil {
		return false
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	return host == "localhost"
}

// approve takes the peer identity from the decision that let the handshake
// through, for the same connection state. It cannot disagree with
// VerifyConnection (same function, same state); if it ever did, the
// connection is refused rather than reported under another name.
func (c *conn) approve(mat *material) error {
	id, err := mat.identify(c.state)
	if err != nil {
		return err
	}
	c.identity = id
	return nil
}

// openClient dials the target and runs the TLS handshake with it.
func (c *conn) openClient() (front, back *endpoint, reason string, err error) {
	l := c.l
	mat := l.material.Load()
	_, addr, _ := splitAddr(l.cfg.Target)
	dialStart := time.Now()
	raw, reason, err := l.dialBackend()
	if err != nil {
		return nil, nil, reason, err
	}
	if !c.setBack(raw) {
		_ = raw.Close()
		return nil, nil, "shutdown", net.ErrClosed
	}
	rc := newSockConn(raw)
	tc := tls.Client(rc, mat.config)
	_ = raw.SetDeadline(time.Now().Add(time.Duration(l.cfg.HandshakeTimeout)))
	hsStart := time.Now()
	err = tc.Handshake()
	// A require-mode client refused by a classical-only server: say so
	// (reason policy_classical_peer) rather than "handshake failure".
	err = pqtls.AsPolicyError(mat.config, addr, err)
	c.state = tc.ConnectionState()
	if err == nil {
		err = c.approve(mat)
	}
	l.t.observer.Record(pqtls.RoleClient, raw.RemoteAddr(), c.state, time.Since(hsStart), err)
	if err != nil {
		l.beFailed.Inc()
		l.t.m.backendErrs.WithLabelValues(l.cfg.Name, "handshake").Inc()
		return nil, nil, "handshake_" + pqtls.ErrorReason(err), err
	}
	_ = raw.SetDeadline(time.Time{})
	l.dial.Observe(time.Since(dialStart).Seconds())
	return newEndpoint(c.front, c.front, nil, nil), newEndpoint(tc, raw, tc, rc), "", nil
}

// ConnectionLogMessage is the message of the one log line per connection,
// the only high-volume line the tunnel writes.
const ConnectionLogMessage = "tunnel connection"

// logConn writes the one line per connection.
func (c *conn) logConn(reason string, err error, toTarget, fromTarget int64) {
	log := c.l.t.log
	cs := c.state
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
	}
	if !log.Enabled(context.Background(), level) {
		return
	}
	// Room for the optional cipher, auth and error: one allocation.
	attrs := append(make([]slog.Attr, 0, 14),
		slog.String("listener", c.l.cfg.Name), slog.String("peer", c.front.RemoteAddr().String()),
		slog.String("identity", c.identity), slog.String("sni", cs.ServerName),
		slog.String("version", pqtls.VersionName(cs.Version)), slog.String("group", pqtls.GroupName(cs.CurveID)),
		slog.Bool("hrr", cs.HelloRetryRequest),
		slog.Int64("bytes_to_target", toTarget), slog.Int64("bytes_from_target", fromTarget),
		slog.Float64("duration_ms", float64(time.Since(c.start).Microseconds())/1000),
		slog.String("close_reason", reason),
	)
	if cs.Version == 0 {
		attrs[4] = slog.String("version", "")
		attrs[5] = slog.String("group", "")
	} else {
		// The negotiated suite is reported, never enforced (cnsa2: Go does
		// not let a TLS 1.3 config pick AES-256); auth is the server
		// certificate's kind, as tls_handshake_auth_total counts it.
		attrs = append(attrs, slog.String("cipher", tls.CipherSuiteName(cs.CipherSuite)), slog.String("auth", pqtls.AuthKind(c.l.role, cs)))
	}
	if err != nil && !errors.Is(err, io.EOF) {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	log.LogAttrs(context.Background(), level, ConnectionLogMessage, attrs...)
}

// Check validates cfg and loads every certificate, key and CA bundle it
// names, without binding anything: what --check-config runs. The error
// holds one line per failing listener (errors.Join of *ConfigError); the
// warnings are those of the listeners without an error.
func Check(cfg Config) (warnings []string, err error) {
	cfg.Listeners = append([]ListenerConfig(nil), cfg.Listeners...)
	warns, lerrs, top := cfg.validate()
	for i, l := range cfg.Listeners {
		if lerrs == nil || lerrs[i] != nil {
			continue
		}
		if l.UseWorkloadAPI {
			continue // nothing on disk: the SVID comes from the Workload API at start
		}
		_, w, err := l.buildMaterial(nil, nil)
		if err != nil {
			lerrs[i] = cfg.listenerError(i, err)
			continue
		}
		warns[i] = append(warns[i], w...)
	}
	warnings, err = cfg.flatten(warns, lerrs, top)
	if err != nil {
		return warnings, &ConfigError{err}
	}
	return warnings, nil
}

// Package httpserve is the one hardened HTTP server behind every pqtls side
// port: the tunnel's /metrics /healthz /readyz, the exporter, and observe
// --serve. None of them authenticates its clients, so each must survive a
// flood without taking descriptors from the data plane:
//
//   - ReadHeaderTimeout 5 s, ReadTimeout and WriteTimeout 30 s, IdleTimeout
//     60 s, MaxHeaderBytes 16 KiB;
//   - a connection cap (default min(256, soft RLIMIT_NOFILE / 4)): a
//     connection over it is closed as soon as it is accepted and counted.
package httpserve

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pqtls/pqtls/internal/acceptloop"
)

// The server's limits.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 30 * time.Second
	IdleTimeout       = 60 * time.Second
	MaxHeaderBytes    = 16 << 10
	// MaxConnsCeiling is the highest default connection cap.
	MaxConnsCeiling = 256
)

// Options tune Serve.
type Options struct {
	// MaxConns caps concurrent connections; 0 means DefaultMaxConns().
	MaxConns int
	// Rejected counts connections closed at accept because of the cap (nil:
	// not counted).
	Rejected prometheus.Counter
	// Logger receives the server's own errors (nil: discarded).
	Logger *slog.Logger
	// WriteTimeout overrides WriteTimeout for handlers that legitimately take
	// longer (the exporter's probes are bounded by their own timeout).
	WriteTimeout time.Duration
}

// DefaultMaxConns is min(256, soft RLIMIT_NOFILE / 4), at least 1: a side
// port may take a quarter of the process's descriptors, never more.
func DefaultMaxConns() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return MaxConnsCeiling
	}
	n := rl.Cur / 4
	if n > MaxConnsCeiling {
		return MaxConnsCeiling
	}
	return max(int(n), 1)
}

// NewRejectedCounter registers pqtls_http_connections_rejected_total with the
// server label set to server (tunnel, exporter, observe).
func NewRejectedCounter(reg prometheus.Registerer, server string) (prometheus.Counter, error) {
	c := prometheus.NewCounter(prometheus.CounterOpts{
		Name:        "pqtls_http_connections_rejected_total",
		Help:        "Connections to an HTTP side port closed at accept because the connection cap was reached.",
		ConstLabels: prometheus.Labels{"server": server},
	})
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(prometheus.Counter); ok {
				return existing, nil
			}
		}
		return nil, err
	}
	return c, nil
}

// NewServer returns an http.Server with the package's limits (the caller
// serves it on a listener from LimitListener, or uses Serve).
func NewServer(h http.Handler, o Options) *http.Server {
	wt := WriteTimeout
	if o.WriteTimeout > 0 {
		wt = o.WriteTimeout
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      wt,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
	if o.Logger != nil {
		srv.ErrorLog = slog.NewLogLogger(o.Logger.Handler(), slog.LevelDebug)
	}
	return srv
}

// Serve serves h on ln with the package's limits, in a goroutine. Stop it
// with the returned server's Close or Shutdown.
func Serve(ln net.Listener, h http.Handler, o Options) *http.Server {
	srv := NewServer(h, o)
	max := o.MaxConns
	if max <= 0 {
		max = DefaultMaxConns()
	}
	go srv.Serve(LimitListener(ln, max, o.Rejected))
	return srv
}

// LimitListener caps the connections accepted from ln that are open at once
// at max; one over the cap is closed at once and counted in rejected. Unlike
// golang.org/x/net/netutil.LimitListener it never stops accepting, so the
// backlog cannot fill with connections that hold descriptors in the kernel
// while waiting.
func LimitListener(ln net.Listener, max int, rejected prometheus.Counter) net.Listener {
	return &limitListener{Listener: ln, max: max, rejected: rejected}
}

type limitListener struct {
	net.Listener
	max      int
	rejected prometheus.Counter

	mu   sync.Mutex
	open int
}

// Accept returns the next connection under the cap. Temporary errors (EMFILE,
// ENFILE, ECONNABORTED) are retried with internal/acceptloop's backoff, as
// net/http does, instead of ending the server.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := acceptloop.Accept(l.Listener, nil, nil)
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if l.open >= l.max {
			l.mu.Unlock()
			// Count before closing: once the client sees the close, the
			// rejection is already visible on /metrics.
			if l.rejected != nil {
				l.rejected.Inc()
			}
			c.Close()
			continue
		}
		l.open++
		l.mu.Unlock()
		return &limitConn{Conn: c, l: l}, nil
	}
}

func (l *limitListener) release() {
	l.mu.Lock()
	l.open--
	l.mu.Unlock()
}

// Open is the number of connections currently counted against the cap.
func (l *limitListener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

type limitConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.l.release)
	return err
}

package pqtls

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/pqtls/pqtls/internal/acceptloop"
)

// DefaultHandshakeTimeout bounds a server or client handshake when no other
// timeout is set.
const DefaultHandshakeTimeout = 10 * time.Second

// DefaultMaxPendingHandshakes bounds the handshakes a Listener runs at once.
const DefaultMaxPendingHandshakes = 1024

// ListenerOptions configures NewListener.
type ListenerOptions struct {
	// HandshakeTimeout bounds each handshake, from accept to completion, so a
	// slow or silent client cannot pin resources. Default 10 s.
	HandshakeTimeout time.Duration
	// MaxPendingHandshakes bounds concurrent in-progress handshakes; further
	// connections wait in the kernel's accept queue. Default 1024.
	MaxPendingHandshakes int
	// Observer receives metrics and log lines (role=server). Nil records
	// nothing.
	Observer *Observer
}

// Listener accepts TCP (or unix) connections, completes the TLS handshake
// with a deadline in its own goroutine, records it, and hands out
// connections whose handshake has completed. Failed handshakes are recorded
// and closed; Accept never returns them.
type Listener struct {
	inner   net.Listener
	config  *tls.Config
	opts    ListenerOptions
	ready   chan *tls.Conn
	done    chan struct{}
	sem     chan struct{}
	closeMu sync.Once
	errMu   sync.Mutex
	err     error
	wg      sync.WaitGroup
	pendMu  sync.Mutex
	pending map[net.Conn]struct{} // connections still handshaking
}

// Listen announces on a local network address and returns a Listener that
// serves TLS with cfg (usually from ServerConfig).
func Listen(network, addr string, cfg *tls.Config, o ListenerOptions) (*Listener, error) {
	if cfg == nil {
		return nil, errNilConfig
	}
	inner, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	return NewListener(inner, cfg, o), nil
}

var errNilConfig = errors.New("pqtls: the Listener has no *tls.Config: build one with pqtls.ServerConfig")

// NewListener wraps inner; see Listener. It takes ownership of inner. With a
// nil cfg, Accept returns an error saying so.
func NewListener(inner net.Listener, cfg *tls.Config, o ListenerOptions) *Listener {
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.MaxPendingHandshakes <= 0 {
		o.MaxPendingHandshakes = DefaultMaxPendingHandshakes
	}
	l := &Listener{
		inner:   inner,
		config:  cfg,
		opts:    o,
		ready:   make(chan *tls.Conn),
		done:    make(chan struct{}),
		sem:     make(chan struct{}, o.MaxPendingHandshakes),
		pending: map[net.Conn]struct{}{},
	}
	if cfg == nil {
		l.fail(errNilConfig)
		return l
	}
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	for {
		select {
		case l.sem <- struct{}{}:
		case <-l.done:
			return
		}
		// Out of file descriptors, a connection aborted before accept, a
		// timeout: acceptloop backs off and retries, as net/http does,
		// instead of shutting the listener down.
		raw, err := acceptloop.Accept(l.inner, l.done, nil)
		if err != nil {
			<-l.sem
			select {
			case <-l.done:
				return
			default:
			}
			l.fail(err)
			return
		}
		l.pendMu.Lock()
		select {
		case <-l.done:
			l.pendMu.Unlock()
			_ = raw.Close()
			<-l.sem
			return
		default:
		}
		l.pending[raw] = struct{}{}
		l.pendMu.Unlock()
		l.wg.Add(1)
		go l.handshake(raw)
	}
}

func (l *Listener) handshake(raw net.Conn) {
	defer l.wg.Done()
	defer func() { <-l.sem }()
	conn := tls.Server(raw, l.config)
	_ = raw.SetDeadline(time.Now().Add(l.opts.HandshakeTimeout))
	_, err := l.opts.Observer.Handshake(context.Background(), conn, RoleServer)
	// From here on Close must not close raw behind the back of whoever
	// Accept hands it to: it is no longer "still handshaking".
	l.pendMu.Lock()
	delete(l.pending, raw)
	l.pendMu.Unlock()
	if err != nil {
		_ = raw.Close()
		return
	}
	if err := raw.SetDeadline(time.Time{}); err != nil {
		_ = raw.Close()
		return
	}
	select {
	case l.ready <- conn:
	case <-l.done:
		_ = conn.Close()
	}
}

func (l *Listener) fail(err error) {
	l.errMu.Lock()
	if l.err == nil {
		l.err = err
	}
	l.errMu.Unlock()
	l.closeDone()
}

func (l *Listener) closeDone() { l.closeMu.Do(func() { close(l.done) }) }

// Accept waits for and returns the next connection whose handshake has
// completed. The returned net.Conn is a *tls.Conn.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		// Prefer a connection that is already ready.
		select {
		case c := <-l.ready:
			return c, nil
		default:
		}
		l.errMu.Lock()
		defer l.errMu.Unlock()
		if l.err != nil && !errors.Is(l.err, net.ErrClosed) {
			return nil, l.err
		}
		return nil, net.ErrClosed
	}
}

// Close stops accepting, closes the underlying listener and any connection
// still handshaking, and waits for the handshake goroutines to end.
func (l *Listener) Close() error {
	l.closeDone()
	err := l.inner.Close()
	l.pendMu.Lock()
	for c := range l.pending {
		_ = c.Close()
	}
	l.pendMu.Unlock()
	l.wg.Wait()
	return err
}

var _ net.Listener = (*Listener)(nil)

// Addr returns the listener's network address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

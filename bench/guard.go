package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Backoff bounds for failing attempts, shared by every worker of a run.
const (
	minBackoff = 10 * time.Millisecond
	maxBackoff = time.Second
)

// backoff is the pause after a failed attempt, shared by the workers: each
// failure doubles it (up to maxBackoff), a success clears it, so a refusing
// target sees a few attempts per second instead of a flood.
type backoff struct {
	mu    sync.Mutex
	delay time.Duration
}

// next doubles the delay and returns it.
func (b *backoff) next() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.delay = min(max(2*b.delay, minBackoff), maxBackoff)
	return b.delay
}

func (b *backoff) reset() {
	b.mu.Lock()
	b.delay = 0
	b.mu.Unlock()
}

// wait sleeps for the next delay or until ctx ends.
func (b *backoff) wait(ctx context.Context) {
	t := time.NewTimer(b.next())
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// refusalProbe notices what TLS 1.3 hides from a client whose handshake
// just completed: a server that asked for a client certificate checks it
// only after the client's Finished, and refuses with an alert then
// (certificate_required, bad_certificate, unknown_ca).
type refusalProbe struct {
	requested atomic.Bool   // the server sent a CertificateRequest
	ticket    chan struct{} // closed by the first session ticket
	once      sync.Once
}

// newRefusalProbe returns a copy of cfg that records a CertificateRequest
// and the arrival of a session ticket.
func newRefusalProbe(base *tls.Config) (*tls.Config, *refusalProbe) {
	p := &refusalProbe{ticket: make(chan struct{})}
	cfg := base.Clone()
	certs := base.Certificates
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		p.requested.Store(true)
		if len(certs) > 0 {
			return &certs[0], nil
		}
		return &tls.Certificate{}, nil
	}
	cfg.ClientSessionCache = ticketSignal{p}
	return cfg, p
}

// confirm waits, after a TLS 1.3 handshake in which the server asked for a
// client certificate, for the server's verdict: an alert is a refused
// handshake; a session ticket (sent once the client is accepted) or silence
// for twice the handshake time, and at least silenceFloor (at most
// timeout), is success. The floor keeps a loaded machine's late alert from
// being read as silence; it costs time only against servers that ask for a
// certificate and issue no tickets.
const silenceFloor = 500 * time.Millisecond

func (p *refusalProbe) confirm(c *tls.Conn, took, timeout time.Duration) error {
	if p == nil || !p.requested.Load() || c.ConnectionState().Version != tls.VersionTLS13 {
		return nil
	}
	_ = c.SetReadDeadline(time.Now().Add(min(max(2*took+50*time.Millisecond, silenceFloor), timeout)))
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-p.ticket: // accepted: end the wait now
			_ = c.SetReadDeadline(time.Now())
		case <-done:
		}
	}()
	var b [1]byte
	_, err := c.Read(b[:])
	close(done)
	<-stopped
	_ = c.SetReadDeadline(time.Time{})
	if err != nil && !isTimeout(err) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("the server refused the client after the handshake: %w", err)
	}
	return nil
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// ticketSignal is a session cache that never resumes; it only tells the
// probe that the server issued a ticket.
type ticketSignal struct{ p *refusalProbe }

func (ticketSignal) Get(string) (*tls.ClientSessionState, bool) { return nil, false }

func (t ticketSignal) Put(string, *tls.ClientSessionState) {
	t.p.once.Do(func() { close(t.p.ticket) })
}

// checkEcho makes one round trip before an echo mode (rr, throughput,
// idle) starts: a target that does not echo fails the run at once, with a
// clear error, instead of timing out in every worker.
func (b *runner) checkEcho(ctx context.Context) error {
	c, err := b.connect(ctx, &worker{errs: map[string]int64{}, groups: map[string]int64{}, versions: map[string]int64{}})
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", b.o.Target, err)
	}
	defer c.Close()
	out := []byte("pqtls bench echo check\n")
	_ = c.SetDeadline(time.Now().Add(min(b.o.Timeout, time.Second)))
	in := make([]byte, len(out))
	if _, err = c.Write(out); err == nil {
		_, err = io.ReadFull(c, in)
	}
	if err != nil || !bytes.Equal(in, out) {
		why := "it answered something else"
		if err != nil {
			why = err.Error()
		}
		return fmt.Errorf("%s does not echo (%s): --mode %s needs an echo server, e.g. 'pqtls bench echo-server' or a tunnel in front of one; use --mode handshake for any TLS server", b.o.Target, why, b.o.Mode)
	}
	return nil
}

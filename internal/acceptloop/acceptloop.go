// Package acceptloop is the one accept-with-backoff rule of pqtls: every
// accept loop (pqtls.Listen, the tunnel, internal/httpserve, the test
// servers) calls Accept, so they all retry the same errors with the same
// delays.
//
// The rule is net/http's: a temporary error (out of descriptors, a
// connection aborted before accept, a timeout) is retried after a delay
// that starts at 5 ms and doubles up to 1 s; any other error (the listener
// was closed) is returned.
package acceptloop

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// Backoff delays: the first retry waits MinDelay, each further one twice the
// previous, never more than MaxDelay.
const (
	MinDelay = 5 * time.Millisecond
	MaxDelay = time.Second
)

// Temporary reports whether an Accept error leaves the listener usable, so
// the loop should back off and retry: EMFILE, ENFILE, ENOBUFS, ENOMEM,
// ECONNABORTED, ECONNRESET, EINTR, EAGAIN, a timeout, or an error that says
// Temporary() (the method net/http's Server checks). A closed listener
// (net.ErrClosed) is never temporary.
func Temporary(err error) bool {
	if err == nil || errors.Is(err, net.ErrClosed) {
		return false
	}
	for _, errno := range temporaryErrnos {
		if errors.Is(err, errno) {
			return true
		}
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	// Wrappers that only say Temporary() (net.Error's deprecated method,
	// still what net/http's Server checks).
	var te interface{ Temporary() bool }
	return errors.As(err, &te) && te.Temporary()
}

var temporaryErrnos = []syscall.Errno{
	syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
	syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN,
}

// Next returns the delay after prev: MinDelay first (prev 0), then double,
// capped at MaxDelay.
func Next(prev time.Duration) time.Duration {
	return min(max(2*prev, MinDelay), MaxDelay)
}

// Accept returns the next connection of ln. It retries temporary errors
// with the backoff above, calling onRetry (if not nil) with each error and
// the delay before the retry. It returns ln's error when the error is not
// temporary, and net.ErrClosed as soon as done is closed while it waits
// (done may be nil: wait the full delay). The delay starts again at
// MinDelay on every call.
func Accept(ln net.Listener, done <-chan struct{}, onRetry func(err error, delay time.Duration)) (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err == nil {
			return c, nil
		}
		if !Temporary(err) {
			return nil, err
		}
		delay = Next(delay)
		if onRetry != nil {
			onRetry(err, delay)
		}
		select {
		case <-done:
			return nil, net.ErrClosed
		default:
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-done:
			t.Stop()
			return nil, net.ErrClosed
		}
	}
}

package tunnel

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// bufSize is the size of the pooled copy buffers. Buffers are taken from the
// pool only once the source socket is readable and returned right after the
// write, so an idle connection holds none.
const bufSize = 32 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// recordConn hands crypto/tls at most one TLS record per Read: it reads the
// 5-byte record header, then exactly the record body. crypto/tls therefore
// never holds undelivered bytes beyond the record it is decrypting, so when
// a tls.Conn Read returns less than the buffer, nothing is buffered inside
// tls.Conn and the tunnel may wait on the socket itself (without a buffer).
type recordConn struct {
	net.Conn
	hdr       [5]byte
	hdrN      int // header bytes read of the current record
	remaining int // body bytes left in the current record
}

func (c *recordConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.remaining == 0 {
		want := min(len(p), 5-c.hdrN)
		n, err := c.Conn.Read(p[:want])
		copy(c.hdr[c.hdrN:], p[:n])
		c.hdrN += n
		if c.hdrN == 5 {
			c.hdrN = 0
			c.remaining = int(c.hdr[3])<<8 | int(c.hdr[4])
		}
		return n, err
	}
	n, err := c.Conn.Read(p[:min(len(p), c.remaining)])
	c.remaining -= n
	return n, err
}

// endpoint is one side of a proxied connection.
type endpoint struct {
	rw   io.ReadWriter   // what payload is read from and written to
	raw  net.Conn        // the socket
	sc   syscall.RawConn // nil if the socket has no file descriptor
	tls  interface{ CloseWrite() error }
	once sync.Once
}

func newEndpoint(rw io.ReadWriter, raw net.Conn, tlsConn interface{ CloseWrite() error }) *endpoint {
	e := &endpoint{rw: rw, raw: raw, tls: tlsConn}
	if s, ok := raw.(syscall.Conn); ok {
		e.sc, _ = s.SyscallConn()
	}
	return e
}

// closeWrite propagates a half-close: close_notify for TLS, then a TCP (or
// unix) shutdown of the write side.
func (e *endpoint) closeWrite() {
	e.once.Do(func() {
		if e.tls != nil {
			_ = e.tls.CloseWrite()
		}
		if cw, ok := e.raw.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
	})
}

// waitReadable blocks until the socket has data (or EOF or an error) without
// consuming it or holding a buffer, honouring the read deadline.
func (e *endpoint) waitReadable() error {
	if e.sc == nil {
		return nil
	}
	var peekErr error
	err := e.sc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, errno := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if errno == syscall.EAGAIN || errno == syscall.EINTR {
			return false
		}
		if errno != nil {
			peekErr = os.NewSyscallError("recvfrom", errno)
		}
		return true
	})
	if err != nil {
		return err
	}
	return peekErr
}

var errIdle = errors.New("idle timeout")

// pipe copies src to dst until EOF or an error. It returns nil on a clean
// EOF (after propagating the half-close), errIdle when the connection saw no
// traffic in either direction for idle.
func pipe(src, dst *endpoint, idle time.Duration, last *atomic.Int64, count func(int)) error {
	pending := false
	for {
		if !pending {
			for {
				_ = src.raw.SetReadDeadline(time.Now().Add(idle))
				err := src.waitReadable()
				if err == nil {
					break
				}
				if errors.Is(err, os.ErrDeadlineExceeded) {
					if since := time.Since(time.Unix(0, last.Load())); since < idle {
						continue // the other direction is active
					}
					return errIdle
				}
				return err
			}
		}
		bp := bufPool.Get().(*[]byte)
		buf := *bp
		n, err := src.rw.Read(buf)
		if n > 0 {
			last.Store(time.Now().UnixNano())
			if _, werr := dst.rw.Write(buf[:n]); werr != nil {
				bufPool.Put(bp)
				return werr
			}
			count(n)
		}
		pending = n == len(buf)
		bufPool.Put(bp)
		if err != nil {
			if errors.Is(err, io.EOF) {
				dst.closeWrite()
				return nil
			}
			if errors.Is(err, os.ErrDeadlineExceeded) && time.Since(time.Unix(0, last.Load())) < idle {
				pending = false
				continue
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return errIdle
			}
			return err
		}
	}
}

package tunnel

import (
	"crypto/tls"
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
const bufSize = 64 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// sockConn is the socket under a tls.Conn. Once the handshake is done the
// copy loop switches it to non-blocking: a Read with no data returns
// errWouldBlock (a temporary error, which crypto/tls does not treat as
// fatal) instead of parking the goroutine, and the loop then waits for the
// socket without holding a buffer (endpoint.waitReadable). crypto/tls
// reads into all the free space of its input buffer, which the copy loop
// sizes to four full records while data moves (tlsbuf.go), so one system
// call takes what the kernel holds. It also batches the records of one
// tls.Conn Write into one system call (startBatch/flush).
type sockConn struct {
	net.Conn
	sc       syscall.RawConn // nil: no descriptor, always blocking
	nonblock bool
	sni      atomic.Pointer[string] // server side: the ClientHello's SNI (recordSNI)

	wmu      sync.Mutex
	batching bool
	wbuf     *[]byte // pooled, only while batching
	wlen     int

	rerr  error // EOF or socket error met while waiting, for the next Read
	reads int   // read system calls in non-blocking mode (tests count them)
}

func newSockConn(c net.Conn) *sockConn {
	rc := &sockConn{Conn: c}
	if s, ok := c.(syscall.Conn); ok {
		rc.sc, _ = s.SyscallConn()
	}
	return rc
}

// errWouldBlock is returned by a non-blocking sockConn with no data.
var errWouldBlock error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "tunnel: no data ready" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

func (c *sockConn) Read(p []byte) (int, error) {
	if !c.nonblock || c.sc == nil || len(p) == 0 {
		return c.Conn.Read(p)
	}
	if c.rerr != nil {
		return 0, c.rerr
	}
	var n int
	var errno error
	err := c.sc.Read(func(fd uintptr) bool {
		c.reads++
		for {
			n, errno = syscall.Read(int(fd), p)
			if errno != syscall.EINTR {
				return true
			}
		}
	})
	switch {
	case err != nil:
		return 0, err
	case errno == syscall.EAGAIN:
		return 0, errWouldBlock
	case errno != nil:
		return 0, c.readError(errno)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (c *sockConn) readError(errno error) error {
	return &net.OpError{Op: "read", Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("read", errno)}
}

// startBatch makes the records crypto/tls writes accumulate until flush, so
// one tls.Conn Write of several records costs one system call.
func (c *sockConn) startBatch() {
	c.wmu.Lock()
	c.batching = true
	c.wmu.Unlock()
}

// flush writes the accumulated records and ends the batch.
func (c *sockConn) flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.batching = false
	if c.wbuf == nil {
		return nil
	}
	_, err := c.Conn.Write((*c.wbuf)[:c.wlen])
	recPool.Put(c.wbuf)
	c.wbuf, c.wlen = nil, 0
	return err
}

// recPool holds the record batches of one write: a full read buffer of
// plaintext plus record overhead (5-byte header, 16-byte tag, 1
// content-type byte per record).
var recPool = sync.Pool{New: func() any { b := make([]byte, bufSize+bufSize/1024+1024); return &b }}

func (c *sockConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.batching {
		return c.Conn.Write(p)
	}
	if c.wbuf == nil {
		c.wbuf = recPool.Get().(*[]byte)
	}
	if c.wlen+len(p) > len(*c.wbuf) {
		if c.wlen > 0 {
			if _, err := c.Conn.Write((*c.wbuf)[:c.wlen]); err != nil {
				return 0, err
			}
			c.wlen = 0
		}
		if len(p) > len(*c.wbuf) {
			return c.Conn.Write(p)
		}
	}
	c.wlen += copy((*c.wbuf)[c.wlen:], p)
	return len(p), nil
}

// endpoint is one side of a proxied connection.
type endpoint struct {
	rw    io.ReadWriter   // what payload is read from and written to
	raw   net.Conn        // the socket
	sc    syscall.RawConn // nil if the socket has no file descriptor
	tls   *tls.Conn       // nil for plaintext
	rc    *sockConn       // the socket under the TLS side; nil for plaintext
	bufs  *tlsBufs        // the TLS side's read buffers; nil: blocking reads
	armed time.Time       // when the read deadline was last pushed out
	// warmed is when the write deadline was last pushed out (by the pipe
	// that writes to this endpoint).
	warmed time.Time
	// starved: crypto/tls holds a partial record and the socket had no
	// more; wait before reading again.
	starved bool
	once    sync.Once
}

func newEndpoint(rw io.ReadWriter, raw net.Conn, tc *tls.Conn, rc *sockConn) *endpoint {
	e := &endpoint{rw: rw, raw: raw, tls: tc, rc: rc}
	if rc != nil && rc.sc != nil {
		if e.bufs = tlsBuffersOf(tc); e.bufs != nil {
			rc.nonblock = true
		}
	}
	if s, ok := raw.(syscall.Conn); ok {
		e.sc, _ = s.SyscallConn()
	}
	return e
}

// write writes payload; on a TLS endpoint the records go out in one system
// call.
func (e *endpoint) write(b []byte) error {
	if e.rc == nil {
		_, err := e.rw.Write(b)
		return err
	}
	e.rc.startBatch()
	_, err := e.rw.Write(b)
	if ferr := e.rc.flush(); err == nil {
		err = ferr
	}
	return err
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

// waitReadable blocks until the TLS socket is readable (data, EOF or an
// error) without holding a buffer before then, honouring the read deadline.
// The data goes straight into crypto/tls's input buffer; an EOF or socket
// error is kept for the next Read, which reports it through crypto/tls.
// RawConn.Read clears the poller's readiness before calling the function,
// so the function reads the socket itself first: data that arrived just
// before is not missed.
func (e *endpoint) waitReadable() error {
	var n int
	var errno error
	err := e.rc.sc.Read(func(fd uintptr) bool {
		e.rc.reads++
		n, errno = e.bufs.readOnce(int(fd))
		return errno != syscall.EAGAIN
	})
	switch {
	case err != nil:
		return err
	case n > 0:
	case errno != nil:
		e.rc.rerr = e.rc.readError(errno)
	default:
		e.rc.rerr = io.EOF
	}
	return nil
}

// readTLS returns the payload of the records that have arrived, gathered
// into one pooled buffer (one write to the target instead of one per
// record). With nothing received it releases the connection's read buffers
// and waits for the socket.
func (e *endpoint) readTLS() (bp *[]byte, n int, err error) {
	for {
		if e.starved || !e.bufs.buffered() {
			e.bufs.park()
			if err := e.waitReadable(); err != nil {
				return nil, 0, err
			}
			e.starved = false
		}
		bp = bufPool.Get().(*[]byte)
		n, err = e.rw.Read(*bp)
		for err == nil && n < len(*bp) && e.bufs.buffered() {
			var k int
			k, err = e.rw.Read((*bp)[n:])
			n += k
		}
		if errors.Is(err, errWouldBlock) {
			err, e.starved = nil, true // a partial record: wait for the rest
		}
		if n > 0 || err != nil {
			return bp, n, err
		}
		bufPool.Put(bp)
	}
}

// readPlain reads from a plaintext socket. The buffer is taken from the
// pool only when the read has data, so a waiting connection holds none, and
// a ready socket costs one system call.
func (e *endpoint) readPlain() (bp *[]byte, n int, err error) {
	var rerr error
	err = e.sc.Read(func(fd uintptr) bool {
		if bp == nil {
			bp = bufPool.Get().(*[]byte)
		}
		for {
			n, rerr = syscall.Read(int(fd), *bp)
			if rerr != syscall.EINTR {
				break
			}
		}
		if rerr == syscall.EAGAIN {
			bufPool.Put(bp)
			bp = nil
			return false
		}
		return true
	})
	if n < 0 {
		n = 0
	}
	switch {
	case err != nil:
	case rerr != nil:
		err = os.NewSyscallError("read", rerr)
	case n == 0:
		err = io.EOF
	}
	if bp == nil {
		bp = bufPool.Get().(*[]byte)
	}
	return bp, n, err
}

var errIdle = errors.New("idle timeout")

// pipe copies src to dst until EOF or an error. It returns nil on a clean
// EOF (after propagating the half-close), errIdle when the connection saw no
// traffic in either direction for idle.
func pipe(src, dst *endpoint, idle time.Duration, last *atomic.Int64, count func(int)) error {
	if src.bufs != nil {
		defer src.bufs.release() // src is read by this loop only: nobody reads it after
	}
	rearm := max(idle/16, time.Second)
	for {
		if now := time.Now(); now.Sub(src.armed) > rearm {
			_ = src.raw.SetReadDeadline(now.Add(idle))
			src.armed = now
		}
		var (
			bp  *[]byte
			n   int
			err error
		)
		switch {
		case src.bufs != nil:
			bp, n, err = src.readTLS()
		case src.rc == nil && src.sc != nil:
			bp, n, err = src.readPlain()
		default: // blocking reads
			bp = bufPool.Get().(*[]byte)
			n, err = src.rw.Read(*bp)
		}
		if n > 0 {
			now := time.Now()
			last.Store(now.UnixNano())
			// A peer that stops reading must not hold the connection
			// forever: once the other direction is done (half-close)
			// nothing else would notice. A write deadline cannot be
			// retried like a read one, so it is pushed out well before
			// it could expire.
			if now.Sub(dst.warmed) > idle/16 {
				_ = dst.raw.SetWriteDeadline(now.Add(idle))
				dst.warmed = now
			}
			if werr := dst.write((*bp)[:n]); werr != nil {
				bufPool.Put(bp)
				if errors.Is(werr, os.ErrDeadlineExceeded) {
					return errIdle
				}
				return werr
			}
			count(n)
		}
		if bp != nil {
			bufPool.Put(bp)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				dst.closeWrite()
				return nil
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if time.Since(time.Unix(0, last.Load())) < idle {
					src.armed = time.Time{} // the other direction is active: re-arm
					continue
				}
				return errIdle
			}
			return err
		}
	}
}

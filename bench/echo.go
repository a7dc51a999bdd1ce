package bench

import (
	"crypto/tls"
	"io"
	"net"
	"sync"
	"time"

	"github.com/pqtls/pqtls/internal/acceptloop"
)

// EchoServer is a reference echo server: plaintext, or TLS straight from
// Go's crypto/tls with no pqtls code in the path (the "bare" baseline the
// tunnel is compared with).
type EchoServer struct {
	ln  net.Listener
	cfg *tls.Config
	wg  sync.WaitGroup
}

// NewEchoServer serves on ln; cfg nil means plaintext.
func NewEchoServer(ln net.Listener, cfg *tls.Config) *EchoServer {
	s := &EchoServer{ln: ln, cfg: cfg}
	s.wg.Add(1)
	go s.serve()
	return s
}

// Addr returns the listening address.
func (s *EchoServer) Addr() net.Addr { return s.ln.Addr() }

// Close stops accepting.
func (s *EchoServer) Close() error {
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

func (s *EchoServer) serve() {
	defer s.wg.Done()
	for {
		// EMFILE under an idle-connection run: acceptloop waits for a
		// descriptor instead of spinning on Accept.
		c, err := acceptloop.Accept(s.ln, nil, nil)
		if err != nil {
			return
		}
		go s.handle(c)
	}
}

func (s *EchoServer) handle(raw net.Conn) {
	defer raw.Close()
	var c net.Conn = raw
	if s.cfg != nil {
		tc := tls.Server(raw, s.cfg)
		_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			return
		}
		_ = raw.SetDeadline(time.Time{})
		c = tc
	}
	// A plain read/write loop: io.Copy between TCP sockets would splice
	// through a pooled pipe (two more descriptors per connection), which
	// caps how many idle connections a reference backend can hold.
	bp := echoBufs.Get().(*[]byte)
	_, _ = io.CopyBuffer(writerOnly{c}, readerOnly{c}, *bp)
	echoBufs.Put(bp)
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

var echoBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

type writerOnly struct{ io.Writer }
type readerOnly struct{ io.Reader }

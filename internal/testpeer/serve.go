package testpeer

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/acceptloop"
)

// Serve runs the accept loop every Go test server needs: it accepts
// connections on ln until the test ends, and runs handle for each in its own
// goroutine with the connection's deadline set to timeout (0: 10 s). Serve
// closes each connection when handle returns. Cleanup closes ln and every
// connection still open, then waits for the handlers, so no goroutine
// outlives the test.
func Serve(tb testing.TB, ln net.Listener, timeout time.Duration, handle func(net.Conn)) {
	tb.Helper()
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	var (
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := acceptloop.Accept(ln, nil, nil)
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = struct{}{}
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					c.Close()
				}()
				_ = c.SetDeadline(time.Now().Add(timeout))
				handle(c)
			}()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}

// ServeHTTP runs an HTTP server: serve (srv.Serve(ln), srv.ServeTLS,
// srv.ListenAndServeTLS...) in its own goroutine until the test ends, then
// srv.Shutdown (5 s) and a wait for serve to return.
func ServeHTTP(tb testing.TB, srv *http.Server, serve func() error) {
	tb.Helper()
	done := make(chan struct{})
	go func() { defer close(done); _ = serve() }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	})
}

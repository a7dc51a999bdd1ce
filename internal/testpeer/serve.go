package testpeer

import (
	"net"
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

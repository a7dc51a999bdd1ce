package httpserve

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestServerLimits(t *testing.T) {
	srv := NewServer(http.NotFoundHandler(), Options{})
	if srv.ReadHeaderTimeout != 5*time.Second || srv.ReadTimeout != 30*time.Second ||
		srv.WriteTimeout != 30*time.Second || srv.IdleTimeout != 60*time.Second || srv.MaxHeaderBytes != 16<<10 {
		t.Fatalf("limits: %+v", srv)
	}
	if NewServer(nil, Options{WriteTimeout: time.Minute}).WriteTimeout != time.Minute {
		t.Fatal("WriteTimeout override ignored")
	}
}

func TestDefaultMaxConns(t *testing.T) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	want := min(256, int(rl.Cur/4))
	if got := DefaultMaxConns(); got != max(want, 1) {
		t.Fatalf("DefaultMaxConns = %d, want %d (soft limit %d)", got, want, rl.Cur)
	}
}

// get sends one keep-alive request on c and reads the status line.
func get(c net.Conn, r *bufio.Reader) (string, error) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.Status, nil
}

func TestCapClosesExcessAndCounts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	rej, err := NewRejectedCounter(reg, "test")
	if err != nil {
		t.Fatal(err)
	}
	srv := Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }), Options{MaxConns: 3, Rejected: rej})
	defer srv.Close()

	// Three idle keep-alive clients hold the cap.
	var held []net.Conn
	for i := range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if st, err := get(c, bufio.NewReader(c)); err != nil || !strings.HasPrefix(st, "200") {
			t.Fatalf("client %d: %q %v", i, st, err)
		}
		held = append(held, c)
	}
	// Five more are closed at accept, without an answer, and counted.
	for i := range 5 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := get(c, bufio.NewReader(c)); err == nil {
			t.Fatalf("excess client %d got an answer", i)
		}
		c.Close()
	}
	if got := testutil.ToFloat64(rej); got != 5 {
		t.Fatalf("rejected = %v, want 5", got)
	}
	// A slot freed is usable again.
	held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		st, err := get(c, bufio.NewReader(c))
		c.Close()
		if err == nil && strings.HasPrefix(st, "200") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("freed slot never served: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRejectedCounterSharedOnRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := NewRejectedCounter(reg, "tunnel")
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewRejectedCounter(reg, "tunnel")
	if err != nil {
		t.Fatal(err)
	}
	a.Inc()
	if testutil.ToFloat64(b) != 1 {
		t.Fatal("second registration does not share the counter")
	}
	// Another server on the same registry is another series of the family.
	if _, err := NewRejectedCounter(reg, "exporter"); err != nil {
		t.Fatalf("second server on one registry: %v", err)
	}
}

// emfileOnce fails its first Accept with EMFILE, as a process out of
// descriptors does.
type emfileOnce struct {
	net.Listener
	failed bool
}

func (e *emfileOnce) Accept() (net.Conn, error) {
	if !e.failed {
		e.failed = true
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return e.Listener.Accept()
}

// EMFILE is temporary: the capped listener backs off and serves the next
// client instead of handing the error to http.Server (which would retry on
// its own rule) or ending the server.
func TestLimitListenerRetriesEMFILE(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	l := LimitListener(&emfileOnce{Listener: ln}, 2, nil)
	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}()
	c, err := l.Accept()
	if err != nil {
		t.Fatalf("Accept = %v, want the connection after EMFILE", err)
	}
	c.Close()
	ln.Close()
	if _, err := l.Accept(); err == nil {
		t.Fatal("Accept on a closed listener succeeded")
	}
}

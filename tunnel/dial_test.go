package tunnel

import (
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestLoopbackTarget(t *testing.T) {
	for _, tc := range []struct {
		network, addr string
		want          bool
	}{
		{"tcp", "127.0.0.1:5432", true},
		{"tcp", "127.8.0.2:80", true},
		{"tcp", "[::1]:443", true},
		{"tcp", "localhost:6379", true},
		{"tcp", "10.0.0.5:5432", false},
		{"tcp", "db.internal:5432", false},
		{"tcp", "[2001:db8::1]:443", false},
		{"unix", "/run/app.sock", false},
		{"tcp", "no-port", false},
	} {
		if got := loopbackTarget(tc.network, tc.addr); got != tc.want {
			t.Errorf("loopbackTarget(%q, %q) = %v, want %v", tc.network, tc.addr, got, tc.want)
		}
	}
}

// TestDialTargetLoopbackNoKeepalive checks that a loopback target socket
// has no TCP keepalive (Go's dialer enables it by default).
func TestDialTargetLoopbackNoKeepalive(t *testing.T) {
	ln := listenLocal(t)
	c, err := dialTarget("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var on int
	var gerr error
	_ = sc.Control(func(fd uintptr) { on, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_KEEPALIVE) })
	if gerr != nil {
		t.Fatal(gerr)
	}
	if on != 0 {
		t.Fatal("loopback target socket has SO_KEEPALIVE on")
	}
}

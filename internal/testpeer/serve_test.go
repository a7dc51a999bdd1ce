package testpeer

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"
)

func TestServeHandlesAndCleansUp(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("serve", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		Serve(t, ln, time.Second, func(c net.Conn) {
			line, _ := bufio.NewReader(c).ReadString('\n')
			fmt.Fprintf(c, "got %s", line)
		})
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintln(c, "ping")
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		reply, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || reply != "got ping\n" {
			t.Fatalf("reply %q, %v", reply, err)
		}
		// A client that never writes: its handler blocks until cleanup
		// closes the connection.
		idle, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer idle.Close()
		time.Sleep(20 * time.Millisecond)
	})
	// After the subtest's cleanup every accept and handler goroutine is gone.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left after cleanup (had %d)", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

package acceptloop

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"
)

func acceptErr(errno syscall.Errno) error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errno)}
}

type timeoutErr struct{}

func (timeoutErr) Error() string { return "i/o timeout" }
func (timeoutErr) Timeout() bool { return true }

func TestTemporary(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{acceptErr(syscall.EMFILE), true},
		{acceptErr(syscall.ENFILE), true},
		{acceptErr(syscall.ECONNABORTED), true},
		{acceptErr(syscall.ENOBUFS), true},
		{&net.OpError{Op: "accept", Err: timeoutErr{}}, true},
		{fmt.Errorf("wrapped: %w", acceptErr(syscall.EMFILE)), true},
		{net.ErrClosed, false},
		{&net.OpError{Op: "accept", Err: net.ErrClosed}, false},
		{acceptErr(syscall.EINVAL), false},
		{errors.New("boom"), false},
		{nil, false},
	} {
		if got := Temporary(c.err); got != c.want {
			t.Errorf("Temporary(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestNextDoublesToOneSecond(t *testing.T) {
	var got []time.Duration
	d := time.Duration(0)
	for range 10 {
		d = Next(d)
		got = append(got, d)
	}
	want := []time.Duration{5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if !slices.Equal(got, want) {
		t.Fatalf("delays %v, want %v", got, want)
	}
}

// scripted fails Accept with each of errs in turn, then defers to Listener.
type scripted struct {
	net.Listener
	errs []error
}

func (s *scripted) Accept() (net.Conn, error) {
	if len(s.errs) > 0 {
		err := s.errs[0]
		s.errs = s.errs[1:]
		return nil, err
	}
	return s.Listener.Accept()
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func TestAcceptRetriesTemporaryErrors(t *testing.T) {
	ln := listen(t)
	s := &scripted{Listener: ln, errs: []error{acceptErr(syscall.EMFILE), acceptErr(syscall.ECONNABORTED), acceptErr(syscall.EMFILE)}}
	go func() {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		if err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}()
	var delays []time.Duration
	c, err := Accept(s, nil, func(err error, d time.Duration) {
		if !Temporary(err) {
			t.Errorf("onRetry called with %v", err)
		}
		delays = append(delays, d)
	})
	if err != nil {
		t.Fatalf("Accept = %v, want the connection after three temporary errors", err)
	}
	c.Close()
	if want := []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond}; !slices.Equal(delays, want) {
		t.Fatalf("retry delays %v, want %v", delays, want)
	}
}

func TestAcceptReturnsPermanentErrors(t *testing.T) {
	ln := listen(t)
	perm := acceptErr(syscall.EINVAL)
	s := &scripted{Listener: ln, errs: []error{perm}}
	retried := false
	if _, err := Accept(s, nil, func(error, time.Duration) { retried = true }); !errors.Is(err, perm) {
		t.Fatalf("Accept = %v, want %v", err, perm)
	}
	if retried {
		t.Fatal("a permanent error was retried")
	}
	ln.Close()
	if _, err := Accept(ln, nil, nil); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept on a closed listener = %v, want net.ErrClosed", err)
	}
}

// Closing done ends the wait between retries: the caller is shutting down.
func TestAcceptStopsWhenDone(t *testing.T) {
	ln := listen(t)
	errs := make([]error, 100)
	for i := range errs {
		errs[i] = acceptErr(syscall.EMFILE)
	}
	s := &scripted{Listener: ln, errs: errs}
	done := make(chan struct{})
	n := 0
	_, err := Accept(s, done, func(error, time.Duration) {
		n++
		if n == 2 {
			close(done)
		}
	})
	if !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept = %v, want net.ErrClosed once done is closed", err)
	}
	if n != 2 {
		t.Fatalf("%d retries, want 2 (stop at the wait after done closed)", n)
	}
}

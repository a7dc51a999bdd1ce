package testpeer

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStartOnFreePortRetriesBindFailure(t *testing.T) {
	launches := 0
	port, p := startOnFreePort(t, func(port int) *Proc {
		launches++
		if launches == 1 {
			return start(t, "fake", procOptions{}, "/bin/sh", "-c", "echo 'bind: Address already in use' >&2; exit 1")
		}
		return start(t, "fake", procOptions{}, "/bin/sh", "-c", "exec sleep 60")
	}, func(port int, p *Proc) error {
		if launches == 1 {
			<-p.Done()
			return p.Err()
		}
		return nil
	})
	if launches != 2 || port == 0 || p.Exited() {
		t.Fatalf("launches %d port %d exited %v", launches, port, p.Exited())
	}
	p.Stop()
	if !p.Exited() {
		t.Error("Stop did not end the process")
	}
}

func TestProcStopKillsGroupAndKeepsOutput(t *testing.T) {
	// The child ignores SIGTERM: Stop must SIGKILL it after StopTimeout.
	p := start(t, "stubborn", procOptions{stop: syscall.SIGTERM, stopTO: 100 * time.Millisecond}, "/bin/sh", "-c", "trap '' TERM; echo started; while :; do sleep 1; done")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.Output(), "started") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	p.Stop()
	if !p.Exited() {
		t.Fatal("process survived Stop")
	}
	if _, ok := p.Err().(interface{ ExitCode() int }); !ok || !strings.Contains(p.Err().Error(), "killed") {
		t.Errorf("want the shell killed by SIGKILL, got %v", p.Err())
	}
	if !strings.Contains(p.Output(), "started") {
		t.Errorf("output %q", p.Output())
	}
	b := &tailBuffer{max: 4}
	_, _ = b.Write([]byte("abcdef"))
	if b.String() != "cdef" {
		t.Errorf("tail %q", b.String())
	}
}

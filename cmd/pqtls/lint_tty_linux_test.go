package main

import (
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: writes to the returned tty are read
// from master.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// With --color auto (the default) the human report is coloured on a
// terminal, and not when NO_COLOR is set.
func TestLintColourOnTerminal(t *testing.T) {
	for _, noColor := range []bool{false, true} {
		if noColor {
			t.Setenv("NO_COLOR", "1")
		}
		master, tty := openPTY(t)
		got := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(master) // ends with EIO once tty is closed
			got <- string(b)
		}()
		code := run([]string{"lint", "--fail-on", "none", "../../examples/lint/deploy"}, strings.NewReader(""), tty, io.Discard)
		tty.Close()
		out := <-got
		if code != 0 || !strings.Contains(out, "PQ301") {
			t.Fatalf("exit %d, output %q", code, out)
		}
		if colored := strings.Contains(out, "\x1b["); colored == noColor {
			t.Errorf("NO_COLOR=%v: coloured=%v on a terminal", noColor, colored)
		}
	}
}

// -o to a FIFO without a reader: exit 2 at once, nothing linted.
func TestLintOutputFIFOWithoutReader(t *testing.T) {
	dir := t.TempDir()
	fifo := dir + "/out.fifo"
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	os.WriteFile(dir+"/app.env", []byte("GODEBUG=tlsmlkem=0\n"), 0o644)
	code, out, errOut := runLintCmd(t, "-o", fifo, dir)
	if code != 2 || out != "" || !strings.Contains(errOut, "no reader") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

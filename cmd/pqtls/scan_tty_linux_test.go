package main

import (
	"crypto/tls"
	"io"
	"strings"
	"testing"

	"github.com/pqtls/pqtls/internal/testpki"
)

// hostileSubjectServer serves TLS with a certificate whose subject carries
// terminal control sequences (an OSC title change, a colour, a bell).
func hostileSubjectServer(t *testing.T) string {
	t.Helper()
	cert := testpki.NewCA(t).Server(t, testpki.CertOptions{CommonName: "\x1b]0;pwned\x07\x1b[31mevil\r\nforged,row", NoDefaultSANs: true})
	return serveLoopback(t, &tls.Config{Certificates: []tls.Certificate{cert.TLS}}, drain)
}

func scanToTTY(t *testing.T, args ...string) (int, string) {
	t.Helper()
	master, tty := openPTY(t)
	got := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(master)
		got <- string(b)
	}()
	code := run(args, strings.NewReader(""), tty, io.Discard)
	tty.Close()
	return code, <-got
}

// TestScanCSVToTerminalEscapesServerText: the certificate subject is the
// server's text; on a terminal its control characters are escaped, in a
// file they are kept (the CSV is data).
func TestScanCSVToTerminalEscapesServerText(t *testing.T) {
	addr := hostileSubjectServer(t)
	code, out := scanToTTY(t, "scan", "--quick", "--format", "csv", addr)
	if code != 0 || !strings.Contains(out, `pwned\x07\x1b[31mevil\r\nforged`) {
		t.Fatalf("exit %d, output %q", code, out)
	}
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Errorf("raw control characters on the terminal: %q", out)
	}
	_, file, _ := scanCLI(t, "", "scan", "--quick", "--format", "csv", addr)
	if !strings.Contains(file, "pwned\x07\x1b[31m") {
		t.Errorf("CSV to a file lost the subject's bytes: %q", file)
	}
}

// TestScanTableHonoursNoColor: --color auto colours the table on a
// terminal, unless NO_COLOR is set; --color always wins over NO_COLOR.
func TestScanTableHonoursNoColor(t *testing.T) {
	for _, tc := range []struct {
		noColor, colour string
		want            bool
	}{{"", "auto", true}, {"1", "auto", false}, {"1", "always", true}} {
		t.Setenv("NO_COLOR", tc.noColor)
		code, out := scanToTTY(t, "scan", "--quick", "--color", tc.colour, hostileSubjectServer(t))
		if code != 0 || !strings.Contains(out, "pq_ready") {
			t.Fatalf("exit %d, output %q", code, out)
		}
		if got := strings.Contains(out, "\x1b["); got != tc.want {
			t.Errorf("NO_COLOR=%q --color %s: coloured=%v", tc.noColor, tc.colour, got)
		}
	}
}

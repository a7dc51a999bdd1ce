package main

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeDemoCompileTime: the README's first command compiles pqtls
// silently before the demo prints anything; it must say so, not promise a
// result "in seconds".
func TestReadmeDemoCompileTime(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "go run ./cmd/pqtls demo") {
			line = l
			break
		}
	}
	if !strings.Contains(line, "20–40 s") || strings.Contains(line, "in seconds") {
		t.Errorf("README demo line %q: say that the first run compiles for 20–40 s", line)
	}
	if short := newDemoCmd(streams{}).Short; strings.Contains(short, "in seconds") {
		t.Errorf("demo help %q promises seconds; the measurement runs %d handshakes per case", short, 200)
	}
}

// TestDemoHandshakesAtLeast200: the cost measurement takes at least 200
// handshakes per case; fewer is a usage error.
func TestDemoHandshakesAtLeast200(t *testing.T) {
	code, _, stderr := runCLI(t, "demo", "--handshakes", "199")
	if code != exitUsage || !strings.Contains(stderr, "at least 200") {
		t.Errorf("--handshakes 199: exit %d, %q", code, stderr)
	}
}

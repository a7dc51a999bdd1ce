package report

import (
	"os"
	"testing"
)

func TestTermSafe(t *testing.T) {
	cases := map[string]string{
		"plain CN=api.internal": "plain CN=api.internal",
		"Zürich 東京":             "Zürich 東京",
		"evil\x1b[2J\x07bell":   `evil\x1b[2J\x07bell`,
		"two\nlines\r":          `two\nlines\r`,
		"tab\there":             `tab\there`,
		"del\x7f c1\u009b":      `del\x7f c1\u009b`,
		"bidi \u202eexe.txt":    `bidi \u202eexe.txt`,
		"bad utf8 \xff\xfe":     `bad utf8 \xff\xfe`,
		"":                      "",
	}
	for in, want := range cases {
		if got := TermSafe(in); got != want {
			t.Errorf("TermSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Fatal("a regular file is not a terminal")
	}
	if IsTerminal(nil) {
		t.Fatal("nil is not a terminal")
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		if !IsTerminal(tty) {
			t.Fatal("/dev/tty is a terminal")
		}
	}
}

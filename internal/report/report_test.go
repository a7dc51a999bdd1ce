package report

import (
	"bytes"
	"encoding/csv"
	"os"
	"strings"
	"testing"
	"time"
)

func TestCSVNeutralisesFormulas(t *testing.T) {
	// OWASP CSV injection: =, +, -, @, tab and CR get a leading quote,
	// negative numbers and numeric-prefixed formulas included.
	cells := map[string]string{
		"=cmd|'/c calc'!A1":          "'=cmd|'/c calc'!A1",
		"-3":                         "'-3",
		"-1+cmd|' /C calc'!A0":       "'-1+cmd|' /C calc'!A0",
		"+2+HYPERLINK(\"http://x\")": "'+2+HYPERLINK(\"http://x\")",
		"@x":                         "'@x",
		"\t=1+1":                     "'\t=1+1",
		"\r=1+1":                     "'\r=1+1",
		"3.5":                        "3.5",
		"a=b":                        "a=b",
		"":                           "",
	}
	var in, want []string
	for c, w := range cells {
		in, want = append(in, c), append(want, w)
	}
	var b bytes.Buffer
	if err := CSV(&b, in, [][]string{in}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("rows %q err %v", rows, err)
	}
	for i := range want {
		if rows[1][i] != want[i] {
			t.Errorf("cell %q written %q, want %q", in[i], rows[1][i], want[i])
		}
	}
}

// TestTableEscapesControlCharacters: a cell with terminal control
// sequences (a server's certificate subject, a reason) is printed escaped.
func TestTableEscapesControlCharacters(t *testing.T) {
	tb := Table{Columns: []string{"A", "B"}, Rows: [][]string{{"\x1b]0;pwned\x07", "x\r\ny"}}}
	var b bytes.Buffer
	tb.Write(&b, false)
	if want := "A                 B\n\\x1b]0;pwned\\x07  x\\r\\ny\n"; b.String() != want {
		t.Errorf("table %q, want %q", b.String(), want)
	}
}

func TestTableAlignmentAndColour(t *testing.T) {
	tb := Table{Columns: []string{"A", "LONGER"}, Rows: [][]string{{"xxxx", "y"}, {"z", "é"}}, RowColour: []Colour{Green, None}}
	var plain, col bytes.Buffer
	tb.Write(&plain, false)
	tb.Write(&col, true)
	want := "A     LONGER\nxxxx  y\nz     é\n"
	if plain.String() != want {
		t.Errorf("table:\n%q\nwant\n%q", plain.String(), want)
	}
	if strings.Contains(plain.String(), "\x1b") || !strings.Contains(col.String(), "\x1b[32mxxxx  y\x1b[0m") {
		t.Errorf("colour: %q", col.String())
	}
}

func TestHTMLSelfContainedAndEscaped(t *testing.T) {
	var b bytes.Buffer
	p := &Page{Title: "t", Stats: []Stat{{Label: "ok", Value: "3", Class: "good"}},
		Charts:  []BarChart{{Title: "c", Bars: []Bar{{Label: "a", Value: 2, Class: "good"}, {Label: "b", Value: 4}}}},
		Table:   &HTMLTable{Columns: []string{"x"}, Rows: []HTMLRow{{Cells: []string{"<script>alert(1)</script>"}, DetailID: "d0"}}},
		Details: []Detail{{ID: "d0", Title: "d", Fields: [][2]string{{"k", "v"}}}}}
	if err := HTML(&b, p); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	if strings.Contains(s, "<script>alert(1)") || !strings.Contains(s, "&lt;script&gt;") {
		t.Errorf("cell not escaped")
	}
	for _, bad := range []string{"<link", "src=", "@import", "url(", "http://", "https://"} {
		if strings.Contains(strings.ReplaceAll(s, "http://www.w3.org", ""), bad) {
			t.Errorf("HTML references an external asset: %q", bad)
		}
	}
	if !strings.Contains(s, `width="301"`) || !strings.Contains(s, `width="151"`) {
		t.Errorf("bar widths not proportional")
	}
}

func TestNewBOM(t *testing.T) {
	b := NewBOM(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "pqtls", "v1")
	if b.BOMFormat != "CycloneDX" || b.SpecVersion != "1.6" || b.Metadata.Timestamp != "2026-01-02T03:04:05Z" || len(b.SerialNumber) != len("urn:uuid:")+36 || b.SerialNumber[len("urn:uuid:")+14] != '4' {
		t.Errorf("bom header %+v", b)
	}
}

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

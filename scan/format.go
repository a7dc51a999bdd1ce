package scan

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/pqtls/pqtls/internal/report"
)

// RenderOptions shape the human outputs.
type RenderOptions struct {
	// Colour adds ANSI colours to the table (only for a terminal).
	Colour bool
	// Terminal says the output is a terminal: CSV cells then go through
	// report.TermSafe too (the table always does).
	Terminal bool
}

// Format is one output format of a scan report: adding a format is one row
// of Formats.
type Format struct {
	Name        string
	Description string
	Write       func(w io.Writer, rep *Report, o RenderOptions) error
}

// Formats lists the output formats of pqtls scan (--format), in help order.
var Formats = []Format{
	{"table", "aligned text table, a summary line and the migrate-first list", func(w io.Writer, rep *Report, o RenderOptions) error { return WriteTable(w, rep, o.Colour) }},
	{"json", "JSON report, schema " + Schema, func(w io.Writer, rep *Report, _ RenderOptions) error { return report.JSON(w, rep) }},
	{"csv", "one CSV row per endpoint", func(w io.Writer, rep *Report, o RenderOptions) error { return writeCSV(w, rep, o.Terminal) }},
	{"html", "self-contained HTML page", func(w io.Writer, rep *Report, _ RenderOptions) error { return WriteHTML(w, rep) }},
	{"cbom", "CycloneDX 1.6 cryptographic bill of materials (JSON)", func(w io.Writer, rep *Report, _ RenderOptions) error {
		return report.JSON(w, BuildCBOM(rep))
	}},
}

// FormatNames returns the names of Formats.
func FormatNames() []string {
	out := make([]string, len(Formats))
	for i, f := range Formats {
		out[i] = f.Name
	}
	return out
}

// ParseFormat finds a format by name (trimmed, case-insensitive); an
// unknown name is an error listing the valid ones.
func ParseFormat(s string) (Format, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	if i := slices.IndexFunc(Formats, func(f Format) bool { return f.Name == name }); i >= 0 {
		return Formats[i], nil
	}
	return Format{}, fmt.Errorf("unknown format %q: use %s", s, strings.Join(FormatNames(), ", "))
}

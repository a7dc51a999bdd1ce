// Package report writes the machine and human outputs shared by pqtls scan,
// lint and observe: aligned tables (colour on a TTY), indented JSON, CSV, one
// self-contained HTML page (inline CSS, JS and SVG charts, no external
// assets) and CycloneDX 1.6 cryptographic bills of materials. Output files
// are opened with internal/outfile.
package report

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"
	"unicode/utf8"
)

// JSON writes v as indented JSON followed by a newline.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// CSV writes a header and rows as RFC 4180 CSV. Following OWASP's CSV
// injection guidance, a cell that starts with =, +, -, @, tab or carriage
// return gets a leading single quote so that spreadsheets show it as text
// instead of running it as a formula; negative numbers included ("-3"
// becomes "'-3": "-1+cmd|..." parses as a number prefix too).
func CSV(w io.Writer, header []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, r := range rows {
		safe := make([]string, len(r))
		for i, c := range r {
			safe[i] = csvCell(c)
		}
		if err := cw.Write(safe); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvCell neutralises one CSV cell (see CSV).
func csvCell(c string) string {
	if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
		return "'" + c
	}
	return c
}

// Colour is an ANSI SGR colour for a table row or cell.
type Colour string

// Colours used by the table writer.
const (
	None   Colour = ""
	Green  Colour = "32"
	Yellow Colour = "33"
	Red    Colour = "31"
	Grey   Colour = "90"
	Bold   Colour = "1"
)

// Table is an aligned text table.
type Table struct {
	Columns []string
	Rows    [][]string
	// RowColour colours whole rows (same length as Rows, or nil).
	RowColour []Colour
}

// Write renders the table; colour adds ANSI colours (use it only when w is
// a terminal). Every cell goes through TermSafe: a server-controlled value
// cannot move the cursor or forge a row.
func (t *Table) Write(w io.Writer, colour bool) error {
	rows := make([][]string, len(t.Rows))
	for i, r := range t.Rows {
		rows[i] = make([]string, len(r))
		for j, c := range r {
			rows[i][j] = TermSafe(c)
		}
	}
	widths := make([]int, len(t.Columns))
	for i, c := range t.Columns {
		widths[i] = utf8.RuneCountInString(c)
	}
	for _, r := range rows {
		for i := 0; i < len(r) && i < len(widths); i++ {
			widths[i] = max(widths[i], utf8.RuneCountInString(r[i]))
		}
	}
	bw := bufio.NewWriter(w)
	line := func(cells []string, col Colour) {
		var b strings.Builder
		for i := range widths {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			b.WriteString(c)
			if i < len(widths)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
			}
		}
		s := strings.TrimRight(b.String(), " ")
		if colour && col != None {
			s = "\x1b[" + string(col) + "m" + s + "\x1b[0m"
		}
		bw.WriteString(s + "\n")
	}
	line(t.Columns, Bold)
	for i, r := range rows {
		col := None
		if i < len(t.RowColour) {
			col = t.RowColour[i]
		}
		line(r, col)
	}
	return bw.Flush()
}

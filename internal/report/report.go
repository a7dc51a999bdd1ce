// Package report writes the machine and human outputs shared by pqtls scan,
// lint and observe: aligned tables (colour on a TTY), indented JSON, CSV, one
// self-contained HTML page (inline CSS, JS and SVG charts, no external
// assets) and CycloneDX 1.6 cryptographic bills of materials. Files are
// written atomically (temporary file + rename) so that a failed run never
// leaves a half-written report.
package report

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// WriteFileAtomic writes a file through write into a temporary file in the
// same directory, syncs it and renames it over path. On any error the
// temporary file is removed and path is untouched.
func WriteFileAtomic(path string, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create %s: %w (check that the directory exists and is writable)", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriter(f)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename into %s: %w", path, err)
	}
	return nil
}

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
// a terminal).
func (t *Table) Write(w io.Writer, colour bool) error {
	widths := make([]int, len(t.Columns))
	for i, c := range t.Columns {
		widths[i] = utf8.RuneCountInString(c)
	}
	for _, r := range t.Rows {
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
	for i, r := range t.Rows {
		col := None
		if i < len(t.RowColour) {
			col = t.RowColour[i]
		}
		line(r, col)
	}
	return bw.Flush()
}

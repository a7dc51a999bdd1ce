package accesslog

import (
	"strings"
)

// zeekParser reads Zeek's ssl.log in either of its encodings: TSV with a
// "#fields" header (zeek's default ASCII writer), or one JSON object per
// line (LogAscii::use_json). The header may appear again (log rotation,
// concatenated files): each one applies to the lines after it.
type zeekParser struct {
	cols  []field // column index -> field, from the last #fields header
	sep   string
	unset string
	empty string
}

func newZeek() *zeekParser { return &zeekParser{sep: "\t", unset: "-", empty: "(empty)"} }

func (z *zeekParser) parse(line string, v *values) error {
	if strings.HasPrefix(line, "{") {
		return zeekJSON.parse(line, v)
	}
	if strings.HasPrefix(line, "#") {
		z.header(line)
		return errSkip
	}
	if z.cols == nil {
		return errf("a TSV line before the #fields header (or a JSON line that does not start with {)")
	}
	cols := strings.Split(line, z.sep)
	if len(cols) != len(z.cols) {
		return errf("%d columns, the #fields header names %d", len(cols), len(z.cols))
	}
	for i, c := range cols {
		if f := z.cols[i]; f != fNone && c != z.unset && c != z.empty {
			v[f] = c
		}
	}
	return nil
}

// header reads the "#separator", "#unset_field", "#empty_field" and
// "#fields" lines.
func (z *zeekParser) header(line string) {
	if rest, ok := strings.CutPrefix(line, "#separator "); ok {
		if rest == `\x09` {
			z.sep = "\t"
		} else if d, ok := nginxEscape(rest); ok && d != "" {
			z.sep = d
		}
		return
	}
	key, rest, ok := strings.Cut(line[1:], z.sep)
	if !ok {
		return
	}
	switch key {
	case "unset_field":
		z.unset = rest
	case "empty_field":
		z.empty = rest
	case "fields":
		names := strings.Split(rest, z.sep)
		z.cols = make([]field, len(names))
		for i, n := range names {
			z.cols[i] = zeekFields[n]
		}
	}
}

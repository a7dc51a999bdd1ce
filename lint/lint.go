// Package lint finds configuration and code that keeps TLS classical: curve
// lists without a hybrid post-quantum group, TLS 1.2 maximums, GODEBUG
// switches that turn ML-KEM off, toolchains and base images too old to offer
// it. Every finding names the rule, the exact position, and a concrete
// replacement text.
//
// Rules live in a stable registry (see Rules); Lint walks files and dispatches
// each file to the checkers of its format. Output writers for the human, JSON
// ("pqtls.lint/v1") and SARIF 2.1.0 formats are in report.go.
package lint

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// Severity ranks a finding. Higher is worse.
type Severity int

// Severities, lowest first.
const (
	SeverityInfo Severity = iota + 1
	SeverityWarning
	SeverityError
)

// String returns "info", "warning" or "error".
func (s Severity) String() string {
	switch s {
	case SeverityInfo:
		return "info"
	case SeverityWarning:
		return "warning"
	case SeverityError:
		return "error"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// ParseSeverity parses "info", "warning" or "error".
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "info", "note":
		return SeverityInfo, nil
	case "warning", "warn":
		return SeverityWarning, nil
	case "error":
		return SeverityError, nil
	}
	return 0, fmt.Errorf("unknown severity %q: use info, warning or error", s)
}

// Pos is a position in a file: 1-based line, 1-based byte column, and the
// 0-based byte offset.
type Pos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Offset int `json:"offset"`
}

// Fix is a concrete edit that resolves a finding: replace the bytes between
// Start and End (End exclusive) with NewText. An empty span is an insertion.
type Fix struct {
	// Description says what the edit does, in one sentence.
	Description string
	// Start and End delimit the replaced bytes.
	Start, End Pos
	// NewText is the replacement text.
	NewText string
	// Upgrade marks a fix that changes a version (toolchain, base image,
	// library): shown and exported, never applied by --fix.
	Upgrade bool
}

// Finding is one problem at one place.
type Finding struct {
	// Rule is the stable rule id, e.g. "PQ101".
	Rule string
	// Severity is the rule's severity, possibly adjusted for context (a go.mod
	// of a library module is less severe than one of a command).
	Severity Severity
	// File is the path as reported (slash-separated, relative to the working
	// directory when the file is below it).
	File string
	// Start and End delimit the offending text. End may equal Start.
	Start, End Pos
	// Message says what is wrong and why it keeps the connection classical.
	Message string
	// Snippet is the text of the start line, without the line terminator.
	Snippet string
	// Fix is the suggested edit, nil when no mechanical fix exists.
	Fix *Fix
	// Fixed is the text of the lines the fix touches, after the fix, for
	// display. Empty without a fix.
	Fixed string
}

// Fingerprint identifies a finding independently of its line number: a hash
// of the rule, the file and the trimmed text of the offending line. Baselines
// and SARIF partial fingerprints use it.
func (f Finding) Fingerprint() string { return f.fingerprintAs(f.File) }

// fingerprintAs is the fingerprint with the file named as file.
func (f Finding) fingerprintAs(file string) string {
	h := sha256.Sum256([]byte(f.Rule + "\x00" + file + "\x00" + strings.TrimSpace(f.Snippet)))
	return hex.EncodeToString(h[:16])
}

// fixedLines returns the text of the lines touched by the fix after applying
// it, for display. src is the whole file.
func (f Finding) fixedLines(src []byte) string {
	if f.Fix == nil {
		return ""
	}
	s, e := f.Fix.Start.Offset, f.Fix.End.Offset
	if s < 0 || e < s || e > len(src) {
		return f.Fix.NewText
	}
	ls := strings.LastIndexByte(string(src[:s]), '\n') + 1
	le := e
	if i := strings.IndexByte(string(src[e:]), '\n'); i >= 0 {
		le = e + i
	} else {
		le = len(src)
	}
	return string(src[ls:s]) + f.Fix.NewText + string(src[e:le])
}

// sortFindings orders findings by file, line, column, rule.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Start.Line != b.Start.Line {
			return a.Start.Line < b.Start.Line
		}
		if a.Start.Column != b.Start.Column {
			return a.Start.Column < b.Start.Column
		}
		return a.Rule < b.Rule
	})
}

// source is a file being checked: its reported name, content and line index.
type source struct {
	name  string
	data  []byte
	lines []int // byte offset of the start of each line
	kind  fileKind
	code  []string // codeLines, computed once for the line rules
}

// codeLines returns the lines with comments blanked (see codeLines),
// computed once per file.
func (s *source) codeLines() []string {
	if s.code == nil {
		s.code = codeLines(s, commentsOf(s.kind))
	}
	return s.code
}

func newSource(name string, data []byte, kind fileKind) *source {
	s := &source{name: name, data: data, kind: kind, lines: []int{0}}
	for i, b := range data {
		if b == '\n' {
			s.lines = append(s.lines, i+1)
		}
	}
	return s
}

// pos converts a byte offset into a Pos.
func (s *source) pos(off int) Pos {
	if off < 0 {
		off = 0
	}
	if off > len(s.data) {
		off = len(s.data)
	}
	i := sort.Search(len(s.lines), func(i int) bool { return s.lines[i] > off }) - 1
	return Pos{Line: i + 1, Column: off - s.lines[i] + 1, Offset: off}
}

// posLC converts a 1-based line and byte column into a Pos.
func (s *source) posLC(line, col int) Pos {
	if line < 1 {
		line = 1
	}
	if line > len(s.lines) {
		line = len(s.lines)
	}
	return s.pos(s.lines[line-1] + col - 1)
}

// line returns the text of a 1-based line without its terminator.
func (s *source) line(n int) string {
	if n < 1 || n > len(s.lines) {
		return ""
	}
	start := s.lines[n-1]
	end := len(s.data)
	if n < len(s.lines) {
		end = s.lines[n] - 1
	}
	return strings.TrimRight(string(s.data[start:end]), "\r")
}

// numLines is the number of lines (a trailing newline does not start one).
func (s *source) numLines() int {
	n := len(s.lines)
	if n > 1 && s.lines[n-1] == len(s.data) {
		n--
	}
	return n
}

// finding builds a finding for rule between two offsets, with the rule's
// default severity.
func (s *source) finding(rule string, start, end int, msg string, fix *Fix) Finding {
	r := ruleByID[rule]
	sp, ep := s.pos(start), s.pos(end)
	return Finding{Rule: rule, Severity: r.Severity, File: s.name, Start: sp, End: ep, Message: msg, Snippet: s.line(sp.Line), Fix: fix}
}

// replace builds a fix replacing the bytes [start, end) with text.
func (s *source) replace(desc string, start, end int, text string) *Fix {
	return &Fix{Description: desc, Start: s.pos(start), End: s.pos(end), NewText: text}
}

// ApplyFixes applies the fixes of the given findings of one file to its
// content and returns the result. Overlapping fixes are skipped (the first
// in file order wins), so the output is always well-formed.
func ApplyFixes(data []byte, fs []Finding) []byte {
	var fixes []*Fix
	for _, f := range fs {
		if f.Fix != nil {
			fixes = append(fixes, f.Fix)
		}
	}
	sort.SliceStable(fixes, func(i, j int) bool { return fixes[i].Start.Offset < fixes[j].Start.Offset })
	var out []byte
	last := 0
	for _, fx := range fixes {
		if fx.Start.Offset < last || fx.End.Offset > len(data) {
			continue
		}
		out = append(out, data[last:fx.Start.Offset]...)
		out = append(out, fx.NewText...)
		last = fx.End.Offset
	}
	return append(out, data[last:]...)
}

package lint

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// MaxFileSize is the largest file read; bigger files are skipped (logged at
// debug level), since configuration and source files are far smaller.
const MaxFileSize = 4 << 20

// Options tune a lint run. The zero value lints with every rule, honours
// .gitignore and skips testdata directories.
type Options struct {
	// Excludes are gitignore-style globs ("**/*_test.go", "deploy/old/").
	// A pattern without a slash matches a file or directory name at any
	// depth; one with a slash is anchored at each linted root.
	Excludes []string
	// IncludeTestdata walks testdata directories too (they usually hold
	// deliberately bad fixtures, so they are skipped by default).
	IncludeTestdata bool
	// NoGitignore lints files that .gitignore excludes.
	NoGitignore bool
	// Disable lists rule IDs or names not to report.
	Disable []string
	// Baseline, when set, hides the findings it records.
	Baseline *Baseline
	// BaseDir is the directory file names are reported relative to; empty
	// means the working directory.
	BaseDir string
	// Logger receives debug lines about skipped files; nil discards.
	Logger *slog.Logger
	// Progress, when set, is called with the number of files checked so
	// far after every file (the CLI shows it on a terminal only).
	Progress func(files int)
}

// Result is the outcome of a run.
type Result struct {
	// Findings are the reported findings, sorted by file and position.
	Findings []Finding
	// Files is the number of files checked.
	Files int
	// SuppressedInline counts findings hidden by pqtls-lint:ignore comments.
	SuppressedInline int
	// SuppressedBaseline counts findings hidden by the baseline.
	SuppressedBaseline int
	// BaseDir is the absolute directory the findings' file names are
	// relative to.
	BaseDir string
}

// Counts returns the number of findings per rule ID.
func (r *Result) Counts() map[string]int {
	m := map[string]int{}
	for _, f := range r.Findings {
		m[f.Rule]++
	}
	return m
}

// Max returns the highest severity among the findings, 0 when none.
func (r *Result) Max() Severity {
	var m Severity
	for _, f := range r.Findings {
		if f.Severity > m {
			m = f.Severity
		}
	}
	return m
}

// PathError reports a PATH argument that cannot be linted.
type PathError struct {
	Path string
	Err  error
}

func (e *PathError) Error() string {
	return fmt.Sprintf("cannot lint %s: %v (give an existing file or directory)", e.Path, e.Err)
}

func (e *PathError) Unwrap() error { return e.Err }

// RuleError reports an unknown rule ID or name.
type RuleError struct{ Rule string }

func (e *RuleError) Error() string {
	return fmt.Sprintf("unknown rule %q: use one of %s ('pqtls lint --list-rules' lists them)", e.Rule, strings.Join(ruleIDs(), ", "))
}

// Lint checks the files and directory trees named by paths (the working
// directory when empty). Unparsable files become PQ000 findings; only bad
// arguments (a missing path, a bad pattern, an unknown rule) are errors.
//
// long: the run's one pass (walk, dispatch, ignore comments, baseline,
// cancellation) in the order it happens.
func Lint(ctx context.Context, paths []string, opts Options) (*Result, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if len(paths) == 0 {
		paths = []string{"."}
	}
	ex, err := newExcluder(opts.Excludes)
	if err != nil {
		return nil, err
	}
	disabled := map[string]bool{}
	for _, d := range opts.Disable {
		r, ok := LookupRule(d)
		if !ok {
			return nil, &RuleError{Rule: d}
		}
		disabled[r.ID] = true
	}
	base := opts.BaseDir
	if base == "" {
		if base, err = os.Getwd(); err != nil {
			return nil, fmt.Errorf("cannot read the working directory: %w", err)
		}
	}
	base, _ = filepath.Abs(base)
	res := &Result{BaseDir: base}
	seen := map[string]bool{}
	var all []Finding
	mains := map[string]bool{}

	lintFile := func(abs string, kind fileKind) {
		if seen[abs] {
			return
		}
		seen[abs] = true
		// A file that cannot be read is reported (PQ000), never silently
		// passed: "no finding" must mean "checked". An oversized file is
		// reported too, except scripts and unrecognised *.conf/*.cfg, where
		// a huge file is a bundle or data, not a configuration.
		var data []byte
		skip := ""
		st, err := os.Stat(abs)
		switch {
		case err != nil:
			skip = "cannot read the file, so it was not checked: " + err.Error()
		case !st.Mode().IsRegular():
			// Reading a named pipe would block forever.
			what := "a device or socket"
			if st.Mode()&fs.ModeNamedPipe != 0 {
				what = "a named pipe"
			}
			skip = "not a regular file (" + what + "), so it was not read"
		case st.Size() > MaxFileSize:
			if kind == kindJS || kind == kindText || kind == kindPython {
				log.Debug("skipping file", "path", abs, "reason", "larger than MaxFileSize")
				return
			}
			skip = fmt.Sprintf("the file is larger than %d MiB, so it was not checked: split it, or --exclude it if it holds no TLS settings", MaxFileSize>>20)
		default:
			if data, err = os.ReadFile(abs); err != nil {
				skip = "cannot read the file, so it was not checked: " + err.Error()
			}
		}
		if skip != "" {
			if !disabled["PQ000"] {
				all = append(all, newSource(reportName(base, abs), nil, kind).finding("PQ000", 0, 0, skip, nil))
			}
			return
		}
		if kind == kindText {
			kind = sniff(data)
		}
		s := newSource(reportName(base, abs), data, kind)
		isMain := func() bool {
			d := filepath.Dir(abs)
			v, ok := mains[d]
			if !ok {
				v = moduleHasMain(d)
				mains[d] = v
			}
			return v
		}
		fs, generated := check(s, &checkEnv{isMain: isMain, path: abs})
		if generated {
			log.Debug("skipping generated file", "path", abs)
			return
		}
		fs = append(fs, unknownIgnores(s)...)
		res.Files++
		if opts.Progress != nil {
			opts.Progress(res.Files)
		}
		dup := map[[3]any]bool{}
		for _, f := range fs {
			key := [3]any{f.Rule, f.Start.Offset, f.End.Offset}
			if dup[key] {
				continue // a package-level list used by several configs
			}
			dup[key] = true
			if disabled[f.Rule] {
				continue
			}
			if suppressedInline(s, f) {
				res.SuppressedInline++
				continue
			}
			if f.Fix != nil {
				f.Fixed = f.fixedLines(s.data)
			}
			all = append(all, f)
		}
	}

	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, &PathError{Path: p, Err: err}
		}
		st, err := os.Stat(abs)
		if err != nil {
			return nil, &PathError{Path: p, Err: err}
		}
		if !st.IsDir() {
			// A file named explicitly is linted even if .gitignore would skip
			// it, but --exclude still applies.
			if ex.excluded([]string{cleanRel(filepath.Base(abs)), cleanRel(reportName(base, abs))}, false) {
				continue
			}
			k := kindByName(filepath.ToSlash(abs))
			if k == kindNone {
				k = kindText
			}
			lintFile(abs, k)
			continue
		}
		if err := walkTree(ctx, abs, opts, ex, base, func(fp string, k fileKind) { lintFile(fp, k) }); err != nil {
			return nil, err
		}
	}
	if opts.Baseline != nil {
		all, res.SuppressedBaseline = opts.Baseline.filterIn(all, base)
	}
	sortFindings(all)
	res.Findings = all
	return res, nil
}

// walkTree visits the lintable files below root in lexical order.
func walkTree(ctx context.Context, root string, opts Options, ex excluder, base string, visit func(string, fileKind)) error {
	var ig ignorer
	if !opts.NoGitignore {
		ig = repoIgnorer(root)
	}
	var walk func(dir, rel string, ig ignorer) error
	walk = func(dir, rel string, ig ignorer) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !opts.NoGitignore {
			ig = ig.with(dir, rel)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			if dir == root {
				return &PathError{Path: root, Err: err}
			}
			return nil // unreadable subdirectory: skip it
		}
		for _, e := range entries {
			name := e.Name()
			full := filepath.Join(dir, name)
			r := name
			if rel != "" {
				r = rel + "/" + name
			}
			isDir := e.IsDir()
			if e.Type()&fs.ModeSymlink != 0 {
				continue // do not follow links out of the tree
			}
			if isDir && (skippedDirs[name] || (name == "testdata" && !opts.IncludeTestdata)) {
				continue
			}
			if ig.ignored(r, isDir) {
				continue
			}
			if ex.excluded([]string{r, cleanRel(reportName(base, full))}, isDir) {
				continue
			}
			if isDir {
				if err := walk(full, r, ig); err != nil {
					return err
				}
				continue
			}
			if k := kindByName(r); k != kindNone {
				visit(full, k)
			}
		}
		return nil
	}
	return walk(root, "", ig)
}

// reportName is abs relative to base when below it, else abs; slash form.
func reportName(base, abs string) string {
	if rel, err := filepath.Rel(base, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(abs)
}

// ignoreRe matches an inline suppression: pqtls-lint:ignore RULE[,RULE] reason.
var ignoreRe = regexp.MustCompile(`pqtls-lint:ignore\s+([A-Za-z0-9_,\-]+)`)

// suppressedInline reports whether the finding's line, or the line above,
// carries a pqtls-lint:ignore comment naming its rule (or "all"). The marker
// must sit in a comment of the file's syntax. Where the construct that holds
// the finding starts on an earlier line, a marker on (or above) that line
// counts too: the key of a YAML block list whose item is flagged, or the Go
// declaration or statement around a multi-line tls.Config literal.
func suppressedInline(s *source, f Finding) bool {
	if !bytes.Contains(s.data, []byte("pqtls-lint:ignore")) {
		return false
	}
	cs := commentsOf(s.kind)
	lines := []int{f.Start.Line, f.Start.Line - 1}
	switch s.kind {
	case kindYAML:
		if yamlKeyLine.MatchString(s.line(f.Start.Line - 1)) {
			lines = append(lines, f.Start.Line-2)
		}
	case kindGo:
		for _, ln := range goStatementLines(s, f.Start.Offset) {
			if ln < f.Start.Line {
				lines = append(lines, ln, ln-1)
			}
		}
	}
	for _, ln := range lines {
		text := s.line(ln)
		m := ignoreRe.FindStringSubmatchIndex(text)
		if m == nil || !inComment(text[:m[0]], cs) {
			continue
		}
		for _, id := range strings.Split(text[m[2]:m[3]], ",") {
			if strings.EqualFold(id, "all") {
				return true
			}
			if r, ok := LookupRule(id); ok && r.ID == f.Rule {
				return true
			}
		}
	}
	return false
}

// unknownIgnores reports (as PQ000) every pqtls-lint:ignore comment that
// names a rule that does not exist: such a comment suppresses nothing, and a
// typo must not look like a deliberate exception.
func unknownIgnores(s *source) []Finding {
	if !bytes.Contains(s.data, []byte("pqtls-lint:ignore")) {
		return nil
	}
	cs := commentsOf(s.kind)
	var fs []Finding
	for ln := 1; ln <= s.numLines(); ln++ {
		text := s.line(ln)
		m := ignoreRe.FindStringSubmatchIndex(text)
		if m == nil || !inComment(text[:m[0]], cs) {
			continue
		}
		at := s.posLC(ln, m[2]+1).Offset
		for _, id := range strings.Split(text[m[2]:m[3]], ",") {
			if _, ok := LookupRule(id); !ok && !strings.EqualFold(id, "all") && id != "" {
				fs = append(fs, s.finding("PQ000", at, at+len(id), "pqtls-lint:ignore names unknown rule "+strconv.Quote(id)+" ('pqtls lint --list-rules' lists them): this comment suppresses nothing", nil))
			}
			at += len(id) + 1
		}
	}
	return fs
}

// inComment reports whether text before the marker opens a comment.
func inComment(before string, cs commentStyle) bool {
	for _, m := range append(append([]string{}, cs.line...), cs.lineStart...) {
		if strings.Contains(before, m) {
			return true
		}
	}
	return cs.block && strings.Contains(before, "/*")
}

// yamlKeyLine matches a YAML mapping key that opens a block (its value is on
// the next lines), optionally followed by a comment.
var yamlKeyLine = regexp.MustCompile(`^\s*(?:- )?["']?[\w.\-]+["']?\s*:\s*(?:#.*)?$`)

// goStatementLines returns the first lines of the simple statements and
// declarations (not functions or block statements) that enclose offset off
// in a Go file.
func goStatementLines(s *source, off int) []int {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, s.name, s.data, parser.SkipObjectResolution)
	if err != nil {
		return nil
	}
	file := fset.File(f.Pos())
	if file == nil || off < 0 || off > file.Size() {
		return nil
	}
	pos := file.Pos(off)
	var out []int
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil || pos < n.Pos() || pos >= n.End() {
			return false
		}
		switch n.(type) {
		case *ast.GenDecl, *ast.DeclStmt, *ast.AssignStmt, *ast.ExprStmt, *ast.ReturnStmt, *ast.ValueSpec:
			out = append(out, fset.Position(n.Pos()).Line)
		}
		return true
	})
	return out
}

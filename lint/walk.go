package lint

import (
	"bufio"
	"bytes"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// skippedDirs are never entered: version control, vendored and third-party
// code. testdata is skipped unless Options.IncludeTestdata is set.
var skippedDirs = map[string]bool{".git": true, ".hg": true, ".svn": true, "vendor": true, "node_modules": true, "third_party": true}

// globRule is one compiled glob (an --exclude pattern or a .gitignore line).
type globRule struct {
	re      *regexp.Regexp
	negate  bool
	dirOnly bool
	base    string // slash path of the directory the rule is relative to ("" = walk root)
}

// compileGlob turns a gitignore-style glob into a rule. Patterns without a
// slash (other than a trailing one) match a name at any depth; others are
// anchored to base. "**" matches any number of directories.
func compileGlob(pat, base string) (globRule, bool) {
	r := globRule{base: base}
	pat = strings.TrimRight(pat, " ")
	if pat == "" || strings.HasPrefix(pat, "#") {
		return r, false
	}
	if strings.HasPrefix(pat, "!") {
		r.negate = true
		pat = pat[1:]
	}
	pat = strings.TrimPrefix(pat, `\`)
	if strings.HasSuffix(pat, "/") {
		r.dirOnly = true
		pat = strings.TrimSuffix(pat, "/")
	}
	anchored := strings.Contains(pat, "/")
	pat = strings.TrimPrefix(pat, "/")
	var b strings.Builder
	b.WriteString("^")
	if !anchored {
		b.WriteString("(?:.*/)?")
	}
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch {
		case strings.HasPrefix(pat[i:], "**/"):
			b.WriteString("(?:.*/)?")
			i += 2
		case strings.HasPrefix(pat[i:], "/**") && i+3 == len(pat):
			b.WriteString("(?:/.*)?")
			i += 2
		case strings.HasPrefix(pat[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '[':
			j := strings.IndexByte(pat[i:], ']')
			if j < 0 {
				b.WriteString(`\[`)
				continue
			}
			class := pat[i+1 : i+j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + class + "]")
			i += j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return r, false
	}
	r.re = re
	return r, true
}

// match reports whether rel (slash path relative to the walk root) matches.
func (r globRule) match(rel string, isDir bool) bool {
	if r.dirOnly && !isDir {
		return false
	}
	if r.base != "" {
		if !strings.HasPrefix(rel, r.base+"/") {
			return false
		}
		rel = strings.TrimPrefix(rel, r.base+"/")
	}
	return r.re.MatchString(rel)
}

// ignorer holds the .gitignore rules in force for a directory.
type ignorer struct{ rules []globRule }

// with returns a new ignorer with the rules of dir/.gitignore appended.
func (ig ignorer) with(dir, rel string) ignorer {
	f, err := os.Open(filepath.Join(dir, ".gitignore"))
	if err != nil {
		return ig
	}
	defer f.Close()
	out := ignorer{rules: append([]globRule(nil), ig.rules...)}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if r, ok := compileGlob(strings.TrimRight(sc.Text(), "\r"), rel); ok {
			out.rules = append(out.rules, r)
		}
	}
	return out
}

// ignored applies git's rule: the last matching pattern wins.
func (ig ignorer) ignored(rel string, isDir bool) bool {
	ign := false
	for _, r := range ig.rules {
		if r.match(rel, isDir) {
			ign = !r.negate
		}
	}
	return ign
}

// repoIgnorer loads the .gitignore files of the directories above root, up to
// the enclosing repository (the directory holding .git), so that linting a
// subdirectory honours the repository's root .gitignore. Patterns from above
// are re-based onto root when they are anchored below it, or dropped.
func repoIgnorer(root string) ignorer {
	abs, err := filepath.Abs(root)
	if err != nil {
		return ignorer{}
	}
	if _, err := os.Stat(filepath.Join(abs, ".git")); err == nil {
		return ignorer{} // root is the repository: the walk reads its .gitignore
	}
	var dirs []string
	found := false
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		dirs = append(dirs, d)
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			found = true
			break
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	if !found {
		return ignorer{} // not in a repository: nothing above root applies
	}
	var ig ignorer
	for i := len(dirs) - 1; i >= 0; i-- {
		f, err := os.ReadFile(filepath.Join(dirs[i], ".gitignore"))
		if err != nil {
			continue
		}
		prefix, _ := filepath.Rel(dirs[i], abs)
		prefix = filepath.ToSlash(prefix)
		sc := bufio.NewScanner(bytes.NewReader(f))
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r ")
			neg := strings.HasPrefix(line, "!")
			body := strings.TrimPrefix(line, "!")
			anch := strings.Contains(strings.TrimSuffix(body, "/"), "/")
			if anch {
				// Keep only anchored patterns below root, re-based onto it.
				b := strings.TrimPrefix(body, "/")
				if !strings.HasPrefix(b, prefix+"/") {
					continue
				}
				body = "/" + strings.TrimPrefix(b, prefix+"/")
			}
			if neg {
				body = "!" + body
			}
			if r, ok := compileGlob(body, ""); ok {
				ig.rules = append(ig.rules, r)
			}
		}
	}
	return ig
}

// excluder holds the --exclude patterns.
type excluder []globRule

func newExcluder(patterns []string) (excluder, error) {
	var ex excluder
	for _, p := range patterns {
		// path.Match checks the bracket syntax of the whole pattern: an
		// unclosed "[" ("[", "a[", "[!") must not silently match nothing.
		if _, err := path.Match(strings.TrimPrefix(p, "!"), ""); err != nil {
			return nil, &PatternError{Pattern: p, Reason: "unclosed or malformed [...] class (write a literal bracket as \\[)"}
		}
		r, ok := compileGlob(p, "")
		if !ok {
			return nil, &PatternError{Pattern: p}
		}
		ex = append(ex, r)
	}
	return ex, nil
}

func (ex excluder) excluded(rels []string, isDir bool) bool {
	for _, r := range ex {
		for _, rel := range rels {
			if rel != "" && r.match(rel, isDir) {
				return true
			}
		}
	}
	return false
}

// PatternError reports an --exclude pattern that cannot be used.
type PatternError struct {
	Pattern string
	// Reason says what is wrong, when known.
	Reason string
}

func (e *PatternError) Error() string {
	why := ""
	if e.Reason != "" {
		why = e.Reason + "; "
	}
	return "invalid --exclude pattern " + strconv.Quote(e.Pattern) + ": " + why + "use a glob such as '**/*_test.go' or 'deploy/legacy/'"
}

// cleanRel is path.Clean on a slash path, "" for ".".
func cleanRel(p string) string {
	p = path.Clean(filepath.ToSlash(p))
	if p == "." {
		return ""
	}
	return p
}

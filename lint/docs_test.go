package lint

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated parts of docs/LINT.md")

const (
	docsPath   = "../docs/LINT.md"
	rulesBegin = "<!-- BEGIN rules: generated from lint/rules.yaml by 'go test ./lint -run TestDocsRules -update' -->\n"
	rulesEnd   = "<!-- END rules -->\n"
)

// rulesMarkdown renders the rules table: an index, then one section per
// rule with its sources and the date they were checked.
func rulesMarkdown() string {
	var b strings.Builder
	b.WriteString("| ID | name | severity | reads | sources checked |\n|---|---|---|---|---|\n")
	for _, r := range Rules() {
		fmt.Fprintf(&b, "| [%s](#%s) | %s | %s | %s | %s |\n", r.ID, strings.ToLower(r.ID)+"-"+r.Name, r.Name, r.Severity, strings.ReplaceAll(r.Format, "|", `\|`), r.Checked)
	}
	for _, r := range Rules() {
		fmt.Fprintf(&b, "\n### %s %s\n\n**Severity:** %s. **Reads:** %s.\n\n%s. %s\n\n", r.ID, r.Name, r.Severity, r.Format, r.Summary, r.Rationale)
		fmt.Fprintf(&b, "Flagged:\n\n```text\n%s\n```\n\nInstead:\n\n```text\n%s\n```\n\n", r.Bad, r.Good)
		if r.Notes != "" {
			fmt.Fprintf(&b, "%s\n\n", r.Notes)
		}
		fmt.Fprintf(&b, "Sources (checked %s):\n\n", r.Checked)
		for _, ref := range r.References {
			fmt.Fprintf(&b, "- %s\n", ref)
		}
	}
	return b.String()
}

// TestDocsRules keeps docs/LINT.md's rule reference generated from the
// rules table: nothing hand-copied.
func TestDocsRules(t *testing.T) {
	doc, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(doc, []byte(rulesBegin)), bytes.Index(doc, []byte(rulesEnd))
	if i < 0 || j < i {
		t.Fatalf("docs/LINT.md lacks the markers %q ... %q", rulesBegin, rulesEnd)
	}
	want := rulesMarkdown()
	if string(doc[i+len(rulesBegin):j]) == want {
		return
	}
	if !*update {
		t.Fatal("docs/LINT.md's rule reference is out of date: run go test ./lint -run TestDocsRules -update")
	}
	out := append(append(append([]byte{}, doc[:i+len(rulesBegin)]...), want...), doc[j:]...)
	if err := os.WriteFile(docsPath, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRuleReferencesResolve: every reference to a repository document
// names a section (docs/X.md#anchor) that exists, and every rule has a
// checked date.
func TestRuleReferencesResolve(t *testing.T) {
	docRef := regexp.MustCompile(`^(docs/[A-Za-z_]+\.md)(#[a-z0-9-]+)?`)
	for _, r := range Rules() {
		if !regexp.MustCompile(`^20\d\d-\d\d-\d\d$`).MatchString(r.Checked) {
			t.Errorf("%s: Checked %q is not a date", r.ID, r.Checked)
		}
		for _, ref := range r.References {
			for _, part := range strings.Split(ref, " and ") {
				m := docRef.FindStringSubmatch(part)
				if m == nil {
					continue
				}
				if m[2] == "" {
					t.Errorf("%s: reference %q names no section (docs/X.md#anchor)", r.ID, ref)
					continue
				}
				data, err := os.ReadFile("../" + m[1])
				if err != nil {
					t.Errorf("%s: %v", r.ID, err)
					continue
				}
				if !hasAnchor(string(data), m[2][1:]) {
					t.Errorf("%s: %s has no section #%s", r.ID, m[1], m[2][1:])
				}
			}
		}
	}
}

// hasAnchor reports whether a Markdown document has a heading whose
// GitHub anchor is anchor.
func hasAnchor(doc, anchor string) bool {
	for _, l := range strings.Split(doc, "\n") {
		h := strings.TrimLeft(l, "#")
		if h == l || !strings.HasPrefix(h, " ") {
			continue
		}
		var b strings.Builder
		for _, c := range strings.ToLower(strings.TrimSpace(h)) {
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
				b.WriteRune(c)
			case c == ' ':
				b.WriteByte('-')
			}
		}
		if b.String() == anchor {
			return true
		}
	}
	return false
}

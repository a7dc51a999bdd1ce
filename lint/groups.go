package lint

import (
	"strings"

	"github.com/pqtls/pqtls"
)

// hybridName is the group the fixes put first: the most widely deployed
// hybrid, on by default in Go 1.24+, OpenSSL 3.5+, BoringSSL and browsers.
const hybridName = "X25519MLKEM768"

// groupList is the verdict on a list of group names taken from a config.
type groupList struct {
	// postQuantum: at least one hybrid (or pure ML-KEM) group is listed.
	postQuantum bool
	// special: the list names the library default ("auto", "DEFAULT"), which
	// is hybrid-first on current libraries.
	special bool
	// unresolved: an entry is a variable or expression we cannot evaluate.
	unresolved bool
	// known counts entries found in the pqtls registry.
	known int
	// drafts lists obsolete Kyber draft groups.
	drafts []string
	// names are the entries as written, prefixes stripped.
	names []string
}

// classical reports whether the list certainly keeps the connection
// classical: it names registry groups, none of them post-quantum, and nothing
// we could not evaluate.
func (g groupList) classical() bool {
	return !g.postQuantum && !g.special && !g.unresolved && g.known > 0
}

// splitGroups splits a group list on the separators every format uses:
// colon (OpenSSL, Envoy, Node.js), comma (Java), whitespace (Caddy), and
// slash (OpenSSL 3.5 key-share tuples).
func splitGroups(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ':' || r == ',' || r == ' ' || r == '\t' || r == '/' || r == '"' || r == '\''
	})
}

// classifyGroups looks each name up in the pqtls group registry. Unknown
// names are not an error: they are simply not post-quantum.
func classifyGroups(names []string) groupList {
	var g groupList
	for _, raw := range names {
		n := strings.TrimSpace(raw)
		if n == "" {
			continue
		}
		if strings.HasPrefix(n, "-") || strings.HasPrefix(n, "!") {
			continue // OpenSSL 3.5 "remove this group"
		}
		n = strings.TrimLeft(n, "?*") // OpenSSL 3.5: ignore-if-unknown, key-share
		g.names = append(g.names, n)
		switch {
		case strings.EqualFold(n, "auto") || strings.EqualFold(n, "default"):
			g.special = true
			continue
		case strings.ContainsAny(n, "$%{}<>()"):
			g.unresolved = true
			continue
		}
		grp, err := pqtls.ParseGroup(n)
		if err != nil {
			continue
		}
		g.known++
		switch grp.Kind {
		case pqtls.KindHybrid, pqtls.KindPQ:
			g.postQuantum = true
		case pqtls.KindDraft:
			g.drafts = append(g.drafts, grp.Name)
		}
	}
	return g
}

// curveMessage builds the message of a "list without hybrid" finding.
func curveMessage(what string, g groupList) string {
	msg := what + " lists only classical groups (" + strings.Join(g.names, ", ") + "): no hybrid post-quantum key exchange can be negotiated; put " + hybridName + " first"
	if len(g.drafts) > 0 {
		msg += "; " + strings.Join(g.drafts, ", ") + " is an obsolete pre-standard Kyber draft and does not count"
	}
	return msg
}

// commentStyle describes a file format's comments.
type commentStyle struct {
	// line markers start a comment anywhere on a line (outside quotes).
	line []string
	// lineStart markers start a comment only as the first non-blank text.
	lineStart []string
	// block: C-style /* */ comments.
	block bool
}

var (
	hashComments  = commentStyle{line: []string{"#"}}
	iniComments   = commentStyle{line: []string{"#"}, lineStart: []string{";"}}
	propsComments = commentStyle{lineStart: []string{"#", "!"}}
	cComments     = commentStyle{line: []string{"//"}, block: true}
)

// codeLines returns each line of the source with comments blanked out
// (replaced by spaces, so columns stay valid), honouring single and double
// quotes and, for C-style comments, block comments across lines.
func codeLines(s *source, cs commentStyle) []string {
	n := s.numLines()
	out := make([]string, n)
	inBlock := false
	for i := 1; i <= n; i++ {
		line := []byte(s.line(i))
		trim := strings.TrimLeft(string(line), " \t")
		lead := len(line) - len(trim)
		blankFrom := func(j int) {
			for k := j; k < len(line); k++ {
				line[k] = ' '
			}
		}
		done := false
		for _, m := range cs.lineStart {
			if strings.HasPrefix(trim, m) {
				blankFrom(lead)
				done = true
				break
			}
		}
		if !done {
			var quote byte
			for j := 0; j < len(line); j++ {
				c := line[j]
				if inBlock {
					if c == '*' && j+1 < len(line) && line[j+1] == '/' {
						line[j], line[j+1] = ' ', ' '
						j++
						inBlock = false
					} else {
						line[j] = ' '
					}
					continue
				}
				if quote != 0 {
					if c == '\\' {
						j++
						continue
					}
					if c == quote {
						quote = 0
					}
					continue
				}
				if c == '"' || c == '\'' || (c == '`' && cs.block) {
					quote = c
					continue
				}
				if cs.block && c == '/' && j+1 < len(line) && line[j+1] == '*' {
					inBlock = true
					line[j], line[j+1] = ' ', ' '
					j++
					continue
				}
				for _, m := range cs.line {
					// "#" only starts a comment at the start of a word, so
					// "a#b" (nginx, URLs) stays code.
					if strings.HasPrefix(string(line[j:]), m) && (m != "#" || j == 0 || line[j-1] == ' ' || line[j-1] == '\t') {
						blankFrom(j)
						j = len(line)
						break
					}
				}
			}
		}
		out[i-1] = string(line)
	}
	return out
}

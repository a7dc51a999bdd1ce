package lint

import (
	"bytes"
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"go/version"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"
)

// Post-quantum authentication (ML-DSA, issue 20): settings that keep an
// ML-DSA certificate from being used. Key exchange comes first, so these
// are warnings: they do not make traffic recordable today, they block the
// next phase.

// --- signature algorithm lists ---

// mldsaSigalgs are the names of the ML-DSA TLS signature schemes.
const mldsaSigalgs = "mldsa65:mldsa87:mldsa44"

// hasMLDSA reports whether an OpenSSL signature algorithm list names an
// ML-DSA scheme (TLS name or provider name, "?" prefix allowed).
func hasMLDSA(list string) bool {
	for _, e := range strings.FieldsFunc(list, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		e = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(e), "?"))
		e = strings.ReplaceAll(e, "-", "")
		if strings.HasPrefix(e, "mldsa") {
			return true
		}
	}
	return false
}

// sigalgFinding reports a signature algorithm list at [a, b) without
// ML-DSA, with a fix that appends the ML-DSA schemes.
func sigalgFinding(s *source, rule, what string, a, b int, list string) []Finding {
	if strings.TrimSpace(list) == "" || hasMLDSA(list) {
		return nil
	}
	return []Finding{s.finding(rule, a, b, what+" lists no ML-DSA signature scheme: an ML-DSA certificate cannot be used (post-quantum authentication needs mldsa44, mldsa65 or mldsa87, OpenSSL 3.5+)",
		s.replace("append the ML-DSA schemes (OpenSSL 3.5+)", b, b, ":"+mldsaSigalgs))}
}

var (
	lineOpenSSLSigalgs = lineChecker("openssl-sigalgs", ruleOpenSSLSigalgs)
	lineNginxSigalgs   = lineChecker("nginx-sigalgs", ruleNginxSigalgs)
	lineHAProxySigalgs = lineChecker("haproxy-sigalgs", ruleHAProxySigalgs)
	goModMLDSA         = &checker{name: "go.mod-mldsa", run: func(s *source, env *checkEnv) []Finding { return checkGoModMLDSA(s, env.path) }}
)

// ruleOpenSSLSigalgs is PQ461.
func ruleOpenSSLSigalgs(s *source, _, base int, code string, _ []string) []Finding {
	m := iniKV.FindStringSubmatchIndex(code)
	if m == nil {
		return nil
	}
	key := code[m[2]:m[3]]
	if !strings.EqualFold(key, "SignatureAlgorithms") && !strings.EqualFold(key, "ClientSignatureAlgorithms") {
		return nil
	}
	return sigalgFinding(s, "PQ461", "OpenSSL "+key, base+m[4], base+m[5], code[m[4]:m[5]])
}

var nginxSigalgs = regexp.MustCompile(`(?:^|[\s;{])((?:proxy_|grpc_|uwsgi_)?ssl_conf_command\s+(?:Client)?SignatureAlgorithms)\s+([^;]+);`)

// ruleNginxSigalgs is PQ462.
func ruleNginxSigalgs(s *source, _, base int, code string, _ []string) []Finding {
	m := nginxSigalgs.FindStringSubmatchIndex(code)
	if m == nil {
		return nil
	}
	list := strings.TrimSpace(code[m[4]:m[5]])
	a := base + m[4]
	return sigalgFinding(s, "PQ462", "nginx "+strings.Join(strings.Fields(code[m[2]:m[3]]), " "), a, a+len(list), list)
}

// haproxySigalgKeys are the HAProxy keywords that take a sigalgs list;
// the bind/server options only after the first word of the line.
var haproxySigalgKeys = map[string]bool{
	"ssl-default-bind-sigalgs": true, "ssl-default-bind-client-sigalgs": true,
	"ssl-default-server-sigalgs": true, "ssl-default-server-client-sigalgs": true,
}

// ruleHAProxySigalgs is PQ463.
func ruleHAProxySigalgs(s *source, _, base int, code string, _ []string) []Finding {
	var fs []Finding
	f := fieldsWithOffsets(code)
	for i := 0; i+1 < len(f); i++ {
		k := f[i].text
		if haproxySigalgKeys[k] || (i > 0 && (k == "sigalgs" || k == "client-sigalgs")) {
			a := base + f[i+1].off
			fs = append(fs, sigalgFinding(s, "PQ463", "HAProxy "+k, a, a+len(f[i+1].text), f[i+1].text)...)
		}
	}
	return fs
}

// --- go.mod and ML-DSA code ---

// checkGoModMLDSA is PQ464: a go line below 1.27 in a module whose code
// (outside files constrained to go1.27+) uses ML-DSA.
func checkGoModMLDSA(s *source, path string) []Finding {
	f, err := modfile.Parse(s.name, s.data, nil)
	if err != nil || f.Go == nil || f.Go.Syntax == nil || path == "" {
		return nil // a parse error is PQ000, reported by checkGoMod
	}
	if version.Compare("go"+f.Go.Version, "go1.27") >= 0 {
		return nil
	}
	dir := filepath.Dir(path)
	user := ""
	walkModuleGoFiles(dir, func(p string) bool {
		if usesMLDSAUnguarded(p) {
			user = p
			return true
		}
		return false
	})
	if user == "" {
		return nil
	}
	rel, err := filepath.Rel(dir, user)
	if err != nil {
		rel = filepath.Base(user)
	}
	a, b := f.Go.Syntax.Start.Byte, f.Go.Syntax.End.Byte
	if i := bytes.Index(s.data[a:b], []byte(f.Go.Version)); i >= 0 {
		a, b = a+i, a+i+len(f.Go.Version)
	}
	return []Finding{s.finding("PQ464", a, b,
		"go "+f.Go.Version+" lets a Go "+f.Go.Version+" toolchain build this module, but "+filepath.ToSlash(rel)+" uses ML-DSA, which exists from Go 1.27: raise the go line or put that code behind //go:build go1.27",
		s.replace("raise the go line to 1.27", a, b, "1.27"))}
}

// goVersionTag matches the go1.N release tags of build constraints.
var goVersionTag = regexp.MustCompile(`^go1\.(\d+)$`)

// usesMLDSAUnguarded reports whether a Go file uses ML-DSA (imports
// crypto/mldsa, or names tls.MLDSA* / x509.MLDSA*) and is built by a
// Go 1.26 toolchain (no build constraint that needs go1.27 or later).
func usesMLDSAUnguarded(p string) bool {
	data, err := os.ReadFile(p)
	if err != nil || (!bytes.Contains(data, []byte("crypto/mldsa")) && !bytes.Contains(data, []byte(".MLDSA"))) {
		return false
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, p, data, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil || needsGo127(f) {
		return false
	}
	names := map[string]bool{}
	for _, im := range f.Imports {
		path, _ := strconv.Unquote(im.Path.Value)
		switch path {
		case "crypto/mldsa":
			return true
		case "crypto/tls", "crypto/x509":
			name := filepath.Base(path)
			if im.Name != nil {
				name = im.Name.Name
			}
			names[name] = true
		}
	}
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok && strings.HasPrefix(sel.Sel.Name, "MLDSA") {
			if id, ok := sel.X.(*ast.Ident); ok && names[id.Name] {
				found = true
			}
		}
		return !found
	})
	return found
}

// needsGo127 reports whether a file's //go:build line keeps it out of a
// Go 1.26 toolchain through a go1.27+ release tag (other tags count as
// satisfied, so "!windows" does not hide a file).
func needsGo127(f *ast.File) bool {
	for _, g := range f.Comments {
		if g.Pos() > f.Package {
			break
		}
		for _, c := range g.List {
			if !constraint.IsGoBuild(c.Text) {
				continue
			}
			expr, err := constraint.Parse(c.Text)
			if err != nil {
				continue
			}
			mentions := false
			ok := expr.Eval(func(tag string) bool {
				if m := goVersionTag.FindStringSubmatch(tag); m != nil {
					n, _ := strconv.Atoi(m[1])
					mentions = mentions || n >= 27
					return n <= 26
				}
				return true
			})
			if mentions && !ok {
				return true
			}
		}
	}
	return false
}

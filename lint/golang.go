package lint

import (
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/version"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/pqtls/pqtls"
)

// pqtlsModule is the import path of the pqtls library.
const pqtlsModule = "github.com/pqtls/pqtls"

// godebugOff matches a GODEBUG setting that turns a hybrid off. The submatch
// is the "0", so fixes can replace exactly that byte.
var godebugOff = regexp.MustCompile(`\b(tlsmlkem|tlssecpmlkem)=(0)\b`)

// godebugValue matches a whole GODEBUG value, optionally with the variable
// name: comma-separated key=value pairs and nothing else.
// A leading or trailing comma is allowed: os.Getenv("GODEBUG")+",tlsmlkem=0"
// appends to the value the process already has.
var godebugValue = regexp.MustCompile(`^(GODEBUG=)?,?[A-Za-z0-9_.]+=[A-Za-z0-9_.]*(,[A-Za-z0-9_.]+=[A-Za-z0-9_.]*)*,?$`)

// godebugDefault matches default=go1.N, which implies the GODEBUG defaults of
// that release.
var godebugDefault = regexp.MustCompile(`\bdefault=(go1\.\d+(?:\.\d+)?)\b`)

// checkGo runs the Go source rules (PQ101-PQ104) on one file. generated
// reports a file that carries a "Code generated ... DO NOT EDIT." header; the
// caller skips those.
//
// long: one ast.Inspect visitor; its cases share the file's import names
// and the position state, and read best as one switch.
func checkGo(s *source) (fs []Finding, generated bool) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, s.name, s.data, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return []Finding{parseError(s, err)}, false
	}
	if ast.IsGenerated(f) {
		return nil, true
	}
	off := func(p token.Pos) int { return fset.Position(p).Offset }

	// //go:debug directives. An explicit tlsmlkem setting overrides
	// default=goX, so default is only reported without one.
	explicitMLKEM := false
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			if strings.HasPrefix(c.Text, "//go:debug") && strings.Contains(c.Text, "tlsmlkem=") {
				explicitMLKEM = true
			}
		}
	}
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			if !strings.HasPrefix(c.Text, "//go:debug") {
				continue
			}
			base := off(c.Pos())
			fs = append(fs, godebugOffs(s, "PQ103", c.Text, base, "(or delete the directive)", func(key string) string {
				return "//go:debug " + key + "=0 turns off " + godebugGroups(key) + " for the whole binary"
			})...)
			for _, m := range godebugDefault.FindAllStringSubmatchIndex(c.Text, -1) {
				v := c.Text[m[2]:m[3]]
				if version.Compare(v, "go1.24") < 0 && !explicitMLKEM {
					end := off(c.End())
					fs = append(fs, s.finding("PQ103", base+m[0], base+m[1],
						"//go:debug default="+v+" restores the Go "+strings.TrimPrefix(v, "go")+" GODEBUG defaults, which include tlsmlkem=0: X25519MLKEM768 is off",
						s.replace("keep the directive but turn hybrid key exchange back on", end, end, "\n//go:debug tlsmlkem=1")))
				}
			}
		}
	}

	tlsName, pqName := "", ""
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		name := path.Base(p)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		switch p {
		case "crypto/tls":
			tlsName = name
		case pqtlsModule:
			pqName = name
		}
	}
	// Package-level variables and constants, so that CurvePreferences:
	// curves and MaxVersion: maxTLS resolve when curves or maxTLS is
	// declared in the same file.
	vars := map[string]ast.Expr{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || (gd.Tok != token.VAR && gd.Tok != token.CONST) {
			continue
		}
		for _, sp := range gd.Specs {
			vs := sp.(*ast.ValueSpec)
			if len(vs.Names) == len(vs.Values) {
				for i, n := range vs.Names {
					vars[n.Name] = vs.Values[i]
				}
			}
		}
	}

	checkField := func(field string, v ast.Expr) {
		if tlsName == "" {
			return
		}
		switch field {
		case "CurvePreferences":
			if fd, ok := checkGoCurves(s, off, tlsName, v, vars); ok {
				fs = append(fs, fd)
			}
		case "MaxVersion":
			if fd, ok := checkGoMaxVersion(s, off, tlsName, v, vars); ok {
				fs = append(fs, fd)
			}
		}
	}

	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CompositeLit:
			if pqName != "" && tlsName != "" && isSel(n.Type, pqName, "Policy") {
				for _, e := range n.Elts {
					if kv, ok := e.(*ast.KeyValueExpr); ok {
						if id, ok := kv.Key.(*ast.Ident); ok && id.Name == "Groups" {
							if fd, ok := checkGoCurves(s, off, tlsName, kv.Value, vars); ok {
								fd.Rule, fd.Severity = "PQ502", ruleByID["PQ502"].Severity
								fd.Message = strings.Replace(fd.Message, "tls.Config.CurvePreferences", "pqtls.Policy.Groups", 1)
								fs = append(fs, fd)
							}
						}
					}
				}
			}
			if isSel(n.Type, tlsName, "Config") {
				for _, e := range n.Elts {
					if kv, ok := e.(*ast.KeyValueExpr); ok {
						if id, ok := kv.Key.(*ast.Ident); ok {
							checkField(id.Name, kv.Value)
						}
					}
				}
			}
		case *ast.AssignStmt:
			if len(n.Lhs) == len(n.Rhs) {
				for i, l := range n.Lhs {
					if sel, ok := l.(*ast.SelectorExpr); ok {
						checkField(sel.Sel.Name, n.Rhs[i])
					}
				}
			}
		case *ast.SelectorExpr:
			if pqName != "" && isSel(n, pqName, "ModeClassical") {
				a, b := off(n.Pos()), off(n.End())
				fs = append(fs, s.finding("PQ501", a, b, "pqtls.ModeClassical is the rollback switch: it offers and accepts only classical groups; use ModePrefer (or ModeRequire) once the broken path is fixed",
					s.replace("use the default hybrid-first policy", a, b, pqName+".ModePrefer")))
			}
		case *ast.CallExpr:
			if pqName != "" && (isSel(n.Fun, pqName, "ParseMode") || isSel(n.Fun, pqName, "ParsePolicy")) && len(n.Args) > 0 {
				if lit, ok := n.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if v, err := strconv.Unquote(lit.Value); err == nil && strings.EqualFold(v, "classical") {
						a, b := off(lit.Pos()), off(lit.End())
						fs = append(fs, s.finding("PQ501", a, b, "pqtls policy \"classical\" is the rollback switch: it offers and accepts only classical groups; use \"prefer\" (or \"require\") once the broken path is fixed",
							s.replace("use the default hybrid-first policy", a, b, `"prefer"`)))
					}
				}
			}
		case *ast.BasicLit:
			if n.Kind != token.STRING {
				return true
			}
			// Only a string that is a GODEBUG value as a whole ("tlsmlkem=0",
			// "GODEBUG=http2client=0,tlsmlkem=0"); prose that mentions the
			// setting is not reported.
			if v, err := strconv.Unquote(n.Value); err != nil || !godebugValue.MatchString(v) {
				return true
			}
			base := off(n.Pos())
			fs = append(fs, godebugOffs(s, "PQ104", n.Value, base, "(or drop the setting)", func(key string) string {
				return "GODEBUG setting " + key + "=0 in a string turns off " + godebugGroups(key) + " for the process that gets it"
			})...)
		}
		return true
	})
	return fs, false
}

func isSel(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg && sel.Sel.Name == name
}

// checkGoCurves flags a []tls.CurveID literal whose entries all resolve to
// classical groups. Entries that do not resolve (a local constant, a function
// call) make the list unknown, and it is not flagged.
func checkGoCurves(s *source, off func(token.Pos) int, tlsName string, v ast.Expr, vars map[string]ast.Expr) (Finding, bool) {
	if id, ok := v.(*ast.Ident); ok {
		if d, ok := vars[id.Name]; ok {
			v = d
		}
	}
	cl, ok := v.(*ast.CompositeLit)
	if !ok || len(cl.Elts) == 0 {
		return Finding{}, false // not a literal, or empty: Go uses its hybrid-first default
	}
	var names []string
	for _, e := range cl.Elts {
		n, ok := goCurveName(e, tlsName)
		if !ok {
			return Finding{}, false
		}
		names = append(names, n)
	}
	g := classifyGroups(names)
	if g.postQuantum || g.known != len(names) {
		return Finding{}, false
	}
	first := off(cl.Elts[0].Pos())
	fix := s.replace("put "+tlsName+"."+hybridName+" first", first, first, tlsName+"."+hybridName+", ")
	return s.finding("PQ101", off(cl.Pos()), off(cl.End()), curveMessage("tls.Config.CurvePreferences", g), fix), true
}

// goCurveName resolves tls.X25519, tls.CurveID(0x11ec), 4588... to a group
// name the registry knows.
func goCurveName(e ast.Expr, tlsName string) (string, bool) {
	switch e := e.(type) {
	case *ast.SelectorExpr:
		if id, ok := e.X.(*ast.Ident); ok && id.Name == tlsName {
			if _, err := pqtls.ParseGroup(e.Sel.Name); err == nil {
				return e.Sel.Name, true
			}
		}
	case *ast.BasicLit:
		if e.Kind == token.INT {
			if g, err := pqtls.ParseGroup(e.Value); err == nil {
				return g.Name, true
			}
		}
	case *ast.CallExpr:
		if isSel(e.Fun, tlsName, "CurveID") && len(e.Args) == 1 {
			return goCurveName(e.Args[0], tlsName)
		}
	case *ast.ParenExpr:
		return goCurveName(e.X, tlsName)
	}
	return "", false
}

var goOldVersions = map[string]bool{"VersionSSL30": true, "VersionTLS10": true, "VersionTLS11": true, "VersionTLS12": true}

func checkGoMaxVersion(s *source, off func(token.Pos) int, tlsName string, v ast.Expr, vars map[string]ast.Expr) (Finding, bool) {
	old := ""
	val, via := v, ""
	if id, ok := v.(*ast.Ident); ok {
		// A package-level constant or variable of this file: report (and
		// fix) the use, not the declaration, which may serve elsewhere.
		if d, ok := vars[id.Name]; ok {
			val, via = d, id.Name+" = "
		}
	}
	switch e := val.(type) {
	case *ast.SelectorExpr:
		if id, ok := e.X.(*ast.Ident); ok && id.Name == tlsName && goOldVersions[e.Sel.Name] {
			old = tlsName + "." + e.Sel.Name
		}
	case *ast.BasicLit:
		if n, err := strconv.ParseUint(e.Value, 0, 16); err == nil && n >= 0x0300 && n < 0x0304 {
			old = e.Value
		}
	}
	if old == "" {
		return Finding{}, false
	}
	start, end := off(v.Pos()), off(v.End())
	return s.finding("PQ102", start, end,
		"tls.Config.MaxVersion is "+via+old+": hybrid key exchange exists only in TLS 1.3, so every connection is classical",
		s.replace("allow TLS 1.3 (or leave MaxVersion unset)", start, end, tlsName+".VersionTLS13")), true
}

func godebugGroups(key string) string {
	if key == "tlssecpmlkem" {
		return "SecP256r1MLKEM768 and SecP384r1MLKEM1024"
	}
	return "X25519MLKEM768"
}

// parseError turns a parser error into a PQ000 finding at the first error.
func parseError(s *source, err error) Finding {
	line, col := 1, 1
	msg := err.Error()
	var el scanner.ErrorList
	if e, ok := err.(scanner.ErrorList); ok {
		el = e
	}
	if len(el) > 0 {
		line, col = el[0].Pos.Line, el[0].Pos.Column
		msg = el[0].Msg
	}
	p := s.posLC(line, col)
	return s.finding("PQ000", p.Offset, p.Offset, "cannot parse "+s.kind.String()+" file, so it was not checked: "+msg, nil)
}

// godebugOffs reports each tlsmlkem=0-style setting in text (which starts
// at offset base) as rule, with msg(key) as the message and a fix that
// sets 1 (alt says the other way out).
func godebugOffs(s *source, rule, text string, base int, alt string, msg func(key string) string) []Finding {
	var fs []Finding
	for _, m := range godebugOff.FindAllStringSubmatchIndex(text, -1) {
		key := text[m[2]:m[3]]
		fs = append(fs, s.finding(rule, base+m[0], base+m[1], msg(key), s.replace("set "+key+"=1 "+alt, base+m[4], base+m[5], "1")))
	}
	return fs
}

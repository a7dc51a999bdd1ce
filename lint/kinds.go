package lint

import (
	"bytes"
	"path"
	"regexp"
	"strings"
)

// fileKind is the format a file is read as.
type fileKind int

const (
	kindNone fileKind = iota
	kindGo
	kindGoMod
	kindDockerfile
	kindYAML
	kindTOML
	kindNginx
	kindHAProxy
	kindStunnel
	kindOpenSSL
	kindCaddy
	kindSystemd
	kindJS
	kindJava
	kindProperties
	kindShell
	kindTerraform
	kindJSON
	kindPostgres
	kindCargo
	kindCargoLock
	kindText // a config-looking file of no recognised format: generic rules only
)

var kindNames = withKindNames(runtimeKindNames, map[fileKind]string{
	kindGo: "Go", kindGoMod: "go.mod", kindDockerfile: "Dockerfile", kindYAML: "YAML", kindTOML: "TOML",
	kindNginx: "nginx", kindHAProxy: "HAProxy", kindStunnel: "stunnel", kindOpenSSL: "OpenSSL config",
	kindCaddy: "Caddyfile", kindSystemd: "systemd unit", kindJS: "JavaScript/TypeScript", kindJava: "Java",
	kindProperties: "Java properties", kindShell: "shell/env", kindText: "config",
	kindTerraform: "Terraform", kindJSON: "JSON", kindPostgres: "postgresql.conf", kindCargo: "Cargo.toml", kindCargoLock: "Cargo.lock",
})

// withKindNames adds names to m and returns it.
func withKindNames(names, m map[fileKind]string) map[fileKind]string {
	for k, n := range names {
		m[k] = n
	}
	return m
}

// String names the format.
func (k fileKind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return "unknown"
}

// kindByName classifies by file name alone. Files that need a look at the
// content (*.conf, *.cfg) return kindText; sniff refines them.
func kindByName(p string) fileKind {
	base := path.Base(p)
	lower := strings.ToLower(base)
	ext := path.Ext(lower)
	dir := strings.ToLower(path.Dir(p))
	if k := runtimeKindByName(lower, ext, dir); k != kindNone {
		return k
	}
	switch {
	case ext == ".go":
		return kindGo
	case base == "go.mod":
		return kindGoMod
	case base == "Cargo.toml":
		return kindCargo
	case base == "Cargo.lock":
		return kindCargoLock
	case ext == ".tf" || ext == ".tofu":
		return kindTerraform
	case ext == ".json":
		return kindJSON
	case strings.HasPrefix(lower, "postgresql") && ext == ".conf":
		return kindPostgres
	case lower == "dockerfile" || lower == "containerfile" || strings.HasPrefix(lower, "dockerfile.") || strings.HasPrefix(lower, "containerfile.") || ext == ".dockerfile" || ext == ".containerfile":
		return kindDockerfile
	case ext == ".yaml" || ext == ".yml":
		return kindYAML
	case ext == ".toml":
		return kindTOML
	case lower == "caddyfile" || strings.HasPrefix(lower, "caddyfile.") || ext == ".caddyfile" || ext == ".caddy":
		return kindCaddy
	case ext == ".cnf" || (strings.HasPrefix(lower, "openssl") && ext == ".conf"):
		return kindOpenSSL
	case strings.HasPrefix(lower, "haproxy") && (ext == ".cfg" || ext == ".conf"):
		return kindHAProxy
	case strings.HasPrefix(lower, "stunnel") && ext == ".conf":
		return kindStunnel
	case lower == "nginx.conf" || (ext == ".conf" && strings.Contains(dir, "nginx")):
		return kindNginx
	case ext == ".service" || ext == ".socket" || ext == ".timer" || (ext == ".conf" && strings.HasSuffix(dir, ".service.d")):
		return kindSystemd
	case ext == ".js" || ext == ".mjs" || ext == ".cjs" || ext == ".ts" || ext == ".mts" || ext == ".cts" || ext == ".jsx" || ext == ".tsx":
		if strings.HasSuffix(lower, ".min.js") || strings.HasSuffix(lower, ".d.ts") {
			return kindNone
		}
		return kindJS
	case ext == ".java" || ext == ".kt" || ext == ".kts" || ext == ".scala" || ext == ".gradle":
		return kindJava
	case ext == ".properties" || lower == "java.security" || lower == "jvm.options" || lower == ".jvmopts" || ext == ".jvmopts":
		return kindProperties
	case ext == ".sh" || ext == ".bash" || ext == ".zsh" || ext == ".env" || lower == ".env" || strings.HasPrefix(lower, ".env.") || lower == ".envrc" || lower == "makefile" || ext == ".mk" || lower == "procfile":
		return kindShell
	case ext == ".conf" || ext == ".cfg" || ext == ".ini":
		return kindText
	}
	return kindNone
}

var (
	sniffNginx   = regexp.MustCompile(`(?m)^\s*(ssl_\w+|server_name|listen|proxy_pass|location)\s[^\n]*;`)
	sniffHAProxy = regexp.MustCompile(`(?m)^\s*(frontend|backend|listen|defaults)(\s|$)|^\s*bind\s+\S*:\d+`)
	sniffStunnel = regexp.MustCompile(`(?m)^\s*(accept|connect)\s*=`)
	sniffOpenSSL = regexp.MustCompile(`(?m)^\s*(openssl_conf|ssl_conf|system_default|MinProtocol|CipherString)\s*=`)
	sniffSystemd = regexp.MustCompile(`(?m)^\[(Unit|Service|Install)\]`)
)

// sniff refines kindText from the content.
func sniff(data []byte) fileKind {
	switch {
	case sniffSystemd.Match(data):
		return kindSystemd
	case sniffOpenSSL.Match(data):
		return kindOpenSSL
	case sniffStunnel.Match(data):
		return kindStunnel
	case sniffHAProxy.Match(data):
		return kindHAProxy
	case sniffNginx.Match(data):
		return kindNginx
	}
	return kindText
}

// commentsOf returns the comment syntax of a kind.
func commentsOf(k fileKind) commentStyle {
	switch k {
	case kindGo, kindJS, kindJava:
		return cComments
	case kindStunnel, kindOpenSSL, kindSystemd, kindText, kindMySQL:
		return iniComments
	case kindProperties:
		return propsComments
	}
	return hashComments
}

// checkEnv is what a checker may need beyond the file itself.
type checkEnv struct {
	// isMain reports whether the file's module builds a command (go.mod).
	isMain func() bool
	// path is the file's absolute path (versions in directory names,
	// neighbouring files).
	path string
	// generated is set by a checker that finds a generated file, which the
	// caller then drops.
	generated bool
}

// checker reads one file format and reports findings for the rules that
// list it in their checks (see the rules table).
type checker struct {
	name string
	run  func(s *source, env *checkEnv) []Finding
}

// ruleCheck is one row of a rule's dispatch: the checker that finds the rule in
// the given file kinds.
type ruleCheck struct {
	by    *checker
	kinds []fileKind
}

// lineChecker runs a line rule over the comment-stripped lines of a file.
func lineChecker(name string, r lineRule) *checker {
	return &checker{name: name, run: func(s *source, _ *checkEnv) []Finding { return runLineRules(s, r) }}
}

// kinds builds a kind list; textKinds are the configuration formats that
// get the generic line rules.
func kinds(k ...fileKind) []fileKind { return k }

var textKinds = []fileKind{kindDockerfile, kindYAML, kindTOML, kindNginx, kindHAProxy, kindStunnel, kindOpenSSL,
	kindCaddy, kindSystemd, kindProperties, kindShell, kindText}

func plus(a []fileKind, k ...fileKind) []fileKind { return append(append([]fileKind(nil), a...), k...) }

// dispatch is computed once from the rules table: for each file kind, the
// checkers to run (in table order) and, per checker, the rules it may
// report there.
var dispatch map[fileKind][]*checker
var declared map[fileKind]map[*checker]map[string]bool

func buildDispatch() {
	dispatch = map[fileKind][]*checker{}
	declared = map[fileKind]map[*checker]map[string]bool{}
	for _, r := range rules {
		for _, c := range r.checks {
			for _, k := range c.kinds {
				if declared[k] == nil {
					declared[k] = map[*checker]map[string]bool{}
				}
				if declared[k][c.by] == nil {
					declared[k][c.by] = map[string]bool{}
					dispatch[k] = append(dispatch[k], c.by)
				}
				declared[k][c.by][r.ID] = true
			}
		}
	}
}

// check runs the checkers of the file's kind. A finding is kept only when
// its rule declares that checker for that kind, so the rules table is the
// whole truth about what is reported where. A parse error (PQ000) from a
// file's parser replaces every other finding of that file. generated
// reports a generated Go file, which the caller drops.
func check(s *source, env *checkEnv) (fs []Finding, generated bool) {
	if bytes.IndexByte(s.data, 0) >= 0 {
		return nil, false
	}
	parseErr := false
	for _, c := range dispatch[s.kind] {
		for _, f := range c.run(s, env) {
			if !declared[s.kind][c][f.Rule] {
				continue
			}
			parseErr = parseErr || f.Rule == "PQ000"
			if f.Fix != nil {
				f.Fix.Upgrade = ruleByID[f.Rule].UpgradeFix
			}
			fs = append(fs, f)
		}
		if env.generated {
			return nil, true
		}
	}
	if parseErr {
		out := fs[:0]
		for _, f := range fs {
			if f.Rule == "PQ000" {
				out = append(out, f)
			}
		}
		fs = out
	}
	return fs, false
}

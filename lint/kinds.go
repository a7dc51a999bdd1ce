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
	kindText // a config-looking file of no recognised format: generic rules only
)

var kindNames = map[fileKind]string{
	kindGo: "Go", kindGoMod: "go.mod", kindDockerfile: "Dockerfile", kindYAML: "YAML", kindTOML: "TOML",
	kindNginx: "nginx", kindHAProxy: "HAProxy", kindStunnel: "stunnel", kindOpenSSL: "OpenSSL config",
	kindCaddy: "Caddyfile", kindSystemd: "systemd unit", kindJS: "JavaScript/TypeScript", kindJava: "Java",
	kindProperties: "Java properties", kindShell: "shell/env", kindText: "config",
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
	switch {
	case ext == ".go":
		return kindGo
	case base == "go.mod":
		return kindGoMod
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
	case kindStunnel, kindOpenSSL, kindSystemd, kindText:
		return iniComments
	case kindProperties:
		return propsComments
	}
	return hashComments
}

// check dispatches a file to the rules of its kind. generated reports a
// generated Go file, which the caller drops.
func check(s *source, isMain func() bool) (fs []Finding, generated bool) {
	if bytes.IndexByte(s.data, 0) >= 0 {
		return nil, false
	}
	cs := commentsOf(s.kind)
	generic := []lineRule{ruleGodebug, ruleJava, rulePolicy, ruleCompliance, ruleNodeFlag, ruleGroupsFlag}
	switch s.kind {
	case kindGo:
		return checkGo(s)
	case kindGoMod:
		return checkGoMod(s, isMain), false
	case kindDockerfile:
		fs = checkDockerfile(s)
	case kindYAML:
		fs = checkYAML(s)
		if len(fs) == 1 && fs[0].Rule == "PQ000" {
			return fs, false
		}
	case kindTOML:
		fs = checkTOML(s)
		if len(fs) == 1 && fs[0].Rule == "PQ000" {
			return fs, false
		}
	case kindNginx:
		generic = append(generic, ruleNginx)
	case kindHAProxy:
		generic = append(generic, ruleHAProxy)
	case kindStunnel:
		generic = append(generic, ruleStunnel)
	case kindOpenSSL:
		generic = append(generic, ruleOpenSSL)
	case kindCaddy:
		generic = append(generic, ruleCaddy)
	case kindJS:
		generic = []lineRule{ruleGodebug, ruleNode, ruleNodeFlag}
	case kindJava:
		generic = []lineRule{ruleJava}
	}
	fs = append(fs, runLineRules(s, cs, generic...)...)
	return fs, false
}

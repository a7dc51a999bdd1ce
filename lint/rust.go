package lint

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Rust: Cargo.toml and Cargo.lock. rustls moved ML-KEM into its core crate
// in 0.23.22 (aws-lc-rs provider; prefer-post-quantum decides whether the
// hybrid is sent first); the ring provider has no ML-KEM; native-tls uses
// the system OpenSSL on Linux.

// rustlsMLKEM is the first rustls release with X25519MLKEM768 in the core
// crate.
var rustlsMLKEM = [3]int{0, 23, 22}

var (
	cargoHeader  = regexp.MustCompile(`^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*$`)
	cargoDepLine = regexp.MustCompile(`^\s*"?([A-Za-z0-9_\-]+)"?\s*=\s*(.*)$`)
	cargoVersion = regexp.MustCompile(`(?:^|[{,\s])version\s*=\s*"([^"]*)"`)
	cargoFeats   = regexp.MustCompile(`(?:^|[{,\s])features\s*=\s*\[`)
	cargoNoDef   = regexp.MustCompile(`default-features\s*=\s*false`)
	cargoLockKV  = regexp.MustCompile(`^(name|version)\s*=\s*"([^"]*)"`)
	semverRe     = regexp.MustCompile(`^([=^~]?)\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?`)
)

// semverBelow reports whether a Cargo version requirement (or a locked
// version) can only resolve below want: "0.21" and "=0.23.5" can, "0.23"
// and "^0.23.1" cannot (cargo picks the newest compatible 0.23.x).
func semverBelow(req string, want [3]int, locked bool) bool {
	m := semverRe.FindStringSubmatch(strings.TrimSpace(req))
	if m == nil {
		return false
	}
	v := [3]int{}
	for i := 0; i < 3; i++ {
		v[i], _ = strconv.Atoi(m[i+2])
	}
	exact := locked || m[1] == "="
	if !exact {
		v[2] = 1 << 30 // the newest patch of that 0.x
		if v[0] > 0 {
			v[1] = 1 << 30
		}
	}
	for i := 0; i < 3; i++ {
		if v[i] != want[i] {
			return v[i] < want[i]
		}
	}
	return false
}

// cargoDep is one dependency as written in Cargo.toml: its name and the
// text span that declares it (an inline line, or a [dependencies.NAME]
// table up to the next header).
type cargoDep struct {
	name     string
	a, b     int    // span in the file
	text     string // comment-stripped text of the span
	nameAt   int
	inline   string // a plain version string ("0.21"), if so written
	inlineAt int
}

func cargoDeps(s *source) []cargoDep {
	code := s.codeLines()
	var out []cargoDep
	section := ""
	var table *cargoDep
	flush := func(end int) {
		if table != nil {
			table.b = end
			table.text = string(s.data[table.a:end])
			out = append(out, *table)
			table = nil
		}
	}
	for i, l := range code {
		base := s.posLC(i+1, 1).Offset
		if m := cargoHeader.FindStringSubmatch(l); m != nil {
			flush(base)
			section = strings.ReplaceAll(m[1], " ", "")
			if i := strings.LastIndex(section, "dependencies."); i >= 0 {
				dep := section[i+len("dependencies."):]
				table = &cargoDep{name: strings.Trim(dep, `"'`), a: base, nameAt: base + max(0, strings.Index(l, dep))}
			}
			continue
		}
		if !strings.HasSuffix(section, "dependencies") {
			continue
		}
		m := cargoDepLine.FindStringSubmatchIndex(l)
		if m == nil {
			continue
		}
		d := cargoDep{name: l[m[2]:m[3]], a: base, b: base + len(l), text: l, nameAt: base + m[2]}
		if v := strings.TrimSpace(l[m[4]:m[5]]); strings.HasPrefix(v, `"`) {
			d.inline = strings.Trim(v, `"`)
			d.inlineAt = base + m[4] + strings.Index(l[m[4]:], `"`) + 1
		}
		out = append(out, d)
	}
	flush(len(s.data))
	return out
}

// checkCargoToml runs PQ801-PQ804 on a Cargo manifest.
func checkCargoToml(s *source, env *checkEnv) []Finding {
	if bad := tomlParseError(s, "Cargo.toml"); bad != nil {
		return bad
	}
	var fs []Finding
	for _, d := range cargoDeps(s) {
		switch d.name {
		case "rustls":
			fs = append(fs, checkRustlsDep(s, d)...)
		case "native-tls", "tokio-native-tls", "hyper-tls", "openssl":
			fs = append(fs, s.finding("PQ804", d.nameAt, d.nameAt+len(d.name), nativeTLSMessage(d.name, env.path), nil))
		case "reqwest":
			if i := strings.Index(d.text, `"native-tls`); i >= 0 {
				fs = append(fs, s.finding("PQ804", d.a+i+1, d.a+i+1+len("native-tls"), nativeTLSMessage("reqwest's native-tls feature", env.path), nil))
			}
		}
	}
	return fs
}

func checkRustlsDep(s *source, d cargoDep) []Finding {
	var fs []Finding
	ver, verAt := d.inline, d.inlineAt
	if ver == "" {
		if m := cargoVersion.FindStringSubmatchIndex(d.text); m != nil {
			ver, verAt = d.text[m[2]:m[3]], d.a+m[2]
		}
	}
	if ver != "" && semverBelow(ver, rustlsMLKEM, false) {
		fs = append(fs, s.finding("PQ801", verAt, verAt+len(ver), "rustls "+ver+" predates 0.23.22, the release that moved X25519MLKEM768 into rustls: this build cannot offer hybrid key exchange",
			s.replace("require rustls 0.23.22 or later (an API upgrade: needs a human)", verAt, verAt+len(ver), "0.23.22")))
	}
	noDefault := cargoNoDef.MatchString(d.text)
	feats := ""
	featsAt := -1
	if m := cargoFeats.FindStringIndex(d.text); m != nil {
		featsAt = d.a + m[1]
		if end := strings.IndexByte(d.text[m[1]:], ']'); end >= 0 {
			feats = d.text[m[1] : m[1]+end]
		}
	}
	has := func(f string) bool { return strings.Contains(feats, `"`+f+`"`) }
	aws := has("aws_lc_rs") || has("aws-lc-rs") || has("fips")
	if noDefault && has("ring") && !aws {
		i := strings.Index(d.text, `"ring"`)
		a := d.a + i + 1
		fs = append(fs, s.finding("PQ802", a, a+len("ring"), "rustls with only the ring provider: ring has no ML-KEM, so no hybrid group can be negotiated",
			s.replace("use the aws-lc-rs provider (a build change: needs a C toolchain; not applied by --fix)", a, a+len("ring"), `aws_lc_rs", "prefer-post-quantum`)))
	}
	if noDefault && aws && !has("prefer-post-quantum") && featsAt >= 0 && !semverBelow(ver, rustlsMLKEM, false) {
		fs = append(fs, s.finding("PQ803", d.nameAt, d.nameAt+len(d.name), "rustls with default-features = false and without the prefer-post-quantum feature: X25519MLKEM768 is supported but not sent first, so clients start classical and servers pick classical when offered both",
			s.replace("enable prefer-post-quantum", featsAt, featsAt, `"prefer-post-quantum", `)))
	}
	return fs
}

// nativeTLSMessage says what native-tls means and, when a Dockerfile sits
// next to the manifest, what its base image's OpenSSL is (PQ202 table).
func nativeTLSMessage(what, path string) string {
	msg := what + " uses the system OpenSSL on Linux: hybrid key exchange needs OpenSSL 3.5 or later in the runtime image (see PQ202's table), or switch to rustls 0.23.22+ with aws-lc-rs"
	if path == "" {
		return msg
	}
	df := filepath.Join(filepath.Dir(path), "Dockerfile")
	data, err := os.ReadFile(df)
	if err != nil || len(data) > MaxFileSize {
		return msg
	}
	for _, f := range checkDockerfile(newSource("Dockerfile", data, kindDockerfile)) {
		if f.Rule == "PQ202" {
			return msg + "; the Dockerfile next to it: " + f.Message
		}
	}
	return msg
}

// checkCargoLock reads the resolved versions: rustls older than 0.23.22
// (PQ801), rustls with ring and without aws-lc-rs (PQ802), native-tls
// (PQ804). A lock file is regenerated by cargo, so nothing is fixed in it.
func checkCargoLock(s *source, env *checkEnv) []Finding {
	type pkg struct {
		name, version     string
		nameAt, versionAt int
	}
	var pkgs []pkg
	for i := 1; i <= s.numLines(); i++ {
		l := s.line(i)
		if strings.TrimSpace(l) == "[[package]]" {
			pkgs = append(pkgs, pkg{})
			continue
		}
		m := cargoLockKV.FindStringSubmatchIndex(l)
		if m == nil || len(pkgs) == 0 {
			continue
		}
		p := &pkgs[len(pkgs)-1]
		at := s.posLC(i, 1).Offset + m[4]
		if l[m[2]:m[3]] == "name" {
			p.name, p.nameAt = l[m[4]:m[5]], at
		} else {
			p.version, p.versionAt = l[m[4]:m[5]], at
		}
	}
	has := map[string]bool{}
	for _, p := range pkgs {
		has[p.name] = true
	}
	var fs []Finding
	for _, p := range pkgs {
		switch p.name {
		case "rustls":
			if semverBelow(p.version, rustlsMLKEM, true) {
				fs = append(fs, s.finding("PQ801", p.versionAt, p.versionAt+len(p.version), "rustls "+p.version+" is locked, older than 0.23.22 (ML-KEM in rustls core): run 'cargo update -p rustls' (raise the requirement in Cargo.toml if it caps the version)", nil))
			} else if has["ring"] && !has["aws-lc-rs"] {
				fs = append(fs, s.finding("PQ802", p.nameAt, p.nameAt+len(p.name), "rustls "+p.version+" is built with ring and without aws-lc-rs: ring has no ML-KEM, so no hybrid group can be negotiated", nil))
			}
		case "native-tls":
			fs = append(fs, s.finding("PQ804", p.nameAt, p.nameAt+len(p.name), nativeTLSMessage("native-tls "+p.version, env.path), nil))
		}
	}
	return fs
}

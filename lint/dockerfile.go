package lint

import (
	"fmt"
	"go/version"
	"regexp"
	"strconv"
	"strings"
)

// opensslImage is one entry of the table of base images whose system OpenSSL
// version we know. Only releases we are sure about are listed; anything else
// is not reported.
type opensslImage struct {
	distro  string // debian, ubuntu, alpine
	release string // codename or version as it appears in tags
	openssl string // major.minor
	fix     string // replacement for release, "" when no drop-in exists
}

// knownOpenSSL is the table documented in docs/LINT.md. OpenSSL gained the
// ML-KEM hybrids in 3.5.
var knownOpenSSL = []opensslImage{
	{"debian", "buster", "1.1.1", "trixie"},
	{"debian", "10", "1.1.1", "13"},
	{"debian", "bullseye", "1.1.1", "trixie"},
	{"debian", "11", "1.1.1", "13"},
	{"debian", "bookworm", "3.0", "trixie"},
	{"debian", "12", "3.0", "13"},
	{"debian", "trixie", "3.5", ""},
	{"debian", "13", "3.5", ""},
	{"ubuntu", "bionic", "1.1.1", ""},
	{"ubuntu", "18.04", "1.1.1", ""},
	{"ubuntu", "focal", "1.1.1", ""},
	{"ubuntu", "20.04", "1.1.1", ""},
	{"ubuntu", "jammy", "3.0", ""},
	{"ubuntu", "22.04", "3.0", ""},
	{"ubuntu", "noble", "3.0", ""},
	{"ubuntu", "24.04", "3.0", ""},
	{"alpine", "3.17", "3.0", "3.22"},
	{"alpine", "3.18", "3.1", "3.22"},
	{"alpine", "3.19", "3.1", "3.22"},
	{"alpine", "3.20", "3.3", "3.22"},
	{"alpine", "3.21", "3.3", "3.22"},
	{"alpine", "3.22", "3.5", ""},
}

// systemOpenSSLImages use the distribution's OpenSSL for TLS, so their tag's
// distribution suffix (python:3.12-slim-bookworm) tells the OpenSSL version.
// golang, node and JDK images bring their own TLS stack and are not listed.
var systemOpenSSLImages = map[string]bool{"python": true, "ruby": true, "php": true, "nginx": true, "httpd": true, "haproxy": true, "postgres": true, "perl": true}

var (
	dockerArgRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}?`)
	goTagVersion = regexp.MustCompile(`^(1\.\d+)(\.\d+)?(rc\d+)?`)
	tagCodename  = regexp.MustCompile(`(^|-)(buster|bullseye|bookworm|trixie|bionic|focal|jammy|noble)(-|$)`)
	tagAlpine    = regexp.MustCompile(`alpine(3\.\d+)`)
	alpineTag    = regexp.MustCompile(`^3\.\d+`)
	ubuntuTag    = regexp.MustCompile(`^\d+\.\d+`)
)

// dockerLine is one logical Dockerfile instruction (continuations joined).
type dockerLine struct {
	start  int    // byte offset of the instruction
	text   string // raw text of the first physical line
	instr  string // upper-cased instruction
	args   string // the rest of the first physical line
	argsAt int    // byte offset of args
}

func dockerLines(s *source) []dockerLine {
	var out []dockerLine
	n := s.numLines()
	for i := 1; i <= n; i++ {
		l := s.line(i)
		t := strings.TrimLeft(l, " \t")
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(t, " ")
		lead := len(l) - len(t)
		start := s.posLC(i, 1).Offset
		args := strings.TrimLeft(rest, " \t")
		dl := dockerLine{start: start + lead, text: l, instr: strings.ToUpper(instr), args: args, argsAt: start + len(l) - len(args)}
		out = append(out, dl)
		for strings.HasSuffix(strings.TrimRight(s.line(i), " \t"), "\\") && i < n {
			i++
		}
	}
	return out
}

// dockerStage is what checkDockerfile learns about one FROM stage.
type dockerStage struct {
	alias    string
	golang   bool  // built FROM a golang image
	pq202    []int // indexes in fs of the stage's PQ202 findings
	copiesGo bool  // COPY --from a golang stage: it runs a Go binary
	installs bool  // RUN installs distribution packages
}

// dockerInstall matches a RUN that installs distribution packages.
var dockerInstall = regexp.MustCompile(`\b(apt-get|apt|apk|yum|dnf|microdnf|zypper)\s+(-\S+\s+)*(install|add)\b`)

// checkDockerfile runs PQ201 and PQ202. PQ202 (system OpenSSL older than
// 3.5) is not reported for a stage that only runs a Go binary built in a
// golang stage (COPY --from it, no package installed): Go's crypto/tls does
// not use the system OpenSSL, so the base image's version is irrelevant.
func checkDockerfile(s *source) []Finding {
	var fs []Finding
	var stages []*dockerStage
	args := map[string]string{}
	argAt := map[string]int{} // offset of each ARG default value
	for _, dl := range dockerLines(s) {
		var cur *dockerStage
		if len(stages) > 0 {
			cur = stages[len(stages)-1]
		}
		switch dl.instr {
		case "RUN":
			if cur != nil && dockerInstall.MatchString(dockerLogical(s, dl)) {
				cur.installs = true
			}
		case "COPY", "ADD":
			for _, f := range strings.Fields(dl.args) {
				from, ok := strings.CutPrefix(strings.ToLower(f), "--from=")
				if !ok || cur == nil {
					continue
				}
				for i, st := range stages[:len(stages)-1] {
					if st.golang && (from == st.alias || from == strconv.Itoa(i)) {
						cur.copiesGo = true
					}
				}
			}
		case "ARG":
			fields := strings.Fields(dl.args)
			if len(fields) == 0 {
				continue
			}
			name, def, ok := strings.Cut(fields[0], "=")
			if ok {
				args[name] = strings.Trim(def, `"'`)
				argAt[name] = dl.argsAt + len(name) + 1 + strings.Index(def, args[name])
			}
		case "FROM":
			fields := strings.Fields(dl.args)
			idx := 0
			for idx < len(fields) && strings.HasPrefix(fields[idx], "--") {
				idx++
			}
			if idx >= len(fields) {
				continue
			}
			raw := fields[idx]
			rawAt := dl.argsAt + strings.Index(dl.args, raw)
			image := dockerArgRef.ReplaceAllStringFunc(raw, func(m string) string {
				sm := dockerArgRef.FindStringSubmatch(m)
				if v, ok := args[sm[1]]; ok {
					return v
				}
				return sm[2]
			})
			substituted := image != raw
			found := checkFromImage(s, image, raw, rawAt, substituted)
			found = append(found, checkJavaImage(s, image, raw, rawAt, substituted)...)
			if substituted {
				addArgFixes(s, found, raw, args, argAt)
			}
			name, _, _ := splitImage(image)
			st := &dockerStage{golang: name == "golang"}
			for i := idx + 1; i+1 < len(fields); i++ {
				if strings.EqualFold(fields[i], "AS") {
					st.alias = strings.ToLower(fields[i+1])
				}
			}
			for _, f := range found {
				if f.Rule == "PQ202" {
					st.pq202 = append(st.pq202, len(fs))
				}
				fs = append(fs, f)
			}
			stages = append(stages, st)
		}
	}
	drop := map[int]bool{}
	for _, st := range stages {
		if st.copiesGo && !st.installs {
			for _, i := range st.pq202 {
				drop[i] = true
			}
		}
	}
	out := fs[:0]
	for i, f := range fs {
		if !drop[i] {
			out = append(out, f)
		}
	}
	return out
}

// dockerLogical returns the whole instruction starting at dl, continuation
// lines joined.
func dockerLogical(s *source, dl dockerLine) string {
	ln := s.pos(dl.start).Line
	var b strings.Builder
	for i := ln; i <= s.numLines(); i++ {
		l := strings.TrimRight(s.line(i), " \t")
		b.WriteString(strings.TrimSuffix(l, "\\"))
		b.WriteByte(' ')
		if !strings.HasSuffix(l, "\\") {
			break
		}
	}
	return b.String()
}

// splitImage splits [registry/]repo[:tag][@digest] and reports the Docker
// Hub short name of official images ("golang", "debian"...).
func splitImage(ref string) (name, tag string, tagAt int) {
	at := strings.Index(ref, "@")
	if at >= 0 {
		ref = ref[:at]
	}
	tagAt = -1
	slash := strings.LastIndex(ref, "/")
	if c := strings.LastIndex(ref, ":"); c > slash {
		tag = ref[c+1:]
		tagAt = c + 1
		ref = ref[:c]
	}
	name = ref
	for _, p := range []string{"docker.io/library/", "docker.io/", "index.docker.io/library/", "library/"} {
		name = strings.TrimPrefix(name, p)
	}
	return name, tag, tagAt
}

func checkFromImage(s *source, image, raw string, rawAt int, substituted bool) []Finding {
	name, tag, tagAt := splitImage(image)
	var fs []Finding
	// When the reference came from an ARG, the fix edits the FROM line only
	// if the tag is literally there; otherwise it points at the ARG value.
	canFix := !substituted
	span := func(a, b int) (int, int) {
		if canFix {
			return rawAt + a, rawAt + b
		}
		return rawAt, rawAt + len(raw)
	}
	if name == "golang" && tag != "" {
		if m := goTagVersion.FindStringSubmatch(tag); m != nil && version.Compare("go"+m[1], "go1.24") < 0 {
			a, b := span(tagAt, tagAt+len(m[0]))
			suffix := tag[len(m[0]):]
			suffix = tagCodename.ReplaceAllString(suffix, "${1}bookworm${3}")
			suffix = strings.ReplaceAll(suffix, "bookworm-bookworm", "bookworm")
			suffix = tagAlpine.ReplaceAllString(suffix, "alpine")
			var fix *Fix
			if canFix {
				fix = s.replace("build with Go 1.26", rawAt+tagAt, rawAt+tagAt+len(tag), "1.26"+suffix)
			}
			fs = append(fs, s.finding("PQ201", a, b, fmt.Sprintf("build image golang:%s has Go %s, older than 1.24: the binary cannot offer X25519MLKEM768", tag, m[1]), fix))
		}
		return fs
	}
	distro, release := "", ""
	switch {
	case name == "debian" || name == "ubuntu" || name == "alpine":
		distro = name
		release = strings.TrimSuffix(tag, "-slim")
		if name == "debian" {
			if m := tagCodename.FindStringSubmatch(tag); m != nil {
				release = m[2]
			} else if i := strings.IndexAny(release, ".-"); i > 0 {
				release = release[:i] // debian:12.5 -> 12
			}
		}
		if name == "alpine" {
			if m := alpineTag.FindString(tag); m != "" {
				release = m
			}
		}
		if name == "ubuntu" {
			if m := ubuntuTag.FindString(tag); m != "" {
				release = m
			} else if i := strings.Index(release, "-"); i > 0 {
				release = release[:i]
			}
		}
	case systemOpenSSLImages[name]:
		if m := tagCodename.FindStringSubmatch(tag); m != nil {
			release = m[2]
			distro = "debian"
			if release == "bionic" || release == "focal" || release == "jammy" || release == "noble" {
				distro = "ubuntu"
			}
		} else if m := tagAlpine.FindStringSubmatch(tag); m != nil {
			distro, release = "alpine", m[1]
		} else {
			distro, release = frozenImageDistro(name, tag)
		}
	}
	if distro == "" || release == "" {
		return fs
	}
	for _, k := range knownOpenSSL {
		if k.distro != distro || k.release != release || k.openssl == "3.5" {
			continue
		}
		var fix *Fix
		msg := fmt.Sprintf("base image %s ships %s %s with OpenSSL %s, older than 3.5: programs using the system OpenSSL cannot offer hybrid ML-KEM groups", image, distro, release, k.openssl)
		a, b := span(0, len(raw))
		if k.fix != "" && canFix && tagAt >= 0 {
			newTag := ""
			if name == distro && strings.HasPrefix(tag, release) && release[0] >= '0' && release[0] <= '9' {
				end := strings.IndexByte(tag, '-')
				if end < 0 {
					end = len(tag)
				}
				newTag = k.fix + tag[end:] // debian:12.5-slim -> 13-slim
			} else if i := strings.LastIndex(tag, release); i >= 0 {
				newTag = tag[:i] + k.fix + tag[i+len(release):]
			}
			if newTag != "" {
				fix = s.replace(fmt.Sprintf("move to %s %s (OpenSSL 3.5)", distro, k.fix), rawAt+tagAt, rawAt+tagAt+len(tag), newTag)
				a, b = rawAt+tagAt, rawAt+tagAt+len(tag)
			}
		}
		if k.fix == "" {
			msg += "; no release of this image line ships 3.5 yet: consider debian:trixie or alpine:3.22"
		}
		fs = append(fs, s.finding("PQ202", a, b, msg, fix))
		break
	}
	return fs
}

// addArgFixes gives a fix to PQ201 findings whose Go version came from an ARG
// default (ARG GO_VERSION=1.22 ... FROM golang:${GO_VERSION}): the edit goes
// to the ARG line.
func addArgFixes(s *source, fs []Finding, raw string, args map[string]string, argAt map[string]int) {
	for i := range fs {
		if fs[i].Rule != "PQ201" || fs[i].Fix != nil {
			continue
		}
		for _, m := range dockerArgRef.FindAllStringSubmatch(raw, -1) {
			v, ok := args[m[1]]
			if !ok {
				continue
			}
			if gv := goTagVersion.FindString(v); gv != "" && gv == v[:len(gv)] {
				at := argAt[m[1]]
				fs[i].Fix = s.replace("build with Go 1.26 (the version comes from ARG "+m[1]+")", at, at+len(gv), "1.26")
				break
			}
		}
	}
}

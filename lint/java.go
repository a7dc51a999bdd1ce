package lint

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// firstHybridJDK is the first JDK whose SunJSSE offers the ML-KEM hybrids
// (JEP 527).
const firstHybridJDK = 27

// jdkImage is one row of the table of JDK base images: how to find the
// JDK feature release in a reference, and whether the tag can be moved to
// JDK 27 as it is (the image line publishes every feature release).
type jdkImage struct {
	name    *regexp.Regexp // matches the image name; group 1 is the version when it is in the name
	tag     *regexp.Regexp // matches the tag; group 1 is the version
	fixable bool
}

var (
	leadingJDK = regexp.MustCompile(`^(\d+)`)
	jdkImages  = []jdkImage{
		{regexp.MustCompile(`^(?:eclipse-temurin|amazoncorretto|sapmachine)$`), leadingJDK, true},
		{regexp.MustCompile(`^(?:openjdk|azul/zulu-openjdk(?:-debian|-alpine)?|mcr\.microsoft\.com/openjdk/jdk|bellsoft/liberica-openjdk-(?:debian|alpine|centos))$`), leadingJDK, false},
		{regexp.MustCompile(`^maven$`), regexp.MustCompile(`(?:eclipse-temurin|amazoncorretto|sapmachine|openjdk|jdk)-?(\d+)`), false},
		{regexp.MustCompile(`^gradle$`), regexp.MustCompile(`jdk-?(\d+)`), false},
		{regexp.MustCompile(`^gcr\.io/distroless/java(\d+)`), nil, false},
	}
)

// jdkUpgradeHint is what works today, for every PQ431 message.
const jdkUpgradeHint = "SunJSSE offers X25519MLKEM768 only from JDK 27 (JEP 527): move to a JDK 27+ runtime, or register Bouncy Castle JSSE (bctls-jdk18on 1.81+) as the TLS provider"

// checkJavaImage is PQ431 for a FROM reference (called by checkDockerfile
// with the reference after ARG substitution).
func checkJavaImage(s *source, image, raw string, rawAt int, substituted bool) []Finding {
	name, tag, tagAt := splitImage(image)
	for _, ji := range jdkImages {
		nm := ji.name.FindStringSubmatch(name)
		if nm == nil {
			continue
		}
		var v string
		vAt := -1
		switch {
		case ji.tag == nil && len(nm) > 1:
			v = nm[1]
		case ji.tag != nil && tag != "":
			if m := ji.tag.FindStringSubmatchIndex(tag); m != nil {
				v, vAt = tag[m[2]:m[3]], tagAt+m[2]
			}
		}
		major, err := strconv.Atoi(v)
		if err != nil || major >= firstHybridJDK || major < 6 {
			return nil
		}
		var fix *Fix
		if ji.fixable && !substituted && vAt >= 0 {
			end := strings.IndexAny(tag[vAt-tagAt:], "-")
			if end < 0 {
				end = len(tag) - (vAt - tagAt)
			}
			fix = s.replace(fmt.Sprintf("move the image to JDK %d", firstHybridJDK), rawAt+vAt, rawAt+vAt+end, strconv.Itoa(firstHybridJDK))
		}
		return []Finding{s.finding("PQ431", rawAt, rawAt+len(raw),
			fmt.Sprintf("base image %s runs JDK %d: %s", image, major, jdkUpgradeHint), fix)}
	}
	return nil
}

// javaVersionToken is the version in a .java-version file: "21",
// "17.0.9", "temurin-21.0.1", "1.8".
var javaVersionToken = regexp.MustCompile(`^\s*(?:[A-Za-z][A-Za-z0-9_.]*-)*((?:1\.)?(\d+))[0-9A-Za-z._+\-]*`)

// checkJavaVersionFile is PQ431 for .java-version (jenv, asdf-style
// managers, IDEs): its first line names the JDK the project runs on.
func checkJavaVersionFile(s *source) []Finding {
	for i := 1; i <= s.numLines(); i++ {
		l := s.line(i)
		if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		m := javaVersionToken.FindStringSubmatchIndex(l)
		if m == nil {
			return nil
		}
		base := s.posLC(i, 1).Offset
		return jdkFinding(s, "the .java-version", l[m[4]:m[5]], base+m[2], base+m[1], SeverityWarning)
	}
	return nil
}

// jdkFinding builds a PQ431 finding for a JDK version token at [a, b).
func jdkFinding(s *source, where, majorText string, a, b int, sev Severity) []Finding {
	major, err := strconv.Atoi(majorText)
	if err != nil || major >= firstHybridJDK || major < 1 {
		return nil
	}
	msg := fmt.Sprintf("%s selects JDK %d: %s", where, major, jdkUpgradeHint)
	if sev == SeverityInfo {
		msg = fmt.Sprintf("%s sets Java %d as the language level; if the service also runs on JDK %d, %s", where, major, major, jdkUpgradeHint)
	}
	f := s.finding("PQ431", a, b, msg, s.replace(fmt.Sprintf("use JDK %d", firstHybridJDK), a, b, strconv.Itoa(firstHybridJDK)))
	f.Severity = sev
	return []Finding{f}
}

// bcFirstHybrid is the first bctls release with the ML-KEM hybrid groups.
var bcFirstHybrid = [3]int{1, 81, 0}

// bctlsFinding judges one bctls artifact and version found at [a, b).
func bctlsFinding(s *source, artifact, version string, a, b int) []Finding {
	if artifact == "bctls-jdk15on" {
		return []Finding{s.finding("PQ432", a, b, "bctls-jdk15on ended at 1.70, before Bouncy Castle JSSE had any ML-KEM hybrid group: move to bctls-jdk18on 1.81 or later (X25519MLKEM768)",
			nil)}
	}
	v, ok := parseDotted(version)
	if !ok || !lessVersion(v, bcFirstHybrid) {
		return nil
	}
	return []Finding{s.finding("PQ432", a, b, fmt.Sprintf("%s %s has no ML-KEM hybrid group: Bouncy Castle JSSE offers X25519MLKEM768 from 1.81 (use the newest release)", artifact, version),
		s.replace("upgrade bctls to 1.81 or later", a, b, "1.81"))}
}

// parseDotted parses "1.78.1" into {1, 78, 1}; anything but digits and
// dots (a property, a range, a SNAPSHOT) is not judged.
func parseDotted(v string) ([3]int, bool) {
	var out [3]int
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return out, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return out, false
		}
		out[i] = n
	}
	return out, true
}

func lessVersion(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// --- Maven ---

var (
	xmlComment   = regexp.MustCompile(`(?s)<!--.*?-->`)
	xmlSimple    = regexp.MustCompile(`<([A-Za-z0-9_.\-]+)>\s*([^<>]*?)\s*</([A-Za-z0-9_.\-]+)>`)
	mvnLangLevel = map[string]bool{"maven.compiler.release": true, "maven.compiler.source": true, "maven.compiler.target": true, "java.version": true}
	mvnBlock     = regexp.MustCompile(`(?s)<(dependency|jdk|toolchain)>(.*?)</(?:dependency|jdk|toolchain)>`)
	mvnArtifact  = regexp.MustCompile(`<artifactId>\s*(bctls-jdk18on|bctls-jdk15to18|bctls-jdk15on)\s*</artifactId>`)
	mvnVersion   = regexp.MustCompile(`<version>\s*([^<>]*?)\s*</version>`)
	mvnTypeJDK   = regexp.MustCompile(`<type>\s*jdk\s*</type>`)
	mvnProperty  = regexp.MustCompile(`^\$\{([A-Za-z0-9_.\-]+)\}$`)
)

// blankXMLComments replaces comments by spaces, keeping offsets.
func blankXMLComments(data []byte) string {
	b := []byte(string(data))
	for _, m := range xmlComment.FindAllIndex(b, -1) {
		for i := m[0]; i < m[1]; i++ {
			if b[i] != '\n' {
				b[i] = ' '
			}
		}
	}
	return string(b)
}

// checkMaven is PQ431 (language level, toolchains) and PQ432 (bctls
// dependencies) for a pom.xml or toolchains.xml.
func checkMaven(s *source) []Finding {
	doc := blankXMLComments(s.data)
	props := map[string]string{}
	var fs []Finding
	for _, m := range xmlSimple.FindAllStringSubmatchIndex(doc, -1) {
		name, val := doc[m[2]:m[3]], doc[m[4]:m[5]]
		if name != doc[m[6]:m[7]] {
			continue
		}
		props[name] = val
		if mvnLangLevel[name] {
			if mm := javaVersionToken.FindStringSubmatch(val); mm != nil && mm[0] == val {
				fs = append(fs, jdkFinding(s, "<"+name+">", mm[2], m[4], m[5], SeverityInfo)...)
			}
		}
	}
	for _, m := range mvnBlock.FindAllStringSubmatchIndex(doc, -1) {
		kind, body, at := doc[m[2]:m[3]], doc[m[4]:m[5]], m[4]
		vm := mvnVersion.FindStringSubmatchIndex(body)
		if vm == nil {
			continue
		}
		version, va, vb := body[vm[2]:vm[3]], at+vm[2], at+vm[3]
		switch {
		case kind == "dependency":
			am := mvnArtifact.FindStringSubmatch(body)
			if am == nil {
				continue
			}
			if pm := mvnProperty.FindStringSubmatch(version); pm != nil {
				resolved, ok := props[pm[1]]
				if !ok {
					continue
				}
				version = resolved
				va, vb = propertyValueSpan(doc, pm[1], va, vb)
			}
			fs = append(fs, bctlsFinding(s, am[1], version, va, vb)...)
		case kind == "jdk" || mvnTypeJDK.MatchString(body):
			if mm := javaVersionToken.FindStringSubmatch(version); mm != nil && mm[0] == version {
				fs = append(fs, jdkFinding(s, "the Maven toolchain", mm[2], va, vb, SeverityWarning)...)
			}
		}
	}
	return fs
}

// propertyValueSpan finds the definition <name>value</name> of a Maven
// property, so that the finding and its fix point at the value; without
// one it keeps the reference's span.
func propertyValueSpan(doc, name string, a, b int) (int, int) {
	open := "<" + name + ">"
	i := strings.Index(doc, open)
	if i < 0 {
		return a, b
	}
	start := i + len(open)
	end := strings.Index(doc[start:], "</")
	if end < 0 {
		return a, b
	}
	v := doc[start : start+end]
	lead := len(v) - len(strings.TrimLeft(v, " \t\r\n"))
	return start + lead, start + len(strings.TrimRight(v, " \t\r\n"))
}

// --- Gradle ---

var (
	gradleToolchain = regexp.MustCompile(`(?:languageVersion(?:\.set)?\s*(?:=|\()\s*JavaLanguageVersion\.of\(\s*|jvmToolchain\(\s*)(\d+)\s*\)`)
	gradleBctls     = regexp.MustCompile(`["']org\.bouncycastle:(bctls-jdk18on|bctls-jdk15to18|bctls-jdk15on):([0-9.]+)["':@]`)
)

// checkGradle is PQ431 (toolchains) and PQ432 (bctls coordinates) for
// Gradle build scripts; other Java-family files are not read.
func checkGradle(s *source) []Finding {
	if !isGradle(s.name) {
		return nil
	}
	var fs []Finding
	for i, l := range s.codeLines() {
		base := s.posLC(i+1, 1).Offset
		for _, m := range gradleToolchain.FindAllStringSubmatchIndex(l, -1) {
			fs = append(fs, jdkFinding(s, "the Gradle Java toolchain", l[m[2]:m[3]], base+m[2], base+m[3], SeverityWarning)...)
		}
		for _, m := range gradleBctls.FindAllStringSubmatchIndex(l, -1) {
			fs = append(fs, bctlsFinding(s, l[m[2]:m[3]], l[m[4]:m[5]], base+m[4], base+m[5])...)
		}
	}
	return fs
}

// --- SSLParameters.setNamedGroups ---

// javaNamedGroupsCall matches a literal group list given to
// SSLParameters.setNamedGroups (JDK 20+) or BCSSLParameters.setNamedGroups
// in Java, and to the namedGroups property in Kotlin.
var javaNamedGroupsCall = regexp.MustCompile(`(?:\.setNamedGroups\(\s*new\s+String\s*\[\s*\]\s*\{|\.namedGroups\s*=\s*arrayOf\()\s*("[^"\n]*"(?:\s*,\s*"[^"\n]*")*)`)

// ruleJavaNamedGroups is PQ411 for code that sets the named groups of one
// connection: like jdk.tls.namedGroups, the list replaces the default.
func ruleJavaNamedGroups(s *source, ln, base int, code string, _ []string) []Finding {
	m := javaNamedGroupsCall.FindStringSubmatchIndex(code)
	if m == nil {
		return nil
	}
	list := code[m[2]:m[3]]
	return listFinding(s, "PQ411", "setNamedGroups", base+m[2]+1, base+m[3], list, `", "`)
}

// --- Gradle version catalogs ---

var (
	tomlSection    = regexp.MustCompile(`^\s*\[([A-Za-z0-9_.\-]+)\]\s*$`)
	tomlVersionDef = regexp.MustCompile(`^\s*([A-Za-z0-9_.\-]+)\s*=\s*"([^"]*)"`)
	catalogBctls   = regexp.MustCompile(`(?:module\s*=\s*"org\.bouncycastle:|name\s*=\s*")(bctls-jdk18on|bctls-jdk15to18|bctls-jdk15on)"`)
	catalogVersion = regexp.MustCompile(`\bversion\s*=\s*"([^"]*)"`)
	catalogRef     = regexp.MustCompile(`\bversion\.ref\s*=\s*"([^"]*)"`)
)

// checkVersionCatalog is PQ432 for a Gradle version catalog
// (gradle/libs.versions.toml): bctls libraries with an inline version, a
// version.ref into [versions], or the "group:name:version" notation.
func checkVersionCatalog(s *source) []Finding {
	if !strings.HasSuffix(strings.ToLower(s.name), "libs.versions.toml") && !strings.HasSuffix(strings.ToLower(s.name), ".versions.toml") {
		return nil
	}
	versions := map[string][2]int{} // name -> value span
	section := ""
	code := s.codeLines()
	for i, l := range code {
		if m := tomlSection.FindStringSubmatch(l); m != nil {
			section = m[1]
			continue
		}
		if m := tomlVersionDef.FindStringSubmatchIndex(l); m != nil && section == "versions" {
			base := s.posLC(i+1, 1).Offset
			versions[l[m[2]:m[3]]] = [2]int{base + m[4], base + m[5]}
		}
	}
	var fs []Finding
	reported := map[[2]int]bool{} // a [versions] entry shared by several bctls libraries
	section = ""
	for i, l := range code {
		if m := tomlSection.FindStringSubmatch(l); m != nil {
			section = m[1]
			continue
		}
		if section != "libraries" {
			continue
		}
		base := s.posLC(i+1, 1).Offset
		for _, m := range gradleBctls.FindAllStringSubmatchIndex(l, -1) {
			fs = append(fs, bctlsFinding(s, l[m[2]:m[3]], l[m[4]:m[5]], base+m[4], base+m[5])...)
		}
		am := catalogBctls.FindStringSubmatch(l)
		if am == nil {
			continue
		}
		if m := catalogRef.FindStringSubmatch(l); m != nil {
			if span, ok := versions[m[1]]; ok && !reported[span] {
				reported[span] = true
				fs = append(fs, bctlsFinding(s, am[1], string(s.data[span[0]:span[1]]), span[0], span[1])...)
			}
		} else if m := catalogVersion.FindStringSubmatchIndex(l); m != nil {
			fs = append(fs, bctlsFinding(s, am[1], l[m[2]:m[3]], base+m[2], base+m[3])...)
		}
	}
	return fs
}

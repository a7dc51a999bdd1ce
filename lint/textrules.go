package lint

import (
	"regexp"
	"strings"
)

// lineRule is a line-based check over comment-stripped lines. ln is 1-based,
// base the byte offset of the line start, code the line with comments
// blanked, lines all such lines (for rules that look at the next line).
type lineRule func(s *source, ln, base int, code string, lines []string) []Finding

// runLineRules applies rules to every comment-stripped line (comments in
// the syntax of the file's kind).
func runLineRules(s *source, rules ...lineRule) []Finding {
	code := s.codeLines()
	var fs []Finding
	for i, l := range code {
		if strings.TrimSpace(l) == "" {
			continue
		}
		base := s.posLC(i+1, 1).Offset
		for _, r := range rules {
			fs = append(fs, r(s, i+1, base, l, code)...)
		}
	}
	return fs
}

// listFinding builds the finding and fix for a group list found at
// [a, b) in the file, with sep the separator to insert after the hybrid.
func listFinding(s *source, rule, what string, a, b int, list string, sep string) []Finding {
	g := classifyGroups(splitGroups(list))
	if !g.classical() {
		return nil
	}
	return []Finding{s.finding(rule, a, b, curveMessage(what, g), s.replace("put "+hybridName+" first", a, a, hybridName+sep))}
}

// --- generic rules, run on every non-Go text file ---

var (
	policyClassical  = regexp.MustCompile(`(?i)(--policy[= ]|(?:^|[\s{,"'])policy"?\s*[:=]\s*)["']?(classical)\b`)
	compliancePolicy = regexp.MustCompile(`COMPLIANCE_POLICY["']?\s*[:=]\s*["']?(fips-140-2)\b`)
	envNameCompl     = regexp.MustCompile(`name:\s*["']?COMPLIANCE_POLICY["']?\s*$`)
	envValue         = regexp.MustCompile(`^\s*value:\s*["']?(fips-140-2)\b`)
	javaGroups       = regexp.MustCompile(`jdk\.tls\.namedGroups["']?\s*(?:=|:|,)?\s*(?:\\?["'])?([A-Za-z0-9_\-]+(?:\s*,\s*[A-Za-z0-9_\-]+)*)`)
)

// ruleGodebug is PQ104 for text files: tlsmlkem=0 / tlssecpmlkem=0 only ever
// appear as GODEBUG settings.
func ruleGodebug(s *source, ln, base int, code string, _ []string) []Finding {
	var fs []Finding
	for _, m := range godebugOff.FindAllStringSubmatchIndex(code, -1) {
		key := code[m[2]:m[3]]
		fs = append(fs, s.finding("PQ104", base+m[0], base+m[1],
			"GODEBUG setting "+key+"=0 turns off "+godebugGroups(key)+" in the Go program that runs with it",
			s.replace("set "+key+"=1 (or drop the setting)", base+m[4], base+m[5], "1")))
	}
	return fs
}

// tunnelGroupsFlag matches pqtls tunnel's --groups option. Only on a line
// that runs the tunnel: pqtls bench --groups x25519 measures the classical
// cost on purpose.
var tunnelGroupsFlag = regexp.MustCompile(`\btunnel\b.*--groups[= ]["']?([A-Za-z0-9_,:\-]+)`)

// ruleGroupsFlag is PQ502 for pqtls tunnel --groups with only classical
// groups, in any command line.
func ruleGroupsFlag(s *source, ln, base int, code string, _ []string) []Finding {
	m := tunnelGroupsFlag.FindStringSubmatchIndex(code)
	if m == nil {
		return nil
	}
	list := code[m[2]:m[3]]
	names := splitGroups(list)
	if g := classifyGroups(names); g.known != len(names) {
		return nil
	}
	sep := ","
	if strings.Contains(list, ":") && !strings.Contains(list, ",") {
		sep = ":"
	}
	return listFinding(s, "PQ502", "pqtls tunnel --groups", base+m[2], base+m[3], list, sep)
}

// rulePolicy is PQ501: pqtls configs and command lines with policy classical.
func rulePolicy(s *source, ln, base int, code string, _ []string) []Finding {
	m := policyClassical.FindStringSubmatchIndex(code)
	if m == nil {
		return nil
	}
	return []Finding{s.finding("PQ501", base+m[2], base+m[5], "pqtls policy is classical: the rollback switch offers and accepts only classical groups; switch back to prefer (or require) once the broken path is fixed",
		s.replace("use the default hybrid-first policy", base+m[4], base+m[5], "prefer"))}
}

// ruleCompliance is PQ362 in both the NAME=value form and the Kubernetes
// "- name: COMPLIANCE_POLICY / value: fips-140-2" form.
func ruleCompliance(s *source, ln, base int, code string, lines []string) []Finding {
	msg := "Istio COMPLIANCE_POLICY=fips-140-2 limits the mesh to TLS 1.2 and NIST ECDHE curves: no hybrid group can be negotiated"
	if m := compliancePolicy.FindStringSubmatchIndex(code); m != nil {
		return []Finding{s.finding("PQ362", base+m[0], base+m[3], msg, s.replace("use the post-quantum policy (Istio releases with 'pqc') or drop the variable", base+m[2], base+m[3], "pqc"))}
	}
	if envNameCompl.MatchString(code) {
		for j := ln; j < ln+2 && j < len(lines); j++ {
			if m := envValue.FindStringSubmatchIndex(lines[j]); m != nil {
				vb := s.posLC(j+1, 1).Offset
				return []Finding{s.finding("PQ362", vb+m[2], vb+m[3], msg, s.replace("use the post-quantum policy (Istio releases with 'pqc') or drop the variable", vb+m[2], vb+m[3], "pqc"))}
			}
		}
	}
	return nil
}

// ruleJava is PQ411: jdk.tls.namedGroups in properties files, JVM command
// lines (JAVA_OPTS, -D flags) and System.setProperty calls.
func ruleJava(s *source, ln, base int, code string, _ []string) []Finding {
	m := javaGroups.FindStringSubmatchIndex(code)
	if m == nil {
		return nil
	}
	list := strings.TrimRight(code[m[2]:m[3]], " ")
	return listFinding(s, "PQ411", "jdk.tls.namedGroups", base+m[2], base+m[2]+len(list), list, ",")
}

// --- nginx ---

var (
	nginxCurve     = regexp.MustCompile(`(?:^|[\s;{])ssl_ecdh_curve\s+([^;]+);`)
	nginxConfCmd   = regexp.MustCompile(`(?:^|[\s;{])(?:proxy_|grpc_|uwsgi_)?ssl_conf_command\s+(?:Groups|Curves)\s+([^;]+);`)
	nginxProtocols = regexp.MustCompile(`(?:^|[\s;{])((?:proxy_|grpc_|uwsgi_|zone_sync_)?ssl_protocols)\s+([^;]+);`)
)

func ruleNginx(s *source, ln, base int, code string, _ []string) []Finding {
	var fs []Finding
	for _, re := range []*regexp.Regexp{nginxCurve, nginxConfCmd} {
		if m := re.FindStringSubmatchIndex(code); m != nil {
			list := strings.TrimSpace(code[m[2]:m[3]])
			a := base + m[2]
			fs = append(fs, listFinding(s, "PQ311", "nginx ssl_ecdh_curve", a, a+len(list), list, ":")...)
		}
	}
	if m := nginxProtocols.FindStringSubmatchIndex(code); m != nil {
		protos := strings.Fields(code[m[4]:m[5]])
		has13 := false
		for _, p := range protos {
			if strings.EqualFold(p, "TLSv1.3") {
				has13 = true
			}
		}
		if !has13 && len(protos) > 0 {
			end := base + m[4] + len(strings.TrimRight(code[m[4]:m[5]], " \t"))
			fs = append(fs, s.finding("PQ312", base+m[2], end,
				code[m[2]:m[3]]+" "+strings.Join(protos, " ")+" does not include TLSv1.3: hybrid key exchange exists only in TLS 1.3",
				s.replace("add TLSv1.3", end, end, " TLSv1.3")))
		}
	}
	return fs
}

// --- HAProxy ---

var haproxyMaxVer = regexp.MustCompile(`(?:^|\s)ssl-max-ver\s+(SSLv3|TLSv1\.[012])(?:\s|$)`)

func ruleHAProxy(s *source, ln, base int, code string, _ []string) []Finding {
	var fs []Finding
	f := fieldsWithOffsets(code)
	for i := 0; i+1 < len(f); i++ {
		k := f[i].text
		if k == "ssl-default-bind-curves" || k == "ssl-default-server-curves" || (k == "curves" && i > 0) {
			a := base + f[i+1].off
			fs = append(fs, listFinding(s, "PQ321", "HAProxy "+k, a, a+len(f[i+1].text), f[i+1].text, ":")...)
		}
	}
	if m := haproxyMaxVer.FindStringSubmatchIndex(code); m != nil {
		fs = append(fs, s.finding("PQ322", base+m[2], base+m[3], "HAProxy ssl-max-ver "+code[m[2]:m[3]]+": hybrid key exchange exists only in TLS 1.3",
			s.replace("allow TLS 1.3", base+m[2], base+m[3], "TLSv1.3")))
	}
	return fs
}

type field struct {
	text string
	off  int
}

func fieldsWithOffsets(s string) []field {
	var out []field
	start := -1
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' || s[i] == '\t' {
			if start >= 0 {
				out = append(out, field{s[start:i], start})
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	return out
}

// --- ini-style key = value (stunnel, OpenSSL) ---

var (
	iniKV         = regexp.MustCompile(`^\s*([A-Za-z_.]+)\s*=\s*(.*?)\s*$`)
	iniOldVersion = regexp.MustCompile(`^(SSLv3|TLSv1(\.[012])?)$`)
)

func iniRule(keys map[string][2]string, versionKeys map[string]string, versionFix string) lineRule {
	return func(s *source, ln, base int, code string, _ []string) []Finding {
		m := iniKV.FindStringSubmatchIndex(code)
		if m == nil {
			return nil
		}
		key, val := code[m[2]:m[3]], code[m[4]:m[5]]
		a, b := base+m[4], base+m[5]
		for k, r := range keys {
			if strings.EqualFold(k, key) {
				return listFinding(s, r[0], r[1], a, b, val, ":")
			}
		}
		for k, rule := range versionKeys {
			if strings.EqualFold(k, key) && iniOldVersion.MatchString(val) {
				return []Finding{s.finding(rule, a, b, key+" = "+val+": hybrid key exchange exists only in TLS 1.3",
					s.replace("allow TLS 1.3", a, b, versionFix))}
			}
		}
		return nil
	}
}

var (
	ruleStunnel = iniRule(map[string][2]string{"curves": {"PQ331", "stunnel curves"}},
		map[string]string{"sslVersionMax": "PQ332", "sslVersion": "PQ332"}, "TLSv1.3")
	ruleOpenSSL = iniRule(map[string][2]string{"Groups": {"PQ421", "OpenSSL Groups"}, "Curves": {"PQ421", "OpenSSL Curves"}},
		map[string]string{"MaxProtocol": "PQ422"}, "TLSv1.3")
)

// --- Caddyfile ---

var caddyCurves = regexp.MustCompile(`^\s*curves\s+(.+?)\s*$`)

func ruleCaddy(s *source, ln, base int, code string, _ []string) []Finding {
	m := caddyCurves.FindStringSubmatchIndex(code)
	if m == nil {
		return nil
	}
	return listFinding(s, "PQ341", "Caddy tls curves", base+m[2], base+m[3], code[m[2]:m[3]], " ")
}

// --- Node.js ---

var (
	nodeCurve  = regexp.MustCompile("(?:ecdhCurve|DEFAULT_ECDH_CURVE)[\"']?\\s*[:=]\\s*([\"'`])([^\"'`]*)[\"'`]")
	nodeMaxVer = regexp.MustCompile("(?:maxVersion[\"']?\\s*:|DEFAULT_MAX_VERSION\\s*=)\\s*[\"'`](TLSv1(?:\\.[12])?)[\"'`]")
	// nodeMaxFlag is node's --tls-max-v1.2 command-line option (often in
	// NODE_OPTIONS), which sets tls.DEFAULT_MAX_VERSION to TLSv1.2.
	nodeMaxFlag = regexp.MustCompile(`(?:^|[\s"'=])--tls-max-v1\.(2)\b`)
)

// ruleNodeFlag is PQ402 for node's --tls-max-v1.2 option in command lines
// and environments (NODE_OPTIONS) of any text file.
func ruleNodeFlag(s *source, ln, base int, code string, _ []string) []Finding {
	m := nodeMaxFlag.FindStringSubmatchIndex(code)
	if m == nil {
		return nil
	}
	start := base + m[2] - len("--tls-max-v1.")
	return []Finding{s.finding("PQ402", start, base+m[3], "Node.js --tls-max-v1.2 caps every TLS connection of the process at TLS 1.2: hybrid key exchange exists only in TLS 1.3",
		s.replace("allow TLS 1.3 (or drop the option)", base+m[2], base+m[3], "3"))}
}

func ruleNode(s *source, ln, base int, code string, _ []string) []Finding {
	var fs []Finding
	if m := nodeCurve.FindStringSubmatchIndex(code); m != nil {
		fs = append(fs, listFinding(s, "PQ401", "Node.js ecdhCurve", base+m[4], base+m[5], code[m[4]:m[5]], ":")...)
	}
	if m := nodeMaxVer.FindStringSubmatchIndex(code); m != nil {
		fs = append(fs, s.finding("PQ402", base+m[2], base+m[3], "Node.js maxVersion '"+code[m[2]:m[3]]+"': hybrid key exchange exists only in TLS 1.3",
			s.replace("allow TLS 1.3", base+m[2], base+m[3], "TLSv1.3")))
	}
	return fs
}

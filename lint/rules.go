package lint

import (
	"bytes"
	_ "embed"
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Rule describes one check. IDs are stable: a rule may be retired, never
// renumbered.
type Rule struct {
	// ID is the stable identifier, e.g. "PQ101".
	ID string
	// Name is a short kebab-case name, e.g. "go-curve-preferences-classical".
	Name string
	// Severity is the default severity of its findings.
	Severity Severity
	// Format is the kind of file the rule reads ("Go", "go.mod", "Dockerfile"...).
	Format string
	// Summary is one line.
	Summary string
	// Rationale explains why the setting keeps TLS classical.
	Rationale string
	// Bad and Good are short examples.
	Bad, Good string
	// References are URLs or document names: the sources of the rule's
	// facts.
	References []string
	// Notes is an optional paragraph for the documentation (limits, what
	// is deliberately not reported).
	Notes string
	// UpgradeFix marks a rule whose fix changes a version (toolchain, base
	// image, library): pqtls lint --fix reports it and never applies it.
	UpgradeFix bool
	// Checked is the date (YYYY-MM-DD) the references were last checked.
	Checked string

	// checks say which checker finds the rule in which file kinds: the
	// dispatch (kinds.go) is computed from this table alone.
	checks []ruleCheck
}

// The checkers. A format parser (Go, go.mod, Dockerfile, YAML, TOML)
// reports several rules; a line rule usually one.
var (
	goCode = &checker{name: "go", run: func(s *source, env *checkEnv) []Finding {
		fs, gen := checkGo(s)
		env.generated = gen
		return fs
	}}
	goModFile      = &checker{name: "go.mod", run: func(s *source, env *checkEnv) []Finding { return checkGoMod(s, env.isMain) }}
	dockerFile     = &checker{name: "dockerfile", run: func(s *source, _ *checkEnv) []Finding { return checkDockerfile(s) }}
	yamlDoc        = &checker{name: "yaml", run: func(s *source, _ *checkEnv) []Finding { return checkYAML(s) }}
	tomlDoc        = &checker{name: "toml", run: func(s *source, _ *checkEnv) []Finding { return checkTOML(s) }}
	lineGodebug    = lineChecker("godebug", ruleGodebug)
	lineJava       = lineChecker("java", ruleJava)
	linePolicy     = lineChecker("pqtls-policy", rulePolicy)
	lineCompliance = lineChecker("istio-compliance", ruleCompliance)
	lineNodeFlag   = lineChecker("node-flag", ruleNodeFlag)
	lineGroupsFlag = lineChecker("pqtls-groups-flag", ruleGroupsFlag)
	lineNode       = lineChecker("node", ruleNode)
	lineNginx      = lineChecker("nginx", ruleNginx)
	lineHAProxy    = lineChecker("haproxy", ruleHAProxy)
	lineStunnel    = lineChecker("stunnel", ruleStunnel)
	lineOpenSSL    = lineChecker("openssl", ruleOpenSSL)
	lineCaddy      = lineChecker("caddy", ruleCaddy)
	lineKafka      = lineChecker("kafka", ruleKafka)
	terraformFile  = &checker{name: "terraform", run: func(s *source, _ *checkEnv) []Finding { return checkTerraform(s) }}
	jsonTemplate   = &checker{name: "json-template", run: func(s *source, _ *checkEnv) []Finding { return checkJSONTemplate(s) }}
	postgresConf   = &checker{name: "postgresql.conf", run: checkPostgres}
	cargoToml      = &checker{name: "Cargo.toml", run: checkCargoToml}
	cargoLock      = &checker{name: "Cargo.lock", run: checkCargoLock}
)

// rules is the registry, ordered by ID; filled in init from rules.yaml.
var rules []Rule

// ruleByID indexes the table; filled in init, since the checkers in the
// table look rules up (an initializer would be a cycle).
var ruleByID map[string]Rule

//go:embed rules.yaml
var rulesYAML []byte

// checkers are every checker a rule in rules.yaml may name.
var checkers = []*checker{goCode, goModFile, dockerFile, yamlDoc, tomlDoc, lineGodebug, lineJava, linePolicy,
	lineCompliance, lineNodeFlag, lineGroupsFlag, lineNode, lineNginx, lineHAProxy, lineStunnel, lineOpenSSL, lineCaddy,
	lineKafka, terraformFile, jsonTemplate, postgresConf, cargoToml, cargoLock, lineGCPPQ, cloudTerraform, cfnAPIGateway,
	linePulumiELB, lineOpenSSLSigalgs, lineNginxSigalgs, lineHAProxySigalgs, goModMLDSA, mavenFile, javaVersionFile,
	gradleBuild, pythonCode, mysqlConf, redisConf, rabbitConf, etcdFlags, javaGroupsCode, versionCatalog, mysqlFlag, vaultHCL}

func init() {
	var err error
	if rules, err = loadRules(rulesYAML); err != nil {
		// rules.yaml is embedded: a bad table is a build of this package
		// that no test passes (TestLoadRulesRefuses), never a user's input.
		panic("lint/rules.yaml (embedded rule table): " + err.Error() + ": fix the entry and rebuild")
	}
	ruleByID = map[string]Rule{}
	for _, r := range rules {
		ruleByID[r.ID] = r
	}
	buildDispatch()
}

// loadRules decodes the rule table: each rule's checks name a checker and
// file kinds (by their String names; "text" is textKinds). The rules come
// out ordered by ID.
func loadRules(data []byte) ([]Rule, error) {
	var doc struct {
		References []string // anchors the rules refer to
		Rules      []struct {
			ID, Name, Severity, Format, Checked  string
			Summary, Rationale, Bad, Good, Notes string
			UpgradeFix                           bool `yaml:"upgrade_fix"`
			References                           []string
			Checks                               []struct {
				Checker string
				Kinds   []string
			}
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	byName := map[string]*checker{}
	for _, c := range checkers {
		byName[c.name] = c
	}
	kindByName := map[string][]fileKind{"text": textKinds}
	for k, n := range kindNames {
		kindByName[n] = []fileKind{k}
	}
	out := make([]Rule, 0, len(doc.Rules))
	for _, d := range doc.Rules {
		sev, err := ParseSeverity(d.Severity)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", d.ID, err)
		}
		r := Rule{ID: d.ID, Name: d.Name, Severity: sev, Format: d.Format, Summary: d.Summary, Rationale: d.Rationale,
			Bad: d.Bad, Good: d.Good, References: d.References, Notes: d.Notes, UpgradeFix: d.UpgradeFix, Checked: d.Checked}
		for _, c := range d.Checks {
			rc := ruleCheck{by: byName[c.Checker]}
			if rc.by == nil {
				return nil, fmt.Errorf("%s: unknown checker %q", d.ID, c.Checker)
			}
			for _, k := range c.Kinds {
				ks, ok := kindByName[k]
				if !ok {
					return nil, fmt.Errorf("%s: unknown file kind %q", d.ID, k)
				}
				rc.kinds = append(rc.kinds, ks...)
			}
			r.checks = append(r.checks, rc)
		}
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Rules returns every rule, ordered by ID.
func Rules() []Rule {
	out := make([]Rule, len(rules))
	copy(out, rules)
	return out
}

// LookupRule finds a rule by ID or name, case-insensitively.
func LookupRule(s string) (Rule, bool) {
	s = strings.TrimSpace(s)
	for _, r := range rules {
		if strings.EqualFold(r.ID, s) || strings.EqualFold(r.Name, s) {
			return r, true
		}
	}
	return Rule{}, false
}

// Explain returns the long description of a rule: summary, rationale,
// examples and references.
func Explain(r Rule) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (%s, %s)\n\n%s.\n\n%s\n\n", r.ID, r.Name, r.Severity, r.Format, r.Summary, r.Rationale)
	fmt.Fprintf(&b, "Flagged:\n%s\n\nInstead:\n%s\n\n", indent(r.Bad), indent(r.Good))
	if r.Notes != "" {
		fmt.Fprintf(&b, "%s\n\n", r.Notes)
	}
	b.WriteString("Suppress one occurrence with a comment on the line or the line above:\n")
	fmt.Fprintf(&b, "    pqtls-lint:ignore %s <reason>\n\nReferences:\n", r.ID)
	for _, ref := range r.References {
		fmt.Fprintf(&b, "  - %s\n", ref)
	}
	fmt.Fprintf(&b, "(sources checked %s)\n", r.Checked)
	return b.String()
}

func indent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = "    " + l
	}
	return strings.Join(lines, "\n")
}

// ruleIDs returns the sorted list of rule IDs, for error messages.
func ruleIDs() []string {
	out := make([]string, 0, len(rules))
	for _, r := range rules {
		out = append(out, r.ID)
	}
	sort.Strings(out)
	return out
}

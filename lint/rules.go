package lint

import (
	"fmt"
	"sort"
	"strings"
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

// The reads of the infrastructure rules.
var elbKinds = []ruleCheck{{terraformFile, kinds(kindTerraform)}, {yamlDoc, kinds(kindYAML)}, {jsonTemplate, kinds(kindJSON)}}

const (
	refELB       = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html (ALB security policies: defaults, the 2025-09 PQ policies)"
	refNLB       = "https://docs.aws.amazon.com/elasticloadbalancing/latest/network/describe-ssl-policies.html (NLB security policies: defaults, the 2025-09 PQ policies)"
	refPG18      = "https://www.postgresql.org/docs/18/runtime-config-connection.html#GUC-SSL-GROUPS (ssl_groups)"
	refPGCommit  = "https://github.com/postgres/postgres/commit/3d1ef3a15c3eb68dae44b94e89d04c422b26fc16 (PostgreSQL 18: ssl_ecdh_curve renamed ssl_groups, a colon-separated list)"
	refRustls    = "https://docs.rs/crate/rustls-post-quantum/0.2.2 (ML-KEM moved into rustls core in 0.23.22; the prefer-post-quantum feature)"
	refRustlsFts = "https://docs.rs/crate/rustls/latest/features (default features: aws_lc_rs, prefer-post-quantum; the ring feature)"
)

const (
	refRFC8446   = "RFC 8446 section 4.2.7 (supported_groups) and 4.2.8 (key_share)"
	refHybrid    = "draft-ietf-tls-ecdhe-mlkem (X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024)"
	refFIPS203   = "FIPS 203, Module-Lattice-Based Key-Encapsulation Mechanism Standard"
	refGoTLS     = "https://go.dev/pkg/crypto/tls/#Config (CurvePreferences, MaxVersion)"
	refGodebug   = "https://go.dev/doc/godebug (tlsmlkem, tlssecpmlkem, go.mod godebug blocks, //go:debug)"
	refGo124     = "https://go.dev/doc/go1.24#cryptotlspkgcryptotls (X25519MLKEM768 on by default)"
	refOpenSSL35 = "https://openssl-library.org/news/openssl-3.5-notes/ (ML-KEM hybrids in the default groups)"
	refPlaybook  = "docs/PLAYBOOK.md#phase-1-inventory (inventory) and docs/PLAYBOOK.md#keep-classical-settings-from-coming-back-pqtls-lint-in-ci (phase 4, enforce)"
)

// rules is the registry, ordered by ID.
var rules = []Rule{
	{ID: "PQ000", Name: "parse-error", Severity: SeverityWarning, Format: "any",
		checks: []ruleCheck{{goCode, kinds(kindGo)}, {goModFile, kinds(kindGoMod)}, {yamlDoc, kinds(kindYAML)}, {tomlDoc, kinds(kindTOML)},
			{terraformFile, kinds(kindTerraform)}, {jsonTemplate, kinds(kindJSON)}, {cargoToml, kinds(kindCargo)}},
		Checked:    "2026-11-27",
		Summary:    "The file could not be read or parsed, so it was not checked",
		Rationale:  "A file pqtls lint cannot read or parse may hide any of the settings the other rules look for. The run goes on with the other files; fix the syntax or the permissions, split a file over 4 MiB (or exclude the file with --exclude) so that it is checked.",
		Bad:        "func main() {   // Go file cut in the middle",
		Good:       "a file that go vet / the service itself accepts",
		References: []string{refPlaybook}},
	{ID: "PQ101", Name: "go-curve-preferences-classical", Severity: SeverityError, Format: "Go",
		checks:     []ruleCheck{{goCode, kinds(kindGo)}},
		Checked:    "2026-11-27",
		Summary:    "tls.Config.CurvePreferences lists no hybrid post-quantum group",
		Rationale:  "When CurvePreferences is set, Go offers and accepts only the listed groups. A list written before Go 1.24 (for example X25519 and P-256) silently removes X25519MLKEM768 from every handshake, even though the default would include it. Either delete the field (the default is hybrid-first) or put a hybrid first.",
		Bad:        "cfg := &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256}}",
		Good:       "cfg := &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256}}",
		References: []string{refGoTLS, refGo124, refHybrid, refRFC8446}},
	{ID: "PQ102", Name: "go-max-version-below-tls13", Severity: SeverityError, Format: "Go",
		checks:     []ruleCheck{{goCode, kinds(kindGo)}},
		Checked:    "2026-11-27",
		Summary:    "tls.Config.MaxVersion is below TLS 1.3",
		Rationale:  "Hybrid ML-KEM key exchange exists only in TLS 1.3. A MaxVersion of TLS 1.2 or lower makes every connection classical, whatever the curve list says, and rules out ML-DSA certificates (Go 1.27), which TLS 1.3 alone can use.",
		Bad:        "cfg := &tls.Config{MaxVersion: tls.VersionTLS12}",
		Good:       "cfg := &tls.Config{MaxVersion: tls.VersionTLS13}   // or leave MaxVersion unset",
		References: []string{refGoTLS, refHybrid}},
	{ID: "PQ103", Name: "go-debug-directive-disables-mlkem", Severity: SeverityError, Format: "Go",
		checks:     []ruleCheck{{goCode, kinds(kindGo)}},
		Checked:    "2026-11-27",
		Summary:    "A //go:debug directive turns hybrid key exchange off",
		Rationale:  "//go:debug tlsmlkem=0 removes X25519MLKEM768 from the default curve preferences of the whole binary; tlssecpmlkem=0 removes SecP256r1MLKEM768 and SecP384r1MLKEM1024; default=go1.23 (or older) implies tlsmlkem=0. The directive is easy to miss because it sits above the package clause.",
		Bad:        "//go:debug tlsmlkem=0\npackage main",
		Good:       "//go:debug tlsmlkem=1\npackage main   // or no directive at all",
		References: []string{refGodebug, refGo124}},
	{ID: "PQ104", Name: "godebug-disables-mlkem", Severity: SeverityError, Format: "Go strings, Dockerfile, YAML, systemd, shell, env files",
		checks:     []ruleCheck{{goCode, kinds(kindGo)}, {lineGodebug, plus(textKinds, kindJS)}},
		Checked:    "2026-11-27",
		Summary:    "A GODEBUG setting turns hybrid key exchange off",
		Rationale:  "GODEBUG=tlsmlkem=0 (or tlssecpmlkem=0) in the environment of a Go program turns its hybrid key exchange off at run time, without any change to the code. It is typically left in a Dockerfile ENV, a Kubernetes env entry, a systemd Environment= line or an os.Setenv call after a compatibility incident.",
		Bad:        "ENV GODEBUG=tlsmlkem=0",
		Good:       "ENV GODEBUG=tlsmlkem=1   # or drop the setting",
		References: []string{refGodebug, refGo124}},
	{ID: "PQ105", Name: "go-mod-version-without-mlkem", Severity: SeverityError, Format: "go.mod",
		checks:     []ruleCheck{{goModFile, kinds(kindGoMod)}},
		UpgradeFix: true,
		Checked:    "2026-11-27",
		Summary:    "go.mod 'go' or 'toolchain' is older than Go 1.24",
		Rationale:  "crypto/tls gained X25519MLKEM768 in Go 1.24. A toolchain older than that cannot offer it, and a main module whose go line is older than 1.24 gets the old GODEBUG defaults (tlsmlkem=0) even when built with a newer toolchain. In a library module (no package main) the go line does not set GODEBUG defaults for its users, so the finding is lowered to info there.",
		Bad:        "go 1.22\ntoolchain go1.22.5",
		Good:       "go 1.24\ntoolchain go1.26.0",
		References: []string{refGo124, refGodebug}},
	{ID: "PQ106", Name: "go-mod-godebug-disables-mlkem", Severity: SeverityError, Format: "go.mod",
		checks:     []ruleCheck{{goModFile, kinds(kindGoMod)}},
		Checked:    "2026-11-27",
		Summary:    "A go.mod godebug line turns hybrid key exchange off",
		Rationale:  "A godebug line or block in the main module's go.mod sets GODEBUG defaults for every binary built from it. tlsmlkem=0, tlssecpmlkem=0 or default=go1.23 (or older) remove the hybrid groups.",
		Bad:        "godebug (\n\ttlsmlkem=0\n)",
		Good:       "godebug (\n\ttlsmlkem=1\n)   // or no godebug line",
		References: []string{refGodebug}},
	{ID: "PQ107", Name: "go-mod-version-without-secp-mlkem", Severity: SeverityInfo, Format: "go.mod",
		checks:     []ruleCheck{{goModFile, kinds(kindGoMod)}},
		UpgradeFix: true,
		Checked:    "2026-11-27",
		Summary:    "go.mod 'go' line is 1.24 or 1.25: the NIST-curve hybrids stay off",
		Rationale:  "Go 1.26 added SecP256r1MLKEM768 and SecP384r1MLKEM1024 to the defaults. A main module whose go line is 1.24 or 1.25 keeps tlssecpmlkem=0, so peers that only speak the NIST-curve hybrids (common with FIPS-minded stacks) fall back to classical. X25519MLKEM768 is still on.",
		Bad:        "go 1.24",
		Good:       "go 1.26",
		References: []string{refGodebug}},
	{ID: "PQ201", Name: "dockerfile-golang-old", Severity: SeverityError, Format: "Dockerfile",
		checks:     []ruleCheck{{dockerFile, kinds(kindDockerfile)}},
		UpgradeFix: true,
		Checked:    "2026-11-27",
		Summary:    "FROM golang:<1.24 builds with a toolchain without ML-KEM",
		Rationale:  "The Go toolchain in the build stage decides which key exchanges the binary can do. golang images older than 1.24 produce binaries that can never offer X25519MLKEM768.",
		Bad:        "FROM golang:1.22-bookworm AS build",
		Good:       "FROM golang:1.26-bookworm AS build",
		References: []string{refGo124}},
	{ID: "PQ202", Name: "dockerfile-base-openssl-old", Severity: SeverityWarning, Format: "Dockerfile",
		checks:     []ruleCheck{{dockerFile, kinds(kindDockerfile)}},
		UpgradeFix: true,
		Checked:    "2026-11-27",
		Summary:    "Base image ships OpenSSL older than 3.5",
		Rationale:  "OpenSSL added ML-KEM and the hybrid groups (and put X25519MLKEM768 first in its default list) in 3.5. Programs in the image that use the system OpenSSL (nginx, HAProxy, Python, Ruby, PHP, curl...) stay classical on an older base. The table of known images is in docs/LINT.md; unknown images are not reported.",
		Bad:        "FROM debian:bookworm-slim   # OpenSSL 3.0",
		Good:       "FROM debian:trixie-slim     # OpenSSL 3.5",
		References: []string{refOpenSSL35}},
	{ID: "PQ301", Name: "envoy-ecdh-curves-classical", Severity: SeverityError, Format: "Envoy YAML",
		checks:     []ruleCheck{{yamlDoc, kinds(kindYAML)}},
		Checked:    "2026-11-27",
		Summary:    "Envoy tls_params.ecdh_curves lists no hybrid group",
		Rationale:  "ecdh_curves replaces Envoy's default group list. Without X25519MLKEM768 the listener or cluster negotiates classical ECDHE only.",
		Bad:        "ecdh_curves: [X25519, P-256]",
		Good:       "ecdh_curves: [X25519MLKEM768, X25519, P-256]",
		References: []string{"https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/transport_sockets/tls/v3/common.proto (TlsParameters)", refHybrid}},
	{ID: "PQ302", Name: "envoy-max-version-below-tls13", Severity: SeverityError, Format: "Envoy YAML",
		checks:     []ruleCheck{{yamlDoc, kinds(kindYAML)}},
		Checked:    "2026-11-27",
		Summary:    "Envoy tls_maximum_protocol_version is below TLSv1_3",
		Rationale:  "Hybrid key exchange needs TLS 1.3, and so does post-quantum authentication: ML-DSA signature schemes exist only in TLS 1.3 (see PQ461-PQ463).",
		Bad:        "tls_maximum_protocol_version: TLSv1_2",
		Good:       "tls_maximum_protocol_version: TLSv1_3",
		References: []string{"https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/transport_sockets/tls/v3/common.proto (TlsParameters)"}},
	{ID: "PQ311", Name: "nginx-ecdh-curve-classical", Severity: SeverityError, Format: "nginx; ingress-nginx ConfigMap (ssl-ecdh-curve) in YAML and Terraform",
		checks:     []ruleCheck{{lineNginx, kinds(kindNginx)}, {yamlDoc, kinds(kindYAML)}, {cloudTerraform, kinds(kindTerraform)}},
		Checked:    "2026-11-27",
		Summary:    "nginx ssl_ecdh_curve lists no hybrid group",
		Rationale:  "ssl_ecdh_curve replaces OpenSSL's default group list (which is hybrid-first from OpenSSL 3.5). Use 'auto' or put X25519MLKEM768 first.",
		Bad:        "ssl_ecdh_curve X25519:prime256v1;",
		Good:       "ssl_ecdh_curve X25519MLKEM768:X25519:prime256v1;",
		References: []string{"https://nginx.org/en/docs/http/ngx_http_ssl_module.html#ssl_ecdh_curve", refOpenSSL35}},
	{ID: "PQ312", Name: "nginx-protocols-without-tls13", Severity: SeverityError, Format: "nginx; ingress-nginx ConfigMap (ssl-protocols) in YAML and Terraform",
		checks:     []ruleCheck{{lineNginx, kinds(kindNginx)}, {yamlDoc, kinds(kindYAML)}, {cloudTerraform, kinds(kindTerraform)}},
		Checked:    "2026-11-27",
		Summary:    "nginx ssl_protocols does not include TLSv1.3",
		Rationale:  "Hybrid key exchange needs TLS 1.3, and so does post-quantum authentication: ML-DSA signature schemes exist only in TLS 1.3 (see PQ461-PQ463).",
		Bad:        "ssl_protocols TLSv1.2;",
		Good:       "ssl_protocols TLSv1.2 TLSv1.3;",
		References: []string{"https://nginx.org/en/docs/http/ngx_http_ssl_module.html#ssl_protocols"}},
	{ID: "PQ321", Name: "haproxy-curves-classical", Severity: SeverityError, Format: "HAProxy",
		checks:     []ruleCheck{{lineHAProxy, kinds(kindHAProxy)}},
		Checked:    "2026-11-27",
		Summary:    "HAProxy curves / ssl-default-*-curves lists no hybrid group",
		Rationale:  "The curves list replaces the OpenSSL default group list for the bind or server line.",
		Bad:        "ssl-default-bind-curves X25519:P-256",
		Good:       "ssl-default-bind-curves X25519MLKEM768:X25519:P-256",
		References: []string{"https://docs.haproxy.org/3.0/configuration.html#3.1-ssl-default-bind-curves", refOpenSSL35}},
	{ID: "PQ322", Name: "haproxy-max-version-below-tls13", Severity: SeverityError, Format: "HAProxy",
		checks:     []ruleCheck{{lineHAProxy, kinds(kindHAProxy)}},
		Checked:    "2026-11-27",
		Summary:    "HAProxy ssl-max-ver is below TLSv1.3",
		Rationale:  "Hybrid key exchange needs TLS 1.3, and so does post-quantum authentication: ML-DSA signature schemes exist only in TLS 1.3 (see PQ461-PQ463).",
		Bad:        "bind :443 ssl crt /etc/haproxy/site.pem ssl-max-ver TLSv1.2",
		Good:       "bind :443 ssl crt /etc/haproxy/site.pem ssl-max-ver TLSv1.3",
		References: []string{"https://docs.haproxy.org/3.0/configuration.html#5.1-ssl-max-ver"}},
	{ID: "PQ331", Name: "stunnel-curves-classical", Severity: SeverityError, Format: "stunnel",
		checks:     []ruleCheck{{lineStunnel, kinds(kindStunnel)}},
		Checked:    "2026-11-27",
		Summary:    "stunnel curves lists no hybrid group",
		Rationale:  "stunnel's curves option replaces the OpenSSL default group list of the service.",
		Bad:        "curves = prime256v1:secp384r1",
		Good:       "curves = X25519MLKEM768:prime256v1:secp384r1",
		References: []string{"https://www.stunnel.org/static/stunnel.html (curves)", refOpenSSL35}},
	{ID: "PQ332", Name: "stunnel-max-version-below-tls13", Severity: SeverityError, Format: "stunnel",
		checks:     []ruleCheck{{lineStunnel, kinds(kindStunnel)}},
		Checked:    "2026-11-27",
		Summary:    "stunnel sslVersionMax is below TLSv1.3",
		Rationale:  "Hybrid key exchange needs TLS 1.3, and so does post-quantum authentication: ML-DSA signature schemes exist only in TLS 1.3 (see PQ461-PQ463).",
		Bad:        "sslVersionMax = TLSv1.2",
		Good:       "sslVersionMax = TLSv1.3",
		References: []string{"https://www.stunnel.org/static/stunnel.html (sslVersionMax)"}},
	{ID: "PQ341", Name: "caddy-curves-classical", Severity: SeverityError, Format: "Caddyfile",
		checks:     []ruleCheck{{lineCaddy, kinds(kindCaddy)}},
		Checked:    "2026-11-27",
		Summary:    "Caddyfile tls curves lists no hybrid group",
		Rationale:  "The curves subdirective replaces Caddy's default (hybrid-first) list.",
		Bad:        "tls {\n\tcurves x25519 secp256r1\n}",
		Good:       "tls {\n\tcurves x25519mlkem768 x25519 secp256r1\n}",
		References: []string{"https://caddyserver.com/docs/caddyfile/directives/tls (curves)"}},
	{ID: "PQ351", Name: "traefik-curve-preferences-classical", Severity: SeverityError, Format: "Traefik YAML/TOML",
		checks:     []ruleCheck{{yamlDoc, kinds(kindYAML)}, {tomlDoc, kinds(kindTOML)}},
		Checked:    "2026-11-27",
		Summary:    "Traefik TLS option curvePreferences lists no hybrid group",
		Rationale:  "curvePreferences is passed to Go's tls.Config.CurvePreferences, which replaces the hybrid-first default.",
		Bad:        "curvePreferences: [CurveP521, CurveP384]",
		Good:       "curvePreferences: [X25519MLKEM768, CurveP521, CurveP384]",
		References: []string{"https://doc.traefik.io/traefik/https/tls/#curve-preferences", refGoTLS}},
	{ID: "PQ352", Name: "traefik-max-version-below-tls13", Severity: SeverityError, Format: "Traefik YAML/TOML",
		checks:     []ruleCheck{{yamlDoc, kinds(kindYAML)}, {tomlDoc, kinds(kindTOML)}},
		Checked:    "2026-11-27",
		Summary:    "Traefik TLS option maxVersion is below VersionTLS13",
		Rationale:  "Hybrid key exchange needs TLS 1.3, and so does post-quantum authentication: ML-DSA signature schemes exist only in TLS 1.3 (see PQ461-PQ463).",
		Bad:        "maxVersion: VersionTLS12",
		Good:       "maxVersion: VersionTLS13",
		References: []string{"https://doc.traefik.io/traefik/https/tls/#maximum-tls-version"}},
	{ID: "PQ361", Name: "istio-ecdh-curves-classical", Severity: SeverityError, Format: "Istio YAML",
		checks:     []ruleCheck{{yamlDoc, kinds(kindYAML)}},
		Checked:    "2026-11-27",
		Summary:    "Istio ecdhCurves lists no hybrid group",
		Rationale:  "meshConfig ecdhCurves (meshMTLS or tlsDefaults) replaces the proxies' default group list for the whole mesh.",
		Bad:        "ecdhCurves: [P-256, P-384]",
		Good:       "ecdhCurves: [X25519MLKEM768, P-256, P-384]",
		References: []string{"https://istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/ (TLSConfig.ecdhCurves)"}},
	{ID: "PQ362", Name: "istio-compliance-policy-classical", Severity: SeverityError, Format: "Istio YAML",
		checks:     []ruleCheck{{lineCompliance, textKinds}},
		Checked:    "2026-11-27",
		Summary:    "Istio COMPLIANCE_POLICY=fips-140-2 pins the mesh to TLS 1.2 and classical curves",
		Rationale:  "The fips-140-2 compliance policy restricts istiod and the proxies to TLS 1.2 and NIST ECDHE curves, so no hybrid group can ever be negotiated. Use a policy that allows TLS 1.3 hybrids (recent Istio releases offer a 'pqc' policy) or drop the variable.",
		Bad:        "- name: COMPLIANCE_POLICY\n  value: fips-140-2",
		Good:       "- name: COMPLIANCE_POLICY\n  value: pqc",
		References: []string{"https://istio.io/latest/docs/reference/commands/pilot-discovery/ (COMPLIANCE_POLICY)"}},
	{ID: "PQ401", Name: "node-ecdh-curve-classical", Severity: SeverityError, Format: "JavaScript/TypeScript",
		checks:     []ruleCheck{{lineNode, kinds(kindJS)}},
		Checked:    "2026-11-27",
		Summary:    "Node.js ecdhCurve lists no hybrid group",
		Rationale:  "ecdhCurve (in tls.createServer, tls.connect, https.Agent options, or tls.DEFAULT_ECDH_CURVE) replaces OpenSSL's default group list. Node.js built with OpenSSL 3.5 or later offers X25519MLKEM768 by default; a hard-coded list removes it.",
		Bad:        "tls.createServer({ ecdhCurve: 'P-256:P-384' })",
		Good:       "tls.createServer({ ecdhCurve: 'X25519MLKEM768:P-256:P-384' })",
		References: []string{"https://nodejs.org/api/tls.html#tlscreatesecurecontextoptions (ecdhCurve)", refOpenSSL35}},
	{ID: "PQ402", Name: "node-max-version-below-tls13", Severity: SeverityError, Format: "JavaScript/TypeScript; --tls-max-v1.2 in any command line or NODE_OPTIONS",
		checks:     []ruleCheck{{lineNode, kinds(kindJS)}, {lineNodeFlag, plus(textKinds, kindJS)}},
		Checked:    "2026-11-27",
		Summary:    "Node.js maxVersion (or tls.DEFAULT_MAX_VERSION, or the --tls-max-v1.2 option) is below TLSv1.3",
		Rationale:  "Hybrid key exchange needs TLS 1.3. A maxVersion option caps one context; tls.DEFAULT_MAX_VERSION and node's --tls-max-v1.2 option (often set in NODE_OPTIONS) cap every connection of the process.",
		Bad:        "tls.connect({ maxVersion: 'TLSv1.2' })\nNODE_OPTIONS=--tls-max-v1.2",
		Good:       "tls.connect({ maxVersion: 'TLSv1.3' })\nNODE_OPTIONS=--tls-max-v1.3",
		References: []string{"https://nodejs.org/api/tls.html#tlscreatesecurecontextoptions (maxVersion)", "https://nodejs.org/api/tls.html#tlsdefault_max_version", "https://nodejs.org/api/cli.html#--tls-max-v12"}},
	{ID: "PQ411", Name: "java-named-groups-classical", Severity: SeverityError, Format: "Java properties / command lines",
		checks:     []ruleCheck{{lineJava, plus(textKinds, kindJava)}},
		Checked:    "2026-11-27",
		Summary:    "jdk.tls.namedGroups lists no hybrid group",
		Rationale:  "The jdk.tls.namedGroups system property replaces the JSSE default group list. On a JDK that implements hybrid ML-KEM key exchange for TLS 1.3 (JEP 527), a hard-coded classical list keeps every connection classical.",
		Bad:        "-Djdk.tls.namedGroups=secp256r1,x25519",
		Good:       "-Djdk.tls.namedGroups=X25519MLKEM768,secp256r1,x25519",
		References: []string{"https://openjdk.org/jeps/527", "https://docs.oracle.com/en/java/javase/21/security/java-secure-socket-extension-jsse-reference-guide.html (jdk.tls.namedGroups)"}},
	{ID: "PQ421", Name: "openssl-groups-classical", Severity: SeverityError, Format: "OpenSSL config",
		checks:     []ruleCheck{{lineOpenSSL, kinds(kindOpenSSL)}},
		Checked:    "2026-11-27",
		Summary:    "OpenSSL config Groups / Curves lists no hybrid group",
		Rationale:  "A Groups (or Curves) line in openssl.cnf's system_default section replaces the default group list for every program on the host that loads the config. OpenSSL 3.5's default is hybrid-first.",
		Bad:        "Groups = X25519:P-256",
		Good:       "Groups = X25519MLKEM768:X25519:P-256",
		References: []string{"https://docs.openssl.org/3.5/man3/SSL_CONF_cmd/ (Groups)", refOpenSSL35}},
	{ID: "PQ422", Name: "openssl-max-protocol-below-tls13", Severity: SeverityError, Format: "OpenSSL config",
		checks:     []ruleCheck{{lineOpenSSL, kinds(kindOpenSSL)}},
		Checked:    "2026-11-27",
		Summary:    "OpenSSL config MaxProtocol is below TLSv1.3",
		Rationale:  "Hybrid key exchange needs TLS 1.3, and so does post-quantum authentication: ML-DSA signature schemes exist only in TLS 1.3 (see PQ461-PQ463).",
		Bad:        "MaxProtocol = TLSv1.2",
		Good:       "MaxProtocol = TLSv1.3",
		References: []string{"https://docs.openssl.org/3.5/man3/SSL_CONF_cmd/ (MaxProtocol)"}},
	{ID: "PQ501", Name: "pqtls-policy-classical", Severity: SeverityWarning, Format: "pqtls configs, command lines, Go code using the pqtls library",
		checks:     []ruleCheck{{goCode, kinds(kindGo)}, {linePolicy, textKinds}},
		Checked:    "2026-12-02",
		Summary:    "pqtls policy is 'classical'",
		Rationale:  "The classical policy is the rollback switch: it offers and accepts only classical groups. It is meant to be temporary while a broken path is investigated; left in place it keeps the service classical. Use prefer (default) or require.",
		Bad:        "policy: classical\npqtls tunnel server --policy classical --listen :5433 --target 127.0.0.1:5432 --cert srv.pem --key srv.key\np := pqtls.Policy{Mode: pqtls.ModeClassical}",
		Good:       "policy: prefer\npqtls tunnel server --policy prefer --listen :5433 --target 127.0.0.1:5432 --cert srv.pem --key srv.key\np := pqtls.Policy{Mode: pqtls.ModePrefer}",
		References: []string{"docs/PLAYBOOK.md#phase-2-go-services-and-grpc (step 6, the rollback switch)", "docs/LIBRARY.md#policy (policy modes)", refPlaybook}},
	{ID: "PQ502", Name: "pqtls-groups-classical", Severity: SeverityError, Format: "pqtls tunnel configs (groups) and command lines (pqtls tunnel --groups), Go code (pqtls.Policy.Groups)",
		checks:     []ruleCheck{{goCode, kinds(kindGo)}, {yamlDoc, kinds(kindYAML)}, {lineGroupsFlag, textKinds}},
		Checked:    "2026-12-02",
		Summary:    "pqtls groups override lists no hybrid group",
		Rationale:  "A pqtls policy's groups replace its hybrid-first default list. With only classical groups, even the prefer and require policies cannot negotiate hybrid key exchange (require then refuses every peer). Leave groups unset, or put X25519MLKEM768 first.",
		Bad:        "groups: X25519,secp256r1\npqtls tunnel server --groups X25519 ...\npqtls.Policy{Groups: []tls.CurveID{tls.X25519}}",
		Good:       "groups: X25519MLKEM768,X25519,secp256r1\npqtls tunnel server --groups X25519MLKEM768,X25519 ...\npqtls.Policy{Groups: []tls.CurveID{tls.X25519MLKEM768, tls.X25519}}",
		Notes:      "A YAML `groups` key is only read when every entry is a TLS group name, so RBAC, LDAP or Prometheus rule `groups` are never reported. `--groups` is only read on a line that runs `tunnel`: `pqtls bench --groups x25519` measures the classical cost on purpose.",
		References: []string{"docs/TUNNEL.md#flags-of-both-modes (--groups)", "docs/TUNNEL.md#config-file (listeners[].groups)", "docs/LIBRARY.md#policy (Policy.Groups)", refPlaybook}},
	{ID: "PQ601", Name: "aws-elb-listener-default-policy", Severity: SeverityError, Format: "Terraform (aws_lb_listener, aws_alb_listener), CloudFormation YAML/JSON (AWS::ElasticLoadBalancingV2::Listener), Pulumi YAML (aws:lb:Listener)",
		checks:     elbKinds,
		Checked:    "2026-12-02",
		Summary:    "An HTTPS or TLS load balancer listener sets no security policy",
		Rationale:  "Without ssl_policy (SslPolicy, sslPolicy), a listener created through the API, the CLI, CloudFormation, the CDK or Terraform gets ELBSecurityPolicy-2016-08: classical key exchange only, and TLS 1.0/1.1 still allowed. Only the console defaults to a PQ policy. The finding is at the resource's first line; the fix adds the hybrid ELBSecurityPolicy-TLS13-1-2-PQ-2025-09, which drops TLS 1.0/1.1.",
		Bad:        "resource \"aws_lb_listener\" \"front\" {\n  protocol = \"HTTPS\"\n}",
		Good:       "resource \"aws_lb_listener\" \"front\" {\n  protocol   = \"HTTPS\"\n  ssl_policy = \"ELBSecurityPolicy-TLS13-1-2-PQ-2025-09\"\n}",
		Notes:      "Judged on listener resources with a literal protocol: a protocol that comes from a variable, a parameter (!Ref) or a function is not judged, and a listener whose policy comes from one is not reported as missing. HTTP, TCP and UDP listeners have no TLS policy and are not reported.",
		References: []string{refELB, refNLB}},
	{ID: "PQ602", Name: "aws-elb-ssl-policy-classical", Severity: SeverityError, Format: "Terraform (aws_lb_listener, aws_alb_listener), CloudFormation YAML/JSON (AWS::ElasticLoadBalancingV2::Listener), Pulumi YAML (aws:lb:Listener), Pulumi TypeScript/JavaScript and Go programs (a literal sslPolicy)",
		checks:     append([]ruleCheck{{linePulumiELB, kinds(kindJS, kindGo)}}, elbKinds...),
		Checked:    "2026-12-02",
		Summary:    "A load balancer listener's security policy has no -PQ- in its name",
		Rationale:  "Only the 2025-09 policies with -PQ- in their name (ELBSecurityPolicy-TLS13-1-2-PQ-2025-09, -TLS13-1-2-Res-PQ-2025-09, -TLS13-1-2-Ext1-PQ-2025-09, -TLS13-1-2-Ext2-PQ-2025-09, -TLS13-1-3-PQ-2025-09 and their -FIPS- variants) offer X25519MLKEM768, SecP256r1MLKEM768 and SecP384r1MLKEM1024. Any other policy keeps every connection to the load balancer classical. The fix picks the matching PQ policy: TLS 1.3-only stays TLS 1.3-only, otherwise TLS 1.2 is kept; FIPS stays FIPS; the Res/Ext0/Ext1/Ext2 cipher variant is kept; the message says when TLS 1.0/1.1 clients lose access.",
		Bad:        "ssl_policy = \"ELBSecurityPolicy-TLS13-1-2-2021-06\"\nSslPolicy: ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
		Good:       "ssl_policy = \"ELBSecurityPolicy-TLS13-1-2-PQ-2025-09\"\nSslPolicy: ELBSecurityPolicy-TLS13-1-2-FIPS-PQ-2025-09",
		Notes:      "In Terraform a policy is also read where it reaches a listener indirectly: any ssl_policy or default_ssl_policy attribute or object key (module inputs such as listeners = { https = { ssl_policy = ... } }, locals), literal ELBSecurityPolicy names inside a conditional or a function call there (coalesce(each.value.ssl_policy, \"...\")), and the default of a variable whose name contains ssl_policy. Classic Load Balancer policies (aws_load_balancer_policy) have no PQ variant and are not read.",
		References: []string{refELB, refNLB}},
	{ID: "PQ701", Name: "postgres-ecdh-curve-classical", Severity: SeverityError, Format: "postgresql.conf",
		checks:     []ruleCheck{{postgresConf, kinds(kindPostgres)}},
		Checked:    "2026-12-02",
		Summary:    "PostgreSQL ssl_ecdh_curve keeps the server classical",
		Rationale:  "PostgreSQL 15-17 pass ssl_ecdh_curve to OpenSSL as one EC curve, so they cannot negotiate X25519 or any hybrid group at all: every hybrid client pays a HelloRetryRequest and ends on P-256. PostgreSQL 18 renamed the setting ssl_groups and takes a colon-separated OpenSSL group list. The fix writes ssl_groups = 'X25519MLKEM768:X25519:prime256v1' only where the file shows PostgreSQL 18 or later (a version in its path such as /etc/postgresql/18/main, or an ssl_groups line already present); for 15-17 the finding says to upgrade or to put pqtls tunnel in front, and nothing is changed, since ssl_groups would stop those versions from starting.",
		Bad:        "ssl_ecdh_curve = 'prime256v1'",
		Good:       "ssl_groups = 'X25519MLKEM768:X25519:prime256v1'   # PostgreSQL 18+, OpenSSL 3.5+",
		Notes:      "The hybrid groups also need PostgreSQL built against OpenSSL 3.5 or later; an OpenSSL that does not know X25519MLKEM768 refuses the list.",
		References: []string{refPG18, refPGCommit}},
	{ID: "PQ702", Name: "postgres-groups-classical", Severity: SeverityError, Format: "postgresql.conf",
		checks:     []ruleCheck{{postgresConf, kinds(kindPostgres)}},
		Checked:    "2026-12-02",
		Summary:    "PostgreSQL ssl_groups lists no hybrid group",
		Rationale:  "ssl_groups (PostgreSQL 18) replaces OpenSSL's default group list for the server. Without X25519MLKEM768 every connection is classical.",
		Bad:        "ssl_groups = 'X25519:prime256v1'",
		Good:       "ssl_groups = 'X25519MLKEM768:X25519:prime256v1'",
		References: []string{refPG18, refOpenSSL35}},
	{ID: "PQ711", Name: "kafka-protocols-without-tls13", Severity: SeverityError, Format: "Kafka properties (server.properties, client properties)",
		checks:     []ruleCheck{{lineKafka, kinds(kindProperties)}},
		Checked:    "2026-12-02",
		Summary:    "Kafka ssl.enabled.protocols or ssl.protocol has no TLSv1.3",
		Rationale:  "Hybrid key exchange exists only in TLS 1.3. Kafka enables TLSv1.2 and TLSv1.3 by default on Java 11+ (KIP-573); a broker or client configuration that lists only TLSv1.2 keeps every connection classical, whatever the JDK supports.",
		Bad:        "ssl.enabled.protocols=TLSv1.2\nssl.protocol=TLSv1.2",
		Good:       "ssl.enabled.protocols=TLSv1.2,TLSv1.3\nssl.protocol=TLSv1.3",
		References: []string{"https://kafka.apache.org/documentation/#brokerconfigs_ssl.enabled.protocols", "https://github.com/apache/kafka/pull/8695 (KIP-573: TLSv1.3 enabled by default on Java 11+)", "https://openjdk.org/jeps/527"}},
	{ID: "PQ801", Name: "rustls-without-mlkem", Severity: SeverityError, Format: "Cargo.toml, Cargo.lock",
		checks:     []ruleCheck{{cargoToml, kinds(kindCargo)}, {cargoLock, kinds(kindCargoLock)}},
		UpgradeFix: true,
		Checked:    "2026-12-02",
		Summary:    "rustls is older than 0.23.22, the release with ML-KEM in its core",
		Rationale:  "rustls 0.23.22 moved X25519MLKEM768 from the rustls-post-quantum crate into rustls itself (aws-lc-rs provider). A requirement that caps rustls below that (0.21, 0.22, =0.23.5) or a lock file that resolved an older 0.23.x builds a classical-only TLS stack. The Cargo.toml fix is an upgrade (reported, never applied by --fix); a lock file is fixed with cargo update -p rustls.",
		Bad:        "rustls = \"0.21\"",
		Good:       "rustls = \"0.23.22\"",
		References: []string{refRustls, refRustlsFts}},
	{ID: "PQ802", Name: "rustls-ring-provider", Severity: SeverityError, Format: "Cargo.toml, Cargo.lock",
		checks:     []ruleCheck{{cargoToml, kinds(kindCargo)}, {cargoLock, kinds(kindCargoLock)}},
		UpgradeFix: true,
		Checked:    "2026-12-02",
		Summary:    "rustls uses the ring provider, which has no ML-KEM",
		Rationale:  "rustls's ML-KEM key exchange is implemented in the aws-lc-rs provider. With default-features = false and only the ring feature (or, in Cargo.lock, ring without aws-lc-rs), no hybrid group exists. Moving to aws-lc-rs changes the build (it needs a C toolchain), so the fix is reported, never applied by --fix.",
		Bad:        "rustls = { version = \"0.23\", default-features = false, features = [\"ring\", \"std\"] }",
		Good:       "rustls = { version = \"0.23\", default-features = false, features = [\"aws_lc_rs\", \"prefer-post-quantum\", \"std\"] }",
		References: []string{refRustlsFts, refRustls}},
	{ID: "PQ803", Name: "rustls-prefer-post-quantum-disabled", Severity: SeverityWarning, Format: "Cargo.toml",
		checks:     []ruleCheck{{cargoToml, kinds(kindCargo)}},
		Checked:    "2026-12-02",
		Summary:    "rustls without default features leaves prefer-post-quantum off",
		Rationale:  "prefer-post-quantum is a default feature of rustls; with default-features = false and a features list without it, X25519MLKEM768 is supported but not preferred: a rustls client sends a classical key share first, and a rustls server picks the classical group when a client offers both.",
		Bad:        "rustls = { version = \"0.23.22\", default-features = false, features = [\"aws_lc_rs\", \"std\"] }",
		Good:       "rustls = { version = \"0.23.22\", default-features = false, features = [\"prefer-post-quantum\", \"aws_lc_rs\", \"std\"] }",
		References: []string{refRustlsFts, refRustls}},
	{ID: "PQ804", Name: "rust-native-tls", Severity: SeverityWarning, Format: "Cargo.toml, Cargo.lock",
		checks:     []ruleCheck{{cargoToml, kinds(kindCargo)}, {cargoLock, kinds(kindCargoLock)}},
		Checked:    "2026-12-02",
		Summary:    "native-tls (or openssl) uses the system OpenSSL: hybrid only with OpenSSL 3.5+",
		Rationale:  "native-tls, tokio-native-tls, hyper-tls, the openssl crate and reqwest's native-tls feature use the system OpenSSL on Linux, so the runtime image decides: OpenSSL 3.5 or later offers X25519MLKEM768 by default, older releases cannot. The message names the OpenSSL of the Dockerfile next to the manifest when it is in PQ202's table. No mechanical fix: upgrade the base image or move to rustls 0.23.22+ with aws-lc-rs.",
		Bad:        "native-tls = \"0.2\"   # FROM debian:bookworm-slim (OpenSSL 3.0)",
		Good:       "native-tls = \"0.2\"   # FROM debian:trixie-slim (OpenSSL 3.5)",
		References: []string{"https://docs.rs/native-tls (uses OpenSSL on Linux)", refOpenSSL35}},
}

// ruleByID indexes the table; filled in init, since the checkers in the
// table look rules up (an initializer would be a cycle).
var ruleByID map[string]Rule

func init() {
	rules = joinRules(rules, cloudRules, mldsaRules)
	ruleByID = map[string]Rule{}
	for _, r := range rules {
		ruleByID[r.ID] = r
	}
	buildDispatch()
}

// joinRules appends the rule tables kept in their own files to the main
// table and orders the result by ID.
func joinRules(tables ...[]Rule) []Rule {
	var out []Rule
	for _, t := range tables {
		out = append(out, t...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
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

package exporter

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/certload"
	"github.com/pqtls/pqtls/internal/starttls"
)

// Defaults of a module.
const (
	// DefaultTimeout bounds one probe when the module sets no timeout.
	DefaultTimeout = 10 * time.Second
	// DefaultModule is the module used when /probe has no module parameter.
	DefaultModule = "default"
	// DefaultMaxConcurrentProbes bounds the probes running at once when the
	// configuration sets no max_concurrent_probes.
	DefaultMaxConcurrentProbes = 256
)

// Config is the exporter configuration file: who may be probed, how many
// probes run at once, and a set of named modules.
type Config struct {
	// AllowedTargets lists the targets /probe may connect to: CIDRs
	// (10.0.0.0/8, 2001:db8::/32, a single address) constrain the addresses,
	// host globs (*.internal.example) constrain the names. A name is resolved
	// once; every address it resolves to must be allowed and the probe
	// connects only to those addresses. Absent: every target is allowed.
	AllowedTargets []string `yaml:"allowed_targets"`
	// MaxConcurrentProbes bounds the probes running at once; /probe answers
	// HTTP 503 above it. Default DefaultMaxConcurrentProbes.
	MaxConcurrentProbes int `yaml:"max_concurrent_probes"`
	// Modules maps a module name (the module= parameter of /probe) to its
	// settings.
	Modules map[string]*Module `yaml:"modules"`

	allow *targetList
}

// Restricted reports whether every module limits its targets (top-level
// or module allowed_targets). It returns the modules that do not.
func (c *Config) Restricted() (bool, []string) {
	var open []string
	for name, m := range c.Modules {
		if c.allow == nil && m.allow == nil {
			open = append(open, name)
		}
	}
	sort.Strings(open)
	return len(open) == 0, open
}

// lists returns the allow-lists a target of module m must pass.
func (c *Config) lists(name string, m *Module) []namedList {
	var out []namedList
	if c.allow != nil {
		out = append(out, namedList{"allowed_targets", c.allow})
	}
	if m.allow != nil {
		out = append(out, namedList{fmt.Sprintf("module %q allowed_targets", name), m.allow})
	}
	return out
}

// Module is how one probe is made. The zero value is a default modern
// client: Go crypto/tls defaults, system roots, TLS 1.2-1.3, no enumeration.
type Module struct {
	// Timeout bounds the probe (connect, STARTTLS, handshake, enumeration).
	// The Prometheus scrape timeout bounds it too. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// StartTLS is the plain-text protocol spoken before the handshake:
	// "" (none), smtp, imap, pop3, ftp, postgres, mysql, ldap, xmpp...
	StartTLS string `yaml:"starttls"`
	// ServerName is the SNI and the name verified in the certificate. Default:
	// the host part of the target.
	ServerName string `yaml:"server_name"`
	// CAFile is a PEM bundle of roots used instead of the system roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a client certificate for servers that require
	// one (mTLS).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// InsecureSkipVerify turns certificate verification off: the probe still
	// reports the group and the expiry of the presented chain.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// Policy is the pqtls policy of the probing client: "" (a default Go
	// client: whatever crypto/tls offers by default), prefer, require or
	// classical.
	Policy string `yaml:"policy"`
	// Groups overrides the groups the probing client offers (names as in
	// 'pqtls groups'). Needs a policy.
	Groups []string `yaml:"groups"`
	// MinVersion is the lowest TLS version offered: "1.2" or "1.3". Default
	// 1.2 for the default client, the policy's minimum otherwise.
	MinVersion string `yaml:"min_version"`
	// Enumerate turns group enumeration on: one crafted ClientHello per
	// registered group, reported as probe_tls_group_supported, plus the large
	// ClientHello canary case (probe_tls_large_client_hello_ok).
	Enumerate bool `yaml:"enumerate"`
	// EnumerateGroups restricts enumeration to these groups. Default: every
	// group of the registry.
	EnumerateGroups []string `yaml:"enumerate_groups"`
	// AllowedTargets narrows the top-level allowed_targets for this module
	// (same syntax): a target must pass both. A module with a client
	// certificate needs one of the two, so the certificate is presented only
	// to the targets listed.
	AllowedTargets []string `yaml:"allowed_targets"`

	// Derived at load time.
	proto     starttls.Protocol
	allow     *targetList
	policy    *pqtls.Policy
	roots     *x509.CertPool
	cert      *tls.Certificate
	enumGroup []tls.CurveID
}

var unknownField = regexp.MustCompile(`field (\S+) not found in type exporter\.\w+`)

// ConfigError is a configuration problem, with the line it is on when known.
type ConfigError struct {
	// File is the configuration file, empty for in-memory data.
	File string
	// Line is the 1-based line, 0 when unknown.
	Line int
	// Msg says what is wrong and what to do.
	Msg string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
	} else {
		b.WriteString("config")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// LoadConfig reads and validates a configuration file.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read exporter config: %w", err)
	}
	return ParseConfig(data, path)
}

// ParseConfig parses and validates a configuration. Unknown keys are errors.
// file names the source in error messages and is the base for relative
// ca_file, cert_file and key_file paths.
func ParseConfig(data []byte, file string) (*Config, error) {
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	lines := configLines(&root)
	if key, l, ok := bareDuration(&root); ok {
		return nil, &ConfigError{File: file, Line: l, Msg: key}
	}
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &ConfigError{File: file, Msg: "empty configuration: define at least one module under 'modules:'"}
		}
		return nil, decodeError(file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &ConfigError{File: file, Msg: "more than one YAML document: keep a single document"}
	}
	if len(cfg.Modules) == 0 {
		return nil, &ConfigError{File: file, Msg: "no modules: define at least one under 'modules:' (see docs/EXPORTER.md)"}
	}
	allow, err := parseTargetList(cfg.AllowedTargets)
	if err != nil {
		return nil, &ConfigError{File: file, Line: lines[".allowed_targets"], Msg: err.Error()}
	}
	cfg.allow = allow
	switch {
	case cfg.MaxConcurrentProbes < 0:
		return nil, &ConfigError{File: file, Line: lines[".max_concurrent_probes"], Msg: "max_concurrent_probes must be positive (default 256)"}
	case cfg.MaxConcurrentProbes == 0:
		cfg.MaxConcurrentProbes = DefaultMaxConcurrentProbes
	}
	names := make([]string, 0, len(cfg.Modules))
	for name := range cfg.Modules {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m := cfg.Modules[name]
		if m == nil {
			m = &Module{}
			cfg.Modules[name] = m
		}
		err := m.prepare(file)
		if err == nil && m.cert != nil && cfg.allow == nil && m.allow == nil {
			err = &fieldError{"cert_file", "a client certificate needs allowed_targets (in this module or at the top level): it is presented only to the targets listed"}
		}
		if err != nil {
			l := lines[name]
			if k, ok := lines[name+"."+err.key]; ok {
				l = k
			}
			return nil, &ConfigError{File: file, Line: l, Msg: fmt.Sprintf("module %q: %s", name, err.msg)}
		}
	}
	return &cfg, nil
}

// decodeError turns a YAML decoding error into one line that names the
// first problem's line and key, never a Go type ("exporter.Module").
func decodeError(file string, err error) *ConfigError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
		if n, err := fmt.Sscanf(msg, "line %d:", &line); n == 1 && err == nil {
			_, msg, _ = strings.Cut(msg, ": ")
		}
		if len(te.Errors) > 1 {
			msg += fmt.Sprintf(" (and %d more problems)", len(te.Errors)-1)
		}
	}
	msg = unknownField.ReplaceAllString(msg, "unknown key $1 (see docs/EXPORTER.md for the valid keys)")
	msg = goType.ReplaceAllString(msg, "")
	return &ConfigError{File: file, Line: line, Msg: strings.TrimSpace(msg)}
}

// goType is the "into exporter.Module"-style tail of a YAML type error.
var goType = regexp.MustCompile(` (in|into) (type )?[\w.*\[\]]*exporter\.\w+`)

// moduleNodes returns the module name and body nodes of a parsed file.
func moduleNodes(root *yaml.Node) (top *yaml.Node, mods [][2]*yaml.Node) {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, nil
	}
	top = root.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != "modules" || top.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		m := top.Content[i+1]
		for j := 0; j+1 < len(m.Content); j += 2 {
			mods = append(mods, [2]*yaml.Node{m.Content[j], m.Content[j+1]})
		}
	}
	return top, mods
}

// configLines maps ".key" (top level), "name" and "name.key" (modules) to
// their line numbers.
func configLines(root *yaml.Node) map[string]int {
	out := map[string]int{}
	top, mods := moduleNodes(root)
	if top == nil {
		return out
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		out["."+top.Content[i].Value] = top.Content[i].Line
	}
	for _, nb := range mods {
		name, body := nb[0].Value, nb[1]
		out[name] = nb[0].Line
		for k := 0; k+1 < len(body.Content); k += 2 {
			out[name+"."+body.Content[k].Value] = body.Content[k].Line
		}
	}
	return out
}

// bareDuration finds a module timeout written as a bare number ("timeout:
// 5", which YAML would read as 5 nanoseconds) and returns the message and
// line.
func bareDuration(root *yaml.Node) (string, int, bool) {
	_, mods := moduleNodes(root)
	for _, nb := range mods {
		body := nb[1]
		for k := 0; k+1 < len(body.Content); k += 2 {
			v := body.Content[k+1]
			if body.Content[k].Value == "timeout" && v.Kind == yaml.ScalarNode && (v.Tag == "!!int" || v.Tag == "!!float") {
				return fmt.Sprintf("module %q: timeout: %s has no unit: write %ss", nb[0].Value, v.Value, v.Value), v.Line, true
			}
		}
	}
	return "", 0, false
}

type fieldError struct{ key, msg string }

func (m *Module) prepare(file string) *fieldError {
	if m.Timeout < 0 {
		return &fieldError{"timeout", "timeout must be positive (e.g. 5s)"}
	}
	if m.Timeout == 0 {
		m.Timeout = DefaultTimeout
	}
	if m.StartTLS != "" {
		p, err := starttls.Parse(m.StartTLS)
		if err != nil {
			return &fieldError{"starttls", err.Error()}
		}
		m.proto = p
	}
	allow, err := parseTargetList(m.AllowedTargets)
	if err != nil {
		return &fieldError{"allowed_targets", err.Error()}
	}
	m.allow = allow
	if len(m.Groups) > 0 && m.Policy == "" {
		return &fieldError{"groups", "groups needs a policy: add 'policy: prefer' (or require/classical) to this module"}
	}
	if m.Policy != "" {
		minVersion := m.MinVersion
		if strings.TrimSpace(minVersion) == "" {
			minVersion = "1.3" // the exporter's own default (the library's is 1.2)
		}
		p, _, err := pqtls.ParsePolicy(m.Policy, strings.Join(m.Groups, ","), minVersion)
		if err != nil {
			key := "policy"
			if strings.Contains(err.Error(), "group") && len(m.Groups) > 0 {
				key = "groups"
			}
			return &fieldError{key, err.Error()}
		}
		m.policy = &p
	} else if m.MinVersion != "" {
		if _, err := pqtls.ParseVersion(m.MinVersion); err != nil {
			return &fieldError{"min_version", err.Error()}
		}
	}
	if m.CAFile != "" {
		var err error
		if m.roots, err = certload.LoadPool(resolve(file, m.CAFile)); err != nil {
			return &fieldError{"ca_file", fmt.Sprintf("%v: point ca_file at a readable PEM bundle", err)}
		}
	}
	if (m.CertFile == "") != (m.KeyFile == "") {
		return &fieldError{"cert_file", "cert_file and key_file go together: set both or neither"}
	}
	if m.CertFile != "" {
		c, err := certload.LoadKeyPair(resolve(file, m.CertFile), resolve(file, m.KeyFile))
		if err != nil {
			return &fieldError{"cert_file", fmt.Sprintf("client certificate: %v", err)}
		}
		m.cert = &c
	}
	if _, err := m.clientConfig("example.com"); err != nil {
		return &fieldError{"policy", err.Error()}
	}
	if len(m.EnumerateGroups) > 0 {
		if !m.Enumerate {
			return &fieldError{"enumerate_groups", "enumerate_groups needs 'enumerate: true'"}
		}
		gs, err := pqtls.ParseGroupList(strings.Join(m.EnumerateGroups, ","))
		if err != nil {
			return &fieldError{"enumerate_groups", err.Error()}
		}
		for _, g := range gs {
			m.enumGroup = append(m.enumGroup, g.ID)
		}
	} else if m.Enumerate {
		for _, g := range pqtls.Groups() {
			m.enumGroup = append(m.enumGroup, g.ID)
		}
	}
	return nil
}

func resolve(file, p string) string {
	if file == "" || strings.HasPrefix(p, "/") {
		return p
	}
	dir := file[:strings.LastIndex(file, "/")+1]
	return dir + p
}

package tunnel

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/yamlstrict"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"go.yaml.in/yaml/v3"
)

// Mode says which side of the link a listener sits on.
type Mode string

// Listener modes.
const (
	// ModeServer accepts hybrid TLS and forwards plaintext to a local target.
	ModeServer Mode = "server"
	// ModeClient accepts plaintext on a local address and originates hybrid
	// TLS to a remote target.
	ModeClient Mode = "client"
)

// Defaults, in one place (docs/TUNNEL.md lists them).
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultConnectTimeout   = 5 * time.Second
	DefaultIdleTimeout      = time.Hour
	DefaultMaxConnections   = 10000
	DefaultDrainTimeout     = 30 * time.Second
)

// Duration is a time.Duration that reads "10s" style strings from YAML.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string such as "1m30s".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if n.Kind != yaml.ScalarNode || n.Decode(&s) != nil {
		return fmt.Errorf("line %d: want a duration such as 10s, 1m or 1h30m", n.Line)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration: use a form like 10s, 1m or 1h30m", n.Line, s)
	}
	if v < 0 {
		return fmt.Errorf("line %d: duration %q is negative", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// ACL lists the peer identities a listener accepts. A peer is accepted when
// its certificate matches any entry of any list; an ACL with no entries
// accepts every certificate the CA bundle verifies.
type ACL struct {
	// URI matches URI SANs (SPIFFE IDs). "*" matches exactly one non-empty
	// path segment, a trailing "**" one or more segments; scheme and trust
	// domain never take wildcards.
	URI []string `yaml:"uri,omitempty"`
	// DNS matches DNS SANs; "*.example.com" matches one label.
	DNS []string `yaml:"dns,omitempty"`
	// CN matches the subject common name exactly.
	CN []string `yaml:"cn,omitempty"`
	// OU matches any subject organizational unit exactly.
	OU []string `yaml:"ou,omitempty"`
}

// Empty reports whether the ACL has no entries.
func (a ACL) Empty() bool { return len(a.URI)+len(a.DNS)+len(a.CN)+len(a.OU) == 0 }

// ListenerConfig describes one listener. Field names are the YAML keys.
type ListenerConfig struct {
	// Name labels metrics and logs. Default: "<mode>-<index>".
	Name string `yaml:"name,omitempty"`
	// Mode is server or client.
	Mode Mode `yaml:"mode"`
	// Listen is host:port or unix:/path.
	Listen string `yaml:"listen"`
	// Target is host:port or unix:/path.
	Target string `yaml:"target"`
	// Cert and Key are PEM files: the server certificate (server mode) or
	// the client certificate for mTLS (client mode, optional).
	Cert string `yaml:"cert,omitempty"`
	Key  string `yaml:"key,omitempty"`
	// ExtraCerts are more certificate/key pairs served next to Cert (server
	// mode): Go presents the first one the client's signature_algorithms
	// accept, so with auth prefer-pq an ML-DSA chain goes to clients that
	// support it and a classical one to the others (the ML-DSA ones are
	// moved first whatever the order). On the command line: --cert and
	// --key repeated, in pairs.
	ExtraCerts []CertPair `yaml:"extra_certs,omitempty"`
	// CA is a PEM bundle: client CAs (server mode; enables mTLS) or the roots
	// that verify the target (client mode; default: system roots).
	CA string `yaml:"ca,omitempty"`
	// ServerName is the name sent in SNI and verified (client mode). Default:
	// the host of Target.
	ServerName string `yaml:"server_name,omitempty"`
	// Allow is the client identity ACL (server mode, needs CA).
	Allow ACL `yaml:"allow,omitempty"`
	// Verify lists the server identities accepted (client mode). When set,
	// the certificate chain is verified against CA and the identity matched
	// here instead of against ServerName.
	Verify ACL `yaml:"verify,omitempty"`
	// Policy is prefer (default), require or classical.
	Policy string `yaml:"policy,omitempty"`
	// Groups overrides the policy's group list ("X25519MLKEM768,X25519").
	Groups string `yaml:"groups,omitempty"`
	// MinVersion is "1.3" (default) or "1.2".
	MinVersion string `yaml:"min_version,omitempty"`
	// Auth is the authentication policy: any (default), prefer-pq,
	// require-pq or cnsa2 (pqtls.ParseAuth; all but any need pqtls built
	// with Go 1.27 or later).
	Auth string `yaml:"auth,omitempty"`
	// UseWorkloadAPI takes the listener's certificate (its X.509-SVID) and
	// the trust bundle that verifies peers from the SPIFFE Workload API
	// (SPIRE agent), rotated without restart. Exclusive with Cert, Key and
	// CA. Client mode needs Verify (the server's SPIFFE ID).
	UseWorkloadAPI bool `yaml:"use_workload_api,omitempty"`
	// WorkloadAPIAddr is the Workload API address, unix:///path or
	// tcp://IP:port. Default: the SPIFFE_ENDPOINT_SOCKET environment
	// variable.
	WorkloadAPIAddr string `yaml:"workload_api_addr,omitempty"`
	// ALPN lists the application protocols the listener negotiates: offered
	// to clients (server mode) or to the target (client mode). Empty (the
	// default): no ALPN at all, so a client never starts HTTP/2 towards a
	// backend that only speaks HTTP/1.1.
	ALPN []string `yaml:"alpn,omitempty"`
	// AllowRemoteTarget lets a server-mode target be a non-loopback address.
	AllowRemoteTarget bool `yaml:"allow_remote_target,omitempty"`
	// AllowRemoteListen lets a client-mode listener (plaintext) bind a
	// non-loopback address.
	AllowRemoteListen bool `yaml:"allow_remote_listen,omitempty"`
	// TargetTLS makes a server-mode listener speak TLS to its target (for a
	// backend that only accepts TLS; TLS 1.2 and classical groups allowed,
	// since the hop is local). TargetCA verifies it (default: system roots)
	// and TargetServerName is the name checked (default: the target host).
	TargetTLS        bool   `yaml:"target_tls,omitempty"`
	TargetCA         string `yaml:"target_ca,omitempty"`
	TargetServerName string `yaml:"target_server_name,omitempty"`
	// ProxyProtocol sends a PROXY protocol v2 header to the target.
	ProxyProtocol bool `yaml:"proxy_protocol,omitempty"`
	// MaxConnections bounds concurrent connections (default 10000).
	MaxConnections int `yaml:"max_connections,omitempty"`
	// HandshakeTimeout bounds the TLS handshake (default 10s).
	HandshakeTimeout Duration `yaml:"handshake_timeout,omitempty"`
	// ConnectTimeout bounds the dial to the target (default 5s).
	ConnectTimeout Duration `yaml:"connect_timeout,omitempty"`
	// IdleTimeout closes a connection with no traffic either way (default 1h).
	IdleTimeout Duration `yaml:"idle_timeout,omitempty"`
}

// CertPair is one more certificate and its key (ListenerConfig.ExtraCerts).
type CertPair struct {
	// Cert is the PEM certificate (chain) file.
	Cert string `yaml:"cert"`
	// Key is the PEM private key file for Cert.
	Key string `yaml:"key"`
}

// certPairs returns every certificate/key pair of the listener, Cert first.
func (l *ListenerConfig) certPairs() []CertPair {
	if l.Cert == "" && len(l.ExtraCerts) == 0 {
		return nil
	}
	return append([]CertPair{{Cert: l.Cert, Key: l.Key}}, l.ExtraCerts...)
}

// Config is a whole tunnel process: several listeners, one metrics endpoint.
type Config struct {
	// Listeners is at least one listener.
	Listeners []ListenerConfig `yaml:"listeners"`
	// Metrics is the address of the /metrics, /healthz and /readyz server
	// (empty: none).
	Metrics string `yaml:"metrics,omitempty"`
	// DrainTimeout bounds graceful shutdown (default 30s).
	DrainTimeout Duration `yaml:"drain_timeout,omitempty"`
	// Log configures logging: format text (default) or json, level
	// debug/info (default)/warn/error.
	Log LogConfig `yaml:"log,omitempty"`

	// source names the file errors point into ("" for flags) and lines
	// holds the line of every key (see yamlstrict.Lines).
	source string
	lines  yamlstrict.Lines
}

// LogConfig configures the process logger.
type LogConfig struct {
	// Format is text (default) or json.
	Format string `yaml:"format,omitempty"`
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level,omitempty"`
}

// LoadConfig reads a YAML config file strictly: unknown keys are errors that
// name the line and key. Relative file paths in it (cert, key, ca,
// target_ca, unix: sockets) are resolved against the directory of the file,
// so a config works from any working directory. The result is not
// validated; call Validate.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	c, err := ParseConfig(data, path)
	if err != nil {
		return c, err
	}
	c.resolvePaths(filepath.Dir(path))
	return c, nil
}

// resolvePaths makes the relative paths of every listener relative to dir.
func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	sock := func(a *string) {
		if p, ok := strings.CutPrefix(*a, "unix:"); ok && p != "" && !strings.HasPrefix(p, "@") {
			abs(&p)
			*a = "unix:" + p
		}
	}
	for i := range c.Listeners {
		l := &c.Listeners[i]
		for _, p := range []*string{&l.Cert, &l.Key, &l.CA, &l.TargetCA} {
			abs(p)
		}
		for j := range l.ExtraCerts {
			abs(&l.ExtraCerts[j].Cert)
			abs(&l.ExtraCerts[j].Key)
		}
		sock(&l.Listen)
		sock(&l.Target)
	}
}

// ParseConfig parses YAML config bytes; name is used in error messages,
// which are one line per problem: "name:line: message".
func ParseConfig(data []byte, name string) (Config, error) {
	c := Config{source: name}
	lines, err := yamlstrict.Decode(data, name, &c)
	if err != nil {
		if len(bytes.TrimSpace(data)) == 0 {
			return c, fmt.Errorf("%s: empty config: add a 'listeners:' list (see examples/tunnel/tunnel.yaml)", name)
		}
		return c, err
	}
	c.lines = lines
	return c, nil
}

// keyError is a validation error about one key of a listener; its line in
// the config file is the line of that key.
type keyError struct {
	key string
	err error
}

func (e *keyError) Error() string { return e.err.Error() }
func (e *keyError) Unwrap() error { return e.err }

// at ties err to a key of the listener.
func at(key string, err error) error {
	if err == nil {
		return nil
	}
	return &keyError{key: key, err: err}
}

// listenerError prefixes err with the position of listener i (the line of
// the offending key when known) and its name: "tunnel.yaml:7: listener
// server-0: ...". Every message about a listener names it this one way.
func (c *Config) listenerError(i int, err error) error {
	name := c.Listeners[i].Name
	if name == "" {
		name = fmt.Sprintf("%d", i)
	}
	return fmt.Errorf("%slistener %s: %w", c.where(i, err), name, err)
}

// where is "file:line: " for an error about listener i, or "" without a
// file.
func (c *Config) where(i int, err error) string {
	if c.source == "" {
		return ""
	}
	item := fmt.Sprintf("listeners[%d]", i)
	line := c.lines[item]
	var ke *keyError
	if errors.As(err, &ke) {
		if l, ok := c.lines[item+"."+ke.key]; ok {
			line = l
		}
	}
	if line == 0 {
		return c.source + ": "
	}
	return fmt.Sprintf("%s:%d: ", c.source, line)
}

// topError prefixes an error about a top-level key with its position.
func (c *Config) topError(key string, err error) error {
	if c.source == "" {
		return err
	}
	if line, ok := c.lines[key]; ok {
		return fmt.Errorf("%s:%d: %w", c.source, line, err)
	}
	return fmt.Errorf("%s: %w", c.source, err)
}

// Validate fills defaults and checks every listener. It returns warnings
// (things that work but deserve attention, none for a listener with an
// error) and the errors of every listener, one per line (errors.Join).
func (c *Config) Validate() (warnings []string, err error) {
	warns, lerrs, top := c.validate()
	return c.flatten(warns, lerrs, top)
}

// validate checks the config: per-listener warnings and errors (nil: valid)
// and the errors of the top-level keys.
func (c *Config) validate() (warns [][]string, lerrs, top []error) {
	if len(c.Listeners) == 0 {
		return nil, nil, []error{c.topError("listeners", errors.New("no listeners: give --listen and --target, or a config file with a 'listeners:' list"))}
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = Duration(DefaultDrainTimeout)
	}
	c.Log.Format = strings.ToLower(strings.TrimSpace(c.Log.Format))
	if !logFormats[c.Log.Format] {
		top = append(top, c.topError("log.format", fmt.Errorf("log.format %q: use text or json", c.Log.Format)))
	}
	if !logLevels[strings.ToLower(strings.TrimSpace(c.Log.Level))] {
		top = append(top, c.topError("log.level", fmt.Errorf("log.level %q: use debug, info, warn or error", c.Log.Level)))
	}
	names := map[string]bool{}
	binds := map[int]bool{}
	warns, lerrs = make([][]string, len(c.Listeners)), make([]error, len(c.Listeners))
	for i := range c.Listeners {
		l := &c.Listeners[i]
		w, err := l.validate(i)
		if err == nil {
			err = at("name", l.checkUnique(names))
		}
		if err == nil {
			err = at("listen", c.checkBind(i, binds))
		}
		if err != nil {
			lerrs[i] = c.listenerError(i, err)
			continue
		}
		warns[i] = w
	}
	return warns, lerrs, top
}

// flatten joins the errors and keeps the warnings of the listeners without
// an error (a warning next to an unrelated error only distracts).
func (c *Config) flatten(warns [][]string, lerrs, top []error) (warnings []string, err error) {
	errs := top
	for i, e := range lerrs {
		if e != nil {
			errs = append(errs, e)
			continue
		}
		for _, s := range warns[i] {
			warnings = append(warnings, fmt.Sprintf("listener %s: %s", c.Listeners[i].Name, s))
		}
	}
	return warnings, errors.Join(errs...)
}

// The log settings, parsed in one place: trimmed, case-insensitive.
var (
	logFormats = map[string]bool{"": true, "text": true, "json": true}
	logLevels  = map[string]bool{"": true, "debug": true, "info": true, "warn": true, "error": true}
)

func (l *ListenerConfig) checkUnique(names map[string]bool) error {
	if names[l.Name] {
		return fmt.Errorf("name %q used twice: names label metrics and must be unique", l.Name)
	}
	names[l.Name] = true
	return nil
}

// checkBind refuses a listen address that an earlier listener already
// binds: the same unix path, or the same TCP port on the same host or on a
// wildcard host of its family (0.0.0.0 for IPv4; empty and :: for both, as
// Go binds them), which the kernel would refuse.
func (c *Config) checkBind(i int, seen map[int]bool) error {
	network, addr, _ := splitAddr(c.Listeners[i].Listen)
	for j := range i {
		if !seen[j] {
			continue
		}
		n2, a2, _ := splitAddr(c.Listeners[j].Listen)
		if network != n2 {
			continue
		}
		if sameBind(network, addr, a2) {
			seen[i] = true
			return fmt.Errorf("listen %s: listener %s already listens there: give each listener its own address", c.Listeners[i].Listen, c.Listeners[j].Name)
		}
	}
	seen[i] = true
	return nil
}

func sameBind(network, a, b string) bool {
	if network == "unix" {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	h1, p1, _ := net.SplitHostPort(a)
	h2, p2, _ := net.SplitHostPort(b)
	if p1 != p2 || p1 == "0" {
		return false
	}
	// covers reports whether binding host h takes the port on host o
	// too: the same host, an empty host or "::" (Go binds both families),
	// or 0.0.0.0 for another IPv4 host.
	covers := func(h, o string) bool {
		ip, oip := net.ParseIP(h), net.ParseIP(o)
		switch {
		case h == o, h == "":
			return true
		case ip == nil || !ip.IsUnspecified():
			return false
		case ip.To4() == nil: // ::
			return true
		}
		return o == "" || (oip != nil && oip.To4() != nil) || (oip == nil && o != "")
	}
	return covers(h1, h2) || covers(h2, h1)
}

func (l *ListenerConfig) validate(i int) (warnings []string, err error) {
	switch l.Mode {
	case ModeServer, ModeClient:
	case "":
		return nil, at("mode", errors.New("mode is missing: say server or client"))
	default:
		return nil, at("mode", fmt.Errorf("mode %q: use server or client", l.Mode))
	}
	if l.Name == "" {
		l.Name = fmt.Sprintf("%s-%d", l.Mode, i)
	}
	if err := checkAddr(l.Listen, true); err != nil {
		return nil, at("listen", fmt.Errorf("listen: %w", err))
	}
	if err := checkAddr(l.Target, false); err != nil {
		return nil, at("target", fmt.Errorf("target: %w", err))
	}
	if l.MaxConnections < 0 {
		return nil, at("max_connections", errors.New("max_connections must be positive"))
	}
	if l.MaxConnections == 0 {
		l.MaxConnections = DefaultMaxConnections
	}
	if l.HandshakeTimeout == 0 {
		l.HandshakeTimeout = Duration(DefaultHandshakeTimeout)
	}
	if l.ConnectTimeout == 0 {
		l.ConnectTimeout = Duration(DefaultConnectTimeout)
	}
	if l.IdleTimeout == 0 {
		l.IdleTimeout = Duration(DefaultIdleTimeout)
	}
	_, pw, err := l.policy()
	var cerr *pqtls.ConfigError
	if errors.As(err, &cerr) && cerr.Field == "auth" {
		return nil, at("auth", fmt.Errorf("auth: %w", err))
	}
	if err != nil {
		return nil, at("policy", err)
	}
	warnings = append(warnings, pw...)
	if err := l.checkWorkloadAPI(); err != nil {
		return warnings, err
	}
	if (l.Cert == "") != (l.Key == "") {
		return warnings, at("cert", errors.New("cert and key go together: give both or neither"))
	}
	for _, p := range l.ExtraCerts {
		if p.Cert == "" || p.Key == "" {
			return warnings, at("extra_certs", errors.New("extra_certs: every entry needs cert and key"))
		}
	}
	if len(l.ExtraCerts) > 0 && (l.Cert == "" || l.Mode != ModeServer) {
		return warnings, at("extra_certs", errors.New("extra_certs (a repeated --cert/--key) applies to server mode, next to cert and key"))
	}
	for _, p := range l.ALPN {
		if p == "" || len(p) > 255 {
			return warnings, at("alpn", fmt.Errorf("alpn entry %q: a protocol name is 1 to 255 bytes, e.g. h2 or http/1.1", p))
		}
	}
	if err := checkPatterns(l.Allow); err != nil {
		return warnings, at("allow", fmt.Errorf("allow: %w", err))
	}
	if err := checkPatterns(l.Verify); err != nil {
		return warnings, at("verify", fmt.Errorf("verify: %w", err))
	}
	var w []string
	if l.Mode == ModeServer {
		w, err = l.validateServer()
	} else {
		err = l.validateClient()
	}
	return append(warnings, w...), err
}

func (l *ListenerConfig) validateServer() (warnings []string, err error) {
	switch {
	case l.Cert == "" && !l.UseWorkloadAPI:
		return nil, errors.New("server mode needs cert and key (the certificate clients verify), or use_workload_api (--use-workload-api)")
	case !l.Allow.Empty() && l.CA == "" && !l.UseWorkloadAPI:
		return nil, at("allow", errors.New("allow rules need a client CA bundle (ca / --client-ca) to verify client certificates"))
	case !l.Verify.Empty():
		return nil, at("verify", errors.New("verify applies to client mode; in server mode use allow"))
	case !l.AllowRemoteTarget && !isLocal(l.Target):
		return nil, at("target", fmt.Errorf("target %s is not loopback or a unix socket: plaintext would leave the host; use a local target or set allow_remote_target (--allow-remote-target)", l.Target))
	case !l.TargetTLS && (l.TargetCA != "" || l.TargetServerName != ""):
		return nil, at("target_ca", errors.New("target_ca and target_server_name need target_tls (--target-tls)"))
	}
	if l.CA == "" && !l.UseWorkloadAPI {
		warnings = append(warnings, "no client CA: any client may connect (set ca / --client-ca and allow rules for mTLS)")
	}
	return warnings, nil
}

func (l *ListenerConfig) validateClient() error {
	switch {
	case !l.Allow.Empty():
		return at("allow", errors.New("allow applies to server mode; in client mode use verify"))
	case l.ProxyProtocol:
		return at("proxy_protocol", errors.New("proxy_protocol applies to server mode only"))
	case l.TargetTLS || l.TargetCA != "" || l.TargetServerName != "":
		return at("target_tls", errors.New("target_tls applies to server mode only (client mode always speaks TLS to its target)"))
	case !l.AllowRemoteListen && !isLocal(l.Listen):
		return at("listen", fmt.Errorf("listen %s is not loopback or a unix socket: a client-mode listener accepts plaintext; bind 127.0.0.1 or set allow_remote_listen (--allow-remote-listen)", l.Listen))
	}
	return nil
}

func (l *ListenerConfig) policy() (pqtls.Policy, []string, error) {
	minVersion := l.MinVersion
	if strings.TrimSpace(minVersion) == "" {
		minVersion = "1.3" // the tunnel's own default (the library's is 1.2)
	}
	return pqtls.ParsePolicy(l.Policy, l.Groups, minVersion, l.Auth)
}

// splitAddr returns the network ("tcp" or "unix") and address.
func splitAddr(s string) (network, addr string, err error) {
	if p, ok := strings.CutPrefix(s, "unix:"); ok {
		if p == "" {
			return "", "", errors.New("unix: needs a path, e.g. unix:/run/app.sock")
		}
		return "unix", p, nil
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		return "", "", fmt.Errorf("%q: %w (use host:port or unix:/path)", s, err)
	}
	return "tcp", s, nil
}

// checkWorkloadAPI checks the Workload API settings: exclusive with files,
// an address (flag or SPIFFE_ENDPOINT_SOCKET) that go-spiffe accepts, and a
// pinned server identity in client mode.
func (l *ListenerConfig) checkWorkloadAPI() error {
	if !l.UseWorkloadAPI {
		if l.WorkloadAPIAddr != "" {
			return at("workload_api_addr", errors.New("workload_api_addr needs use_workload_api (--use-workload-api)"))
		}
		return nil
	}
	if l.Cert != "" || l.Key != "" || l.CA != "" {
		return at("use_workload_api", errors.New("use_workload_api takes the certificate and trust bundle from the Workload API: remove cert, key and ca (--cert, --key, --client-ca, --ca)"))
	}
	addr := l.WorkloadAPIAddr
	if addr == "" {
		if addr, _ = workloadapi.GetDefaultAddress(); addr == "" {
			return at("use_workload_api", errors.New("no Workload API address: give workload_api_addr (--workload-api-addr unix:///run/spire/agent.sock) or set SPIFFE_ENDPOINT_SOCKET"))
		}
	}
	if err := workloadapi.ValidateAddress(addr); err != nil {
		return at("workload_api_addr", fmt.Errorf("workload API address %q: %v (use unix:///path or tcp://IP:port)", addr, err))
	}
	if l.Mode == ModeClient && l.Verify.Empty() {
		return at("use_workload_api", errors.New("use_workload_api in client mode needs verify (--verify-uri) naming the server's SPIFFE ID: the trust bundle alone accepts any workload of the trust domain"))
	}
	return nil
}

// workloadAPIAddr is the address the Workload API client dials.
func (l *ListenerConfig) workloadAPIAddr() string {
	if l.WorkloadAPIAddr != "" {
		return l.WorkloadAPIAddr
	}
	addr, _ := workloadapi.GetDefaultAddress()
	return addr
}

// checkAddr checks an address before anything binds or dials it: a TCP
// port must be a number from 0 to 65535 (1 to 65535 for a target; 0 on a
// listener picks a free port), a target needs a host, and a unix socket to
// listen on needs an existing directory.
func checkAddr(s string, listen bool) error {
	if s == "" {
		return errors.New("address is missing: give host:port or unix:/path")
	}
	network, addr, err := splitAddr(s)
	if err != nil {
		return err
	}
	if network == "unix" {
		if !listen || strings.HasPrefix(addr, "@") { // "@": Linux abstract socket
			return nil
		}
		dir := filepath.Dir(addr)
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return fmt.Errorf("%s: directory %s does not exist: create it or change the path", s, dir)
		}
		return nil
	}
	host, port, _ := net.SplitHostPort(addr)
	n, err := strconv.Atoi(port)
	low := 1
	if listen {
		low = 0
	}
	if err != nil || n < low || n > 65535 || strings.TrimLeft(port, "0123456789") != "" {
		return fmt.Errorf("%s: port %q must be a number from %d to 65535", s, port, low)
	}
	if !listen && host == "" {
		return fmt.Errorf("%s: the target needs a host, e.g. 127.0.0.1:%s", s, port)
	}
	return nil
}

// isLocal reports whether an address is a unix socket or a loopback host.
func isLocal(s string) bool {
	network, addr, err := splitAddr(s)
	if err != nil {
		return false
	}
	if network == "unix" {
		return true
	}
	host, _, _ := net.SplitHostPort(addr)
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkPatterns(a ACL) error {
	for _, p := range a.URI {
		if !strings.Contains(p, ":") {
			return fmt.Errorf("uri %q is not a URI: use a form like spiffe://example.org/ns/app/sa/*", p)
		}
		segs := strings.Split(p, "/")
		for i, s := range segs {
			switch {
			case !strings.Contains(s, "*"):
			case i < 3:
				return fmt.Errorf("uri %q: wildcards match path segments only, never the scheme or trust domain", p)
			case s == "*", s == "**" && i == len(segs)-1:
				segs[i] = "x"
			default:
				return fmt.Errorf("uri %q: * must be a whole path segment (ns/*/sa/x) and ** the whole last one (ns/**)", p)
			}
		}
		if scheme, _, _ := strings.Cut(p, ":"); strings.EqualFold(scheme, "spiffe") {
			// A pattern that no valid SPIFFE ID can match is a mistake.
			if _, err := spiffeid.FromString(strings.Join(segs, "/")); err != nil {
				return fmt.Errorf("uri %q is not a valid SPIFFE ID pattern: %v (lowercase trust domain, no empty, . or .. segments, no %%-encoding)", p, err)
			}
		}
	}
	for _, p := range a.DNS {
		if strings.Contains(p, "*") && (!strings.HasPrefix(p, "*.") || strings.Contains(p[2:], "*") || len(p) == 2) {
			return fmt.Errorf("dns %q: * may only be the whole first label (*.example.com)", p)
		}
	}
	return nil
}

package tunnel

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/pqtls/pqtls"
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
	if err := n.Decode(&s); err != nil {
		return err
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
}

// LogConfig configures the process logger.
type LogConfig struct {
	// Format is text (default) or json.
	Format string `yaml:"format,omitempty"`
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level,omitempty"`
}

// LoadConfig reads a YAML config file strictly: unknown keys are errors that
// name the line and key. The result is not validated; call Validate.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	return ParseConfig(data, path)
}

// ParseConfig parses YAML config bytes; name is used in error messages.
func ParseConfig(data []byte, name string) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return c, fmt.Errorf("%s: empty config: add a 'listeners:' list (see examples/tunnel/tunnel.yaml)", name)
		}
		return c, fmt.Errorf("%s: %w (see docs/TUNNEL.md for valid keys)", name, err)
	}
	// A second document would be silently ignored: refuse it.
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			return c, fmt.Errorf("%s: %w", name, err)
		}
		return c, fmt.Errorf("%s: line %d: a second YAML document (after ---): put every listener in one 'listeners:' list", name, line)
	}
	return c, nil
}

// Validate fills defaults and checks every listener. It returns warnings
// (things that work but deserve attention) and the first error.
func (c *Config) Validate() (warnings []string, err error) {
	if len(c.Listeners) == 0 {
		return nil, errors.New("no listeners: give --listen and --target, or a config file with a 'listeners:' list")
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = Duration(DefaultDrainTimeout)
	}
	switch c.Log.Format {
	case "", "text", "json":
	default:
		return nil, fmt.Errorf("log.format %q: use text or json", c.Log.Format)
	}
	switch strings.ToLower(c.Log.Level) {
	case "", "debug", "info", "warn", "error":
	default:
		return nil, fmt.Errorf("log.level %q: use debug, info, warn or error", c.Log.Level)
	}
	names := map[string]bool{}
	for i := range c.Listeners {
		l := &c.Listeners[i]
		w, err := l.validate(i)
		for _, s := range w {
			warnings = append(warnings, fmt.Sprintf("listener %s: %s", l.Name, s))
		}
		if err != nil {
			return warnings, fmt.Errorf("listener %d (%s): %w", i, l.Name, err)
		}
		if names[l.Name] {
			return warnings, fmt.Errorf("listener name %q used twice: names label metrics and must be unique", l.Name)
		}
		names[l.Name] = true
	}
	return warnings, nil
}

func (l *ListenerConfig) validate(i int) (warnings []string, err error) {
	switch l.Mode {
	case ModeServer, ModeClient:
	case "":
		return nil, errors.New("mode is missing: say server or client")
	default:
		return nil, fmt.Errorf("mode %q: use server or client", l.Mode)
	}
	if l.Name == "" {
		l.Name = fmt.Sprintf("%s-%d", l.Mode, i)
	}
	if l.Listen == "" {
		return nil, errors.New("listen address is missing: give host:port or unix:/path")
	}
	if l.Target == "" {
		return nil, errors.New("target address is missing: give host:port or unix:/path")
	}
	if _, _, err := splitAddr(l.Listen); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if _, _, err := splitAddr(l.Target); err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	if l.MaxConnections < 0 {
		return nil, errors.New("max_connections must be positive")
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
	if err != nil {
		return nil, err
	}
	warnings = append(warnings, pw...)
	if (l.Cert == "") != (l.Key == "") {
		return warnings, errors.New("cert and key go together: give both or neither")
	}
	if err := checkPatterns(l.Allow); err != nil {
		return warnings, fmt.Errorf("allow: %w", err)
	}
	if err := checkPatterns(l.Verify); err != nil {
		return warnings, fmt.Errorf("verify: %w", err)
	}
	switch l.Mode {
	case ModeServer:
		if l.Cert == "" {
			return warnings, errors.New("server mode needs cert and key (the certificate clients verify)")
		}
		if !l.Allow.Empty() && l.CA == "" {
			return warnings, errors.New("allow rules need a client CA bundle (ca / --client-ca) to verify client certificates")
		}
		if !l.Verify.Empty() {
			return warnings, errors.New("verify applies to client mode; in server mode use allow")
		}
		if !l.AllowRemoteTarget && !isLocal(l.Target) {
			return warnings, fmt.Errorf("target %s is not loopback or a unix socket: plaintext would leave the host; use a local target or set allow_remote_target (--allow-remote-target)", l.Target)
		}
		if !l.TargetTLS && (l.TargetCA != "" || l.TargetServerName != "") {
			return warnings, errors.New("target_ca and target_server_name need target_tls (--target-tls)")
		}
		if l.CA == "" {
			warnings = append(warnings, "no client CA: any client may connect (set ca / --client-ca and allow rules for mTLS)")
		}
	case ModeClient:
		if !l.Allow.Empty() {
			return warnings, errors.New("allow applies to server mode; in client mode use verify")
		}
		if l.ProxyProtocol {
			return warnings, errors.New("proxy_protocol applies to server mode only")
		}
		if l.TargetTLS || l.TargetCA != "" || l.TargetServerName != "" {
			return warnings, errors.New("target_tls applies to server mode only (client mode always speaks TLS to its target)")
		}
		if !l.AllowRemoteListen && !isLocal(l.Listen) {
			return warnings, fmt.Errorf("listen %s is not loopback or a unix socket: a client-mode listener accepts plaintext; bind 127.0.0.1 or set allow_remote_listen (--allow-remote-listen)", l.Listen)
		}
	}
	return warnings, nil
}

func (l *ListenerConfig) policy() (pqtls.Policy, []string, error) {
	minVersion := l.MinVersion
	if strings.TrimSpace(minVersion) == "" {
		minVersion = "1.3" // the tunnel's own default (the library's is 1.2)
	}
	return pqtls.ParsePolicy(l.Policy, l.Groups, minVersion)
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
			default:
				return fmt.Errorf("uri %q: * must be a whole path segment (ns/*/sa/x) and ** the whole last one (ns/**)", p)
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

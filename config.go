package pqtls

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"slices"
	"strings"
)

// Options configures ServerConfig and ClientConfig.
type Options struct {
	// Policy selects the mode, groups and versions. The zero value is prefer
	// with the default groups and TLS 1.3 only.
	Policy Policy
	// Base is an optional configuration to harden: certificates, roots,
	// client authentication, ALPN and callbacks are kept; key-exchange groups
	// and versions come from Policy. If Policy.Groups is empty and
	// Base.CurvePreferences is set, Base's list is used as the policy's group
	// list and validated like one (an explicit list never silently turns
	// hybrid key exchange off: see Policy.Validate). The same holds for
	// Base.MinVersion and Base.MaxVersion. A configuration returned by
	// Base.GetConfigForClient (server side) gets the same groups and
	// versions, so a per-client configuration cannot bypass the policy.
	// Base is not modified.
	Base *tls.Config
	// Logger receives configuration warnings. Nil discards them.
	Logger *slog.Logger
}

// ServerConfig returns a server *tls.Config that applies the policy. In
// require mode a ClientHello offering no hybrid group is refused before any
// key exchange: the client receives a handshake_failure alert and the
// handshake returns a *PolicyError.
func ServerConfig(o Options) (*tls.Config, error) {
	cfg, p, err := build(o)
	if err != nil {
		return nil, err
	}
	require := p.EffectiveMode() == ModeRequire
	required := cfg.CurvePreferences
	baseGetConfig := cfg.GetConfigForClient
	// perClient applies the policy to a configuration that Base's own
	// GetConfigForClient returns for one client: its key-exchange groups and
	// versions would otherwise replace the policy's for that connection.
	perClient := func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		c, err := baseGetConfig(hello)
		if err != nil || c == nil {
			return c, err
		}
		c = c.Clone()
		applyPolicy(c, p)
		if require {
			c.VerifyConnection = requireHybrid(RoleServer, c.VerifyConnection, required)
		}
		return c, nil
	}
	if !require {
		if baseGetConfig != nil {
			cfg.GetConfigForClient = perClient
		}
		return cfg, nil
	}
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		// A client that offers hybrids, just not ours, is not classical:
		// crypto/tls refuses it as no_shared_group.
		if !slices.ContainsFunc(hello.SupportedCurves, IsHybrid) {
			perr := &PolicyError{Role: RoleServer, ServerName: hello.ServerName, Offered: slices.Clone(hello.SupportedCurves), Required: slices.Clone(required)}
			if hello.Conn != nil {
				if a := hello.Conn.RemoteAddr(); a != nil { // nil for some wrapped conns
					perr.Peer = a.String()
				}
				// RFC 8446 section 4.1.1: a server that cannot negotiate
				// parameters aborts with handshake_failure. crypto/tls would
				// send internal_error for an error from this callback, so
				// send the right alert first; the peer stops at it.
				writeAlert(hello.Conn, alertHandshakeFailure)
			}
			return nil, perr
		}
		if baseGetConfig == nil {
			return nil, nil
		}
		return perClient(hello)
	}
	cfg.VerifyConnection = requireHybrid(RoleServer, cfg.VerifyConnection, required)
	return cfg, nil
}

// ClientConfig returns a client *tls.Config that applies the policy. In
// require mode only hybrid groups are offered, and a handshake that somehow
// ends on another group is refused. Use Dialer for an error that names what a
// classical-only server selects.
func ClientConfig(o Options) (*tls.Config, error) {
	cfg, p, err := build(o)
	if err != nil {
		return nil, err
	}
	if p.EffectiveMode() == ModeRequire {
		cfg.VerifyConnection = requireHybrid(RoleClient, cfg.VerifyConnection, cfg.CurvePreferences)
	}
	return cfg, nil
}

// ResolvePolicy merges the policy with the key-exchange settings of an
// optional base configuration, removes groups the process has disabled
// (GODEBUG tlsmlkem=0 or tlssecpmlkem=0), and validates the result. It
// returns the effective policy and its warnings.
func ResolvePolicy(p Policy, base *tls.Config) (Policy, []string, error) {
	m, err := ParseMode(string(p.Mode))
	if err != nil {
		return p, nil, err
	}
	if p.Mode != "" {
		p.Mode = m // canonical spelling
	}
	var warnings []string
	if base != nil {
		var w []string
		if p, w, err = mergeBase(p, base); err != nil {
			return p, nil, err
		}
		warnings = w
	}
	vw, err := p.Validate()
	warnings = append(warnings, vw...)
	if err != nil {
		return p, warnings, err
	}
	disabled := DisabledGroups()
	var kept, dropped []tls.CurveID
	for _, id := range p.EffectiveGroups() {
		if slices.Contains(disabled, id) {
			dropped = append(dropped, id)
		} else {
			kept = append(kept, id)
		}
	}
	if len(dropped) > 0 {
		msg := fmt.Sprintf("%s disabled in this process by GODEBUG (tlsmlkem=0 / tlssecpmlkem=0, from the environment or the main module's go.mod/go:debug): remove that setting", groupNames2(dropped))
		if p.EffectiveMode() == ModeRequire && !slices.ContainsFunc(kept, IsHybrid) {
			return p, warnings, configErrorf("policy", "policy require cannot work: %s", msg)
		}
		if len(kept) == 0 {
			return p, warnings, configErrorf("policy", "no usable group left: %s", msg)
		}
		warnings = append(warnings, msg)
		p.Groups = kept
	}
	return p, warnings, nil
}

// mergeBase takes the groups and versions the policy leaves open from base,
// so that prefer never breaks a link base allows: a classical-only base list
// gets the default hybrids added (with a warning naming them), and in require
// a base TLS 1.2 minimum is raised to TLS 1.3 with a warning.
func mergeBase(p Policy, base *tls.Config) (Policy, []string, error) {
	var warnings []string
	mode := p.EffectiveMode()
	if len(p.Groups) == 0 && len(base.CurvePreferences) > 0 {
		p.Groups = slices.Clone(base.CurvePreferences)
		if mode == ModePrefer && !slices.ContainsFunc(p.Groups, IsHybrid) {
			added := DefaultGroups(ModeRequire)
			p.Groups = append(added, p.Groups...)
			warnings = append(warnings, fmt.Sprintf("base config's CurvePreferences are classical-only (%s): policy prefer added %s so peers that support them get post-quantum key exchange", groupNames2(base.CurvePreferences), groupNames2(added)))
		}
	}
	if p.MinVersion == 0 && base.MinVersion != 0 {
		if base.MinVersion < tls.VersionTLS12 {
			return p, nil, configErrorf("version", "base config allows %s: pqtls supports TLS 1.2 and 1.3 only; raise MinVersion", VersionName(base.MinVersion))
		}
		if mode == ModeRequire && base.MinVersion < tls.VersionTLS13 {
			warnings = append(warnings, fmt.Sprintf("base config's MinVersion %s raised to TLS 1.3: policy require needs it (a TLS 1.2 handshake is never hybrid)", VersionName(base.MinVersion)))
		} else {
			p.MinVersion = base.MinVersion
		}
	}
	if p.MaxVersion == 0 {
		p.MaxVersion = base.MaxVersion
	}
	return p, warnings, nil
}

func build(o Options) (*tls.Config, Policy, error) {
	p, warnings, err := ResolvePolicy(o.Policy, o.Base)
	if err != nil {
		return nil, p, err
	}
	if o.Logger != nil {
		for _, w := range warnings {
			o.Logger.Warn("pqtls policy warning", "policy", p.String(), "warning", w)
		}
	}
	var cfg *tls.Config
	if o.Base != nil {
		cfg = o.Base.Clone()
	} else {
		cfg = &tls.Config{}
	}
	applyPolicy(cfg, p)
	return cfg, p, nil
}

func applyPolicy(cfg *tls.Config, p Policy) {
	cfg.CurvePreferences = p.EffectiveGroups()
	cfg.MinVersion = p.EffectiveMinVersion()
	cfg.MaxVersion = p.EffectiveMaxVersion()
}

func requireHybrid(role Role, next func(tls.ConnectionState) error, required []tls.CurveID) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if !IsHybrid(cs.CurveID) {
			return &PolicyError{Role: role, ServerName: cs.ServerName, Offered: []tls.CurveID{cs.CurveID}, Required: slices.Clone(required)}
		}
		if next != nil {
			return next(cs)
		}
		return nil
	}
}

const alertHandshakeFailure = 40

// writeAlert writes a plaintext fatal alert record. It is used only before
// any key exchange, when alerts are unencrypted.
func writeAlert(c net.Conn, desc byte) {
	_, _ = c.Write([]byte{21, 0x03, 0x03, 0x00, 0x02, 2, desc})
}

// DisabledGroups returns the hybrid groups this process cannot negotiate
// because of a GODEBUG setting (tlsmlkem=0 disables X25519MLKEM768,
// tlssecpmlkem=0 disables SecP256r1MLKEM768 and SecP384r1MLKEM1024), taken
// from the binary's default GODEBUG (go.mod go line, godebug block,
// //go:debug directives) and then the GODEBUG environment variable.
func DisabledGroups() []tls.CurveID {
	settings := map[string]string{}
	parse := func(s string) {
		for _, kv := range strings.Split(s, ",") {
			if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
				settings[k] = v
			}
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "DefaultGODEBUG" {
				parse(s.Value)
			}
		}
	}
	parse(os.Getenv("GODEBUG"))
	var out []tls.CurveID
	if settings["tlsmlkem"] == "0" {
		out = append(out, tls.X25519MLKEM768)
	}
	if settings["tlssecpmlkem"] == "0" {
		out = append(out, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024)
	}
	return out
}

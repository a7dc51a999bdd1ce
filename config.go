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
	// Observer, when set, makes the returned configuration record its own
	// handshakes through its tls.Config hooks, wherever it is used
	// (http.Server.ServeTLS, tls.Listen, database and broker drivers,
	// grpc-go's credentials.NewTLS). pqtls code that runs a handshake and
	// records it itself (Listener, Dialer, pqgrpc) never counts it twice.
	Observer *Observer
}

// ServerConfig returns a server *tls.Config that applies the policy. In
// require mode a ClientHello offering no hybrid group is refused before any
// key exchange: the client receives a handshake_failure alert and the
// handshake returns a *PolicyError. A ClientHello sharing no group or no
// TLS version with the policy is refused the same way with a *RefusalError.
//
// With Options.Observer set, the configuration records every handshake it
// runs, wherever it is used (see docs/LIBRARY.md for what the hooks see).
// When Base.NextProtos is nil, each connection is answered with h2 or
// http/1.1 when the client offers one of them, and with no ALPN otherwise;
// set Base.NextProtos to an empty non-nil slice to turn that off.
func ServerConfig(o Options) (*tls.Config, error) {
	cfg, p, err := build(o)
	if err != nil {
		return nil, err
	}
	applyAuth(cfg, p.Auth, RoleServer)
	s := &serverHooks{
		policy:        p,
		require:       p.EffectiveMode() == ModeRequire,
		groups:        slices.Clone(cfg.CurvePreferences),
		autoALPN:      o.Base == nil || o.Base.NextProtos == nil,
		baseGetConfig: cfg.GetConfigForClient,
		baseVerify:    cfg.VerifyConnection,
		obs:           o.Observer,
		cfg:           cfg,
	}
	wrapsInstrumented := Instrumented(o.Base)
	if wrapsInstrumented && s.obs != nil {
		return nil, configErrorf("observer", "Options.Base already records its handshakes (it comes from pqtls.ServerConfig with an Observer): pass the original configuration as Base, or leave Options.Observer nil, so no handshake is counted twice")
	}
	// A configuration wrapping an instrumented one is instrumented too (its
	// Base's hooks record), so that pqgrpc and others do not record again.
	if s.obs != nil || wrapsInstrumented {
		cfg.GetConfigForClient = s.getConfigObserved
		cfg.VerifyConnection = s.verifyObserved
	} else {
		cfg.GetConfigForClient = s.getConfigForClient
		cfg.VerifyConnection = s.verifyConnection
	}
	return cfg, nil
}

// ClientConfig returns a client *tls.Config that applies the policy. In
// require mode only hybrid groups are offered, and a handshake that somehow
// ends on another group is refused. Use Dialer for an error that names what a
// classical-only server selects. With Options.Observer set, every completed
// handshake and every refusal pqtls decides in VerifyConnection is recorded
// (without duration: a client configuration has no start hook). ClientConfig
// never adds ALPN.
func ClientConfig(o Options) (*tls.Config, error) {
	cfg, p, err := build(o)
	if err != nil {
		return nil, err
	}
	applyAuth(cfg, p.Auth, RoleClient)
	c := &clientHooks{require: p.EffectiveMode() == ModeRequire, groups: slices.Clone(cfg.CurvePreferences), next: cfg.VerifyConnection, obs: o.Observer}
	wrapsInstrumented := Instrumented(o.Base)
	if wrapsInstrumented && c.obs != nil {
		return nil, configErrorf("observer", "Options.Base already records its handshakes (it comes from pqtls.ClientConfig with an Observer): pass the original configuration as Base, or leave Options.Observer nil, so no handshake is counted twice")
	}
	switch {
	case c.obs != nil || wrapsInstrumented:
		cfg.VerifyConnection = c.verifyObserved
	case c.require:
		cfg.VerifyConnection = c.verifyConnection
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
	if mode, _ := ParseAuth(string(p.Auth)); mode == AuthCNSA2 {
		// MLKEM1024 is outside the registry's Go-negotiable groups before
		// Go 1.27, so the preset sets the list here, after validation.
		cfg.CurvePreferences = slices.Clone(CNSA2Groups)
		cfg.MinVersion = tls.VersionTLS13
	}
}

const (
	alertHandshakeFailure = 40
	alertProtocolVersion  = 70
)

// writeAlert writes a plaintext fatal alert record. It is used only before
// any key exchange, when alerts are unencrypted.
func writeAlert(c net.Conn, desc byte) {
	if c != nil {
		_, _ = c.Write([]byte{21, 0x03, 0x03, 0x00, 0x02, 2, desc})
	}
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
	for _, g := range registry {
		if g.GODEBUG != "" && settings[g.GODEBUG] == "0" {
			out = append(out, g.ID)
		}
	}
	return out
}

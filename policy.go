package pqtls

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
)

// Mode is a key-exchange policy mode.
type Mode string

// Policy modes. See the package documentation.
const (
	// ModePrefer offers hybrid groups first, then classical ones, and accepts
	// any peer. It is the default: hybrid wherever the peer can, no breakage.
	ModePrefer Mode = "prefer"
	// ModeRequire offers and accepts hybrid groups only. A classical-only peer
	// is refused before any key exchange.
	ModeRequire Mode = "require"
	// ModeClassical offers classical groups only: the rollback switch.
	ModeClassical Mode = "classical"
)

// modes lists the valid modes, in the order error messages name them.
var modes = []Mode{ModePrefer, ModeRequire, ModeClassical}

func modeList() string { return "prefer (default), require or classical" }

// ParseMode parses a policy mode name: trimmed and case-insensitive, so
// "REQUIRE" and "Require " are ModeRequire. The empty string is ModePrefer.
// An unknown name is a *ConfigError listing the valid ones. It is the one
// parser of mode strings: Policy.Validate, ServerConfig, ClientConfig,
// ParsePolicy, PolicyFromEnv and every pqtls flag and config file use it.
func ParseMode(s string) (Mode, error) {
	m := Mode(strings.ToLower(strings.TrimSpace(s)))
	if m == "" {
		return ModePrefer, nil
	}
	if slices.Contains(modes, m) {
		return m, nil
	}
	return "", configErrorf("mode", "unknown policy mode %q: use %s", s, modeList())
}

// DefaultGroups returns the groups a mode offers and accepts when the policy
// names none, as a fresh slice the caller may modify:
//
//   - prefer: Go's default set for this toolchain (Go 1.26: X25519MLKEM768,
//     SecP256r1MLKEM768, SecP384r1MLKEM1024, x25519, secp256r1, secp384r1,
//     secp521r1), so prefer is never narrower than plain crypto/tls;
//   - require: its hybrid groups;
//   - classical: its classical groups.
//
// Listing SecP384r1MLKEM1024 does not grow a Go ClientHello: since Go 1.24
// crypto/tls sends key shares only for its top choices. The mode is parsed
// by ParseMode; an invalid mode gets the prefer list.
func DefaultGroups(m Mode) []tls.CurveID {
	all := []tls.CurveID{tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024, tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521}
	mode, _ := ParseMode(string(m))
	switch mode {
	case ModeRequire:
		return slices.DeleteFunc(all, func(id tls.CurveID) bool { return !IsHybrid(id) })
	case ModeClassical:
		return slices.DeleteFunc(all, IsHybrid)
	}
	return all
}

// Deprecated default group lists, kept for one release.
var (
	// Deprecated: use DefaultGroups(ModePrefer). pqtls no longer reads this
	// variable; assigning it has no effect.
	DefaultPreferGroups = DefaultGroups(ModePrefer)
	// Deprecated: use DefaultGroups(ModeRequire). pqtls no longer reads this
	// variable; assigning it has no effect.
	DefaultRequireGroups = DefaultGroups(ModeRequire)
	// Deprecated: use DefaultGroups(ModeClassical). pqtls no longer reads
	// this variable; assigning it has no effect.
	DefaultClassicalGroups = DefaultGroups(ModeClassical)
)

// Policy says which key-exchange groups and TLS versions a configuration
// offers and accepts. The zero value is the default prefer policy.
type Policy struct {
	// Mode is prefer (default when empty), require or classical.
	Mode Mode
	// Groups is the ordered list of groups to offer (client) or accept in
	// order of preference (server). Nil means the mode's default list.
	Groups []tls.CurveID
	// MinVersion is the lowest TLS version (tls.VersionTLS12 or
	// tls.VersionTLS13). Zero means the base configuration's MinVersion,
	// else TLS 1.2 in prefer and classical (Go's default: prefer never
	// refuses a peer plain crypto/tls accepts) and TLS 1.3 in require (the
	// hybrid groups exist only in TLS 1.3). An explicit TLS 1.2 with require
	// is an error.
	MinVersion uint16
	// MaxVersion is the highest TLS version. Zero means TLS 1.3.
	MaxVersion uint16
	// Auth is the authentication mode (parsed by ParseAuth): any (default
	// when empty), prefer-pq, require-pq or cnsa2. All but any need a
	// binary built with Go 1.27 or later.
	Auth AuthMode
}

// ParsePolicy builds a policy from its textual form, as used by flags and
// config files: a mode name, an optional group list ("X25519MLKEM768,X25519";
// empty for the mode's default), an optional minimum version ("1.2" or
// "1.3"; empty for 1.3) and an optional authentication mode (any,
// prefer-pq, require-pq or cnsa2, parsed by ParseAuth; omitted or empty for
// any). The result is validated; warnings are returned, not printed.
func ParsePolicy(mode, groups, minVersion string, auth ...string) (Policy, []string, error) {
	m, err := ParseMode(mode)
	if err != nil {
		return Policy{}, nil, err
	}
	if len(auth) > 1 {
		return Policy{}, nil, configErrorf("auth", "ParsePolicy takes one authentication mode, got %d: pass one of any, prefer-pq, require-pq or cnsa2", len(auth))
	}
	p := Policy{Mode: m}
	if len(auth) == 1 {
		if p.Auth, err = ParseAuth(auth[0]); err != nil {
			return Policy{}, nil, err
		}
	}
	if strings.TrimSpace(groups) != "" {
		gs, err := ParseGroupList(groups)
		if err != nil {
			return Policy{}, nil, err
		}
		for _, g := range gs {
			p.Groups = append(p.Groups, g.ID)
		}
	}
	if p.MinVersion, err = ParseVersion(minVersion); err != nil {
		return Policy{}, nil, err
	}
	warnings, err := p.Validate()
	return p, warnings, err
}

// ParseVersion parses "1.2", "1.3", "TLS1.2", "tls13" and the like. The empty
// string is 0 (the default).
func ParseVersion(s string) (uint16, error) {
	switch strings.NewReplacer("tls", "", "v", "", "_", "", ".", "", " ", "").Replace(strings.ToLower(s)) {
	case "":
		return 0, nil
	case "12":
		return tls.VersionTLS12, nil
	case "13":
		return tls.VersionTLS13, nil
	case "10", "11":
		return 0, configErrorf("version", "TLS version %q is not allowed: pqtls supports TLS 1.2 and 1.3 only; use 1.3 (default) or 1.2", s)
	}
	return 0, configErrorf("version", "unknown TLS version %q: use 1.3 (default) or 1.2", s)
}

var versionName = map[uint16]string{
	tls.VersionTLS10: "TLS 1.0", tls.VersionTLS11: "TLS 1.1", tls.VersionTLS12: "TLS 1.2", tls.VersionTLS13: "TLS 1.3",
	0: "none",
}

// VersionName returns "TLS 1.3" style names, "none" for 0 and the
// hexadecimal value for anything else.
func VersionName(v uint16) string {
	if n, ok := versionName[v]; ok {
		return n
	}
	return fmt.Sprintf("0x%04x", v)
}

// EffectiveMode returns the mode parsed by ParseMode: the empty mode is
// prefer, "REQUIRE" is require. An invalid mode is returned as written (it
// matches no mode constant); Validate reports it.
func (p Policy) EffectiveMode() Mode {
	m, err := ParseMode(string(p.Mode))
	if err != nil {
		return p.Mode
	}
	return m
}

// EffectiveGroups returns the groups the policy offers, in order.
func (p Policy) EffectiveGroups() []tls.CurveID {
	if len(p.Groups) > 0 {
		return slices.Clone(p.Groups)
	}
	return DefaultGroups(p.EffectiveMode())
}

// HybridGroups returns the hybrid groups the policy offers, in order.
func (p Policy) HybridGroups() []tls.CurveID {
	var out []tls.CurveID
	for _, id := range p.EffectiveGroups() {
		if IsHybrid(id) {
			out = append(out, id)
		}
	}
	return out
}

// EffectiveMinVersion returns the minimum TLS version: MinVersion, or by
// default TLS 1.3 in require and TLS 1.2 in prefer and classical.
func (p Policy) EffectiveMinVersion() uint16 {
	if p.MinVersion == 0 {
		if p.EffectiveMode() == ModeRequire {
			return tls.VersionTLS13
		}
		return tls.VersionTLS12
	}
	return p.MinVersion
}

// EffectiveMaxVersion returns the maximum TLS version (default TLS 1.3).
func (p Policy) EffectiveMaxVersion() uint16 {
	if p.MaxVersion == 0 {
		return tls.VersionTLS13
	}
	return p.MaxVersion
}

// Validate checks the policy. It returns an error for a policy that cannot
// work or contradicts its mode (require without a hybrid group, classical with
// a hybrid group, a group Go cannot negotiate, versions out of order), and
// warnings for a policy that works but silently loses post-quantum protection
// (an explicit prefer list without a hybrid group, TLS 1.2 allowed).
func (p Policy) Validate() (warnings []string, err error) {
	mode, err := ParseMode(string(p.Mode))
	if err != nil {
		return nil, err
	}
	auth, err := ParseAuth(string(p.Auth))
	if err != nil {
		return nil, err
	}
	seen := map[tls.CurveID]bool{}
	for _, id := range p.Groups {
		g, ok := LookupGroup(id)
		if !ok {
			return nil, configErrorf("policy", "group %s is not in the pqtls registry: run 'pqtls groups' for valid names", GroupName(id))
		}
		if !g.GoSupported {
			return nil, configErrorf("policy", "group %s cannot be negotiated by Go's crypto/tls: use one of %s", g.Name, groupNames2(goGroups()))
		}
		if seen[id] {
			return nil, configErrorf("policy", "group %s is listed twice: remove the duplicate", g.Name)
		}
		seen[id] = true
	}
	minV, maxV := p.EffectiveMinVersion(), p.EffectiveMaxVersion()
	for _, v := range []uint16{minV, maxV} {
		if v != tls.VersionTLS12 && v != tls.VersionTLS13 {
			return nil, configErrorf("version", "TLS version %s is not allowed: use 1.3 (default) or 1.2", VersionName(v))
		}
	}
	if minV > maxV {
		return nil, configErrorf("version", "minimum TLS version %s is above maximum %s: raise the maximum or lower the minimum", VersionName(minV), VersionName(maxV))
	}
	if w, err := p.validateAuth(mode, auth, maxV); err != nil {
		return nil, err
	} else if w != "" {
		warnings = append(warnings, w)
	}
	switch mode {
	case ModeRequire:
		var classical []string
		for _, id := range p.Groups {
			if !IsHybrid(id) {
				classical = append(classical, GroupName(id))
			}
		}
		if len(classical) > 0 {
			return nil, configErrorf("policy", "policy require offers hybrid groups only, but the list has %s: remove them, or use policy prefer to keep a classical fallback", strings.Join(classical, ", "))
		}
		if maxV < tls.VersionTLS13 {
			return nil, configErrorf("policy", "policy require needs TLS 1.3 (hybrid groups exist only in TLS 1.3): set the maximum version to 1.3")
		}
		if minV < tls.VersionTLS13 {
			return nil, configErrorf("policy", "policy require needs TLS 1.3 as the minimum (a TLS 1.2 handshake can never be hybrid): remove the 1.2 minimum, or use policy prefer")
		}
	case ModeClassical:
		for _, id := range p.Groups {
			if IsHybrid(id) {
				return nil, configErrorf("policy", "policy classical offers classical groups only, but the list has %s: remove it, or use policy prefer", GroupName(id))
			}
		}
	case ModePrefer:
		if len(p.Groups) > 0 && len(p.HybridGroups()) == 0 {
			warnings = append(warnings, "policy prefer with a group list that has no hybrid group: this configuration never negotiates post-quantum key exchange; add X25519MLKEM768 first, or say policy classical if that is intended")
		}
		if maxV < tls.VersionTLS13 {
			warnings = append(warnings, "maximum TLS version 1.2: hybrid groups exist only in TLS 1.3, so this configuration never negotiates post-quantum key exchange")
		}
	}
	return warnings, nil
}

// validateAuth checks the authentication mode against the rest of the
// policy: ML-DSA exists only in TLS 1.3, and cnsa2 sets its own groups.
func (p Policy) validateAuth(mode Mode, auth AuthMode, maxV uint16) (warning string, err error) {
	switch {
	case auth == AuthAny:
		return "", nil
	case auth == AuthCNSA2 && (len(p.Groups) > 0 || mode == ModeClassical):
		return "", configErrorf("auth", "auth cnsa2 sets the key-exchange groups itself (MLKEM1024, then SecP384r1MLKEM1024): remove the group list and policy classical")
	case maxV < tls.VersionTLS13 && auth == AuthPreferPQ:
		return "maximum TLS version 1.2: ML-DSA certificates exist only in TLS 1.3, so auth prefer-pq never presents one", nil
	case maxV < tls.VersionTLS13:
		return "", configErrorf("auth", "auth %s needs TLS 1.3 (ML-DSA exists only in TLS 1.3): set the maximum version to 1.3", auth)
	}
	return "", nil
}

// String returns a short description such as "require [X25519MLKEM768 SecP256r1MLKEM768] TLS 1.3".
func (p Policy) String() string {
	names := make([]string, 0, len(p.EffectiveGroups()))
	for _, id := range p.EffectiveGroups() {
		names = append(names, GroupName(id))
	}
	v := VersionName(p.EffectiveMinVersion())
	if p.EffectiveMinVersion() != p.EffectiveMaxVersion() {
		v += "-" + strings.TrimPrefix(VersionName(p.EffectiveMaxVersion()), "TLS ")
	}
	s := fmt.Sprintf("%s [%s] %s", p.EffectiveMode(), strings.Join(names, " "), v)
	if a, err := ParseAuth(string(p.Auth)); err == nil && a != AuthAny {
		s += " auth " + string(a)
	}
	return s
}

package pqtls

import (
	"crypto/tls"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Kind classifies a named group by the kind of key exchange it performs. The
// values are also the `kind` label of every pqtls metric.
type Kind string

// Group kinds.
const (
	// KindClassical is an elliptic-curve or finite-field Diffie-Hellman group.
	KindClassical Kind = "classical"
	// KindHybrid combines a classical group with ML-KEM (FIPS 203).
	KindHybrid Kind = "hybrid"
	// KindPQ is a pure ML-KEM group, with no classical component.
	KindPQ Kind = "pq"
	// KindDraft is an obsolete pre-standard Kyber draft codepoint. It is never
	// counted as post-quantum ready and should be removed from configurations.
	KindDraft Kind = "draft"
	// KindUnknown is any codepoint that is not in the registry.
	KindUnknown Kind = "unknown"
)

// Family is how a group computes its shared secret; key-share generators in
// internal/wire are keyed by it.
type Family string

// Group families.
const (
	// FamilyECDH is elliptic-curve Diffie-Hellman (x25519, x448, NIST curves).
	FamilyECDH Family = "ecdh"
	// FamilyFFDHE is finite-field Diffie-Hellman (RFC 7919 groups).
	FamilyFFDHE Family = "ffdhe"
	// FamilyMLKEM is pure ML-KEM (FIPS 203).
	FamilyMLKEM Family = "mlkem"
	// FamilyHybrid concatenates an ECDH and a KEM share (Components).
	FamilyHybrid Family = "hybrid"
)

// LabelUnknown is the metric label of a group that is not in the registry,
// so that metric label cardinality stays bounded.
const LabelUnknown = "unknown"

// Group describes one TLS named group (RFC 8446 section 4.2.7).
type Group struct {
	// ID is the IANA codepoint.
	ID tls.CurveID
	// Name is the IANA name, e.g. "X25519MLKEM768".
	Name string
	// Label is the Prometheus label value, e.g. "x25519_mlkem768".
	Label string
	// Kind is classical, hybrid, pq or draft.
	Kind Kind
	// Aliases are other accepted input names (OpenSSL, Go, NIST names).
	Aliases []string
	// ClientShareSize is the size in bytes of the key_exchange field of the
	// client's key_share entry for this group.
	ClientShareSize int
	// ServerShareSize is the size in bytes of the server's key_exchange field.
	ServerShareSize int
	// GoSupported reports whether Go's crypto/tls can negotiate this group.
	GoSupported bool
	// Family is ecdh, ffdhe, mlkem or hybrid.
	Family Family
	// ClassicalBits is the security, in bits, against a classical
	// adversary: the ECDH or FFDHE strength (RFC 7919 appendix A for
	// ffdhe), the ML-KEM category's AES equivalent for pure ML-KEM, and for a
	// hybrid the stronger of its parts.
	ClassicalBits int
	// NISTLevel is the NIST post-quantum security category (FIPS 203: 1 for
	// ML-KEM-512, 3 for ML-KEM-768, 5 for ML-KEM-1024), 0 for a group with
	// no standard post-quantum component (classical groups, and the
	// obsolete Kyber drafts, which are never counted as post-quantum).
	NISTLevel int
	// GODEBUG is the GODEBUG setting that disables the group in Go
	// (tlsmlkem, tlssecpmlkem), or empty.
	GODEBUG string
	// GoVersion is the first Go release whose crypto/tls negotiates the
	// group by default, or empty when the running toolchain cannot.
	GoVersion string
	// Components are, for a hybrid, its parts in key-share order (the
	// classical part may be a curve outside the registry, e.g. curveSM2
	// 0x0029); nil otherwise.
	Components []tls.CurveID
}

// PostQuantum reports whether the group protects the shared secret against a
// quantum adversary (hybrid or pure ML-KEM). Obsolete drafts are not counted.
func (g Group) PostQuantum() bool { return g.Kind == KindHybrid || g.Kind == KindPQ }

// String returns the IANA name.
func (g Group) String() string { return g.Name }

// registry is ordered by codepoint. Key-share sizes: ML-KEM-768 encapsulation
// key 1184 / ciphertext 1088 bytes, ML-KEM-1024 1568 / 1568, ML-KEM-512 800 /
// 768 (FIPS 203); uncompressed P-256 point 65, P-384 97, P-521 133 bytes.
// Hybrid shares concatenate as in draft-ietf-tls-ecdhe-mlkem (X25519MLKEM768
// puts ML-KEM first).
var registry = []Group{
	{ID: 0x0017, Name: "secp256r1", Label: "secp256r1", Kind: KindClassical, Aliases: []string{"P-256", "P256", "prime256v1", "CurveP256"}, ClientShareSize: 65, ServerShareSize: 65, GoSupported: true, Family: FamilyECDH, ClassicalBits: 128, GoVersion: "1.0"},
	{ID: 0x0018, Name: "secp384r1", Label: "secp384r1", Kind: KindClassical, Aliases: []string{"P-384", "P384", "CurveP384"}, ClientShareSize: 97, ServerShareSize: 97, GoSupported: true, Family: FamilyECDH, ClassicalBits: 192, GoVersion: "1.0"},
	{ID: 0x0019, Name: "secp521r1", Label: "secp521r1", Kind: KindClassical, Aliases: []string{"P-521", "P521", "CurveP521"}, ClientShareSize: 133, ServerShareSize: 133, GoSupported: true, Family: FamilyECDH, ClassicalBits: 256, GoVersion: "1.0"},
	{ID: 0x001D, Name: "x25519", Label: "x25519", Kind: KindClassical, Aliases: []string{"X25519", "curve25519"}, ClientShareSize: 32, ServerShareSize: 32, GoSupported: true, Family: FamilyECDH, ClassicalBits: 128, GoVersion: "1.8"},
	{ID: 0x001E, Name: "x448", Label: "x448", Kind: KindClassical, Aliases: []string{"X448", "curve448"}, ClientShareSize: 56, ServerShareSize: 56, Family: FamilyECDH, ClassicalBits: 224},
	{ID: 0x0100, Name: "ffdhe2048", Label: "ffdhe2048", Kind: KindClassical, ClientShareSize: 256, ServerShareSize: 256, Family: FamilyFFDHE, ClassicalBits: 103},
	{ID: 0x0101, Name: "ffdhe3072", Label: "ffdhe3072", Kind: KindClassical, ClientShareSize: 384, ServerShareSize: 384, Family: FamilyFFDHE, ClassicalBits: 125},
	{ID: 0x0102, Name: "ffdhe4096", Label: "ffdhe4096", Kind: KindClassical, ClientShareSize: 512, ServerShareSize: 512, Family: FamilyFFDHE, ClassicalBits: 150},
	{ID: 0x0103, Name: "ffdhe6144", Label: "ffdhe6144", Kind: KindClassical, ClientShareSize: 768, ServerShareSize: 768, Family: FamilyFFDHE, ClassicalBits: 175},
	{ID: 0x0104, Name: "ffdhe8192", Label: "ffdhe8192", Kind: KindClassical, ClientShareSize: 1024, ServerShareSize: 1024, Family: FamilyFFDHE, ClassicalBits: 192},
	{ID: 0x0200, Name: "MLKEM512", Label: "mlkem512", Kind: KindPQ, Aliases: []string{"ML-KEM-512"}, ClientShareSize: 800, ServerShareSize: 768, Family: FamilyMLKEM, ClassicalBits: 128, NISTLevel: 1},
	{ID: 0x0201, Name: "MLKEM768", Label: "mlkem768", Kind: KindPQ, Aliases: []string{"ML-KEM-768"}, ClientShareSize: 1184, ServerShareSize: 1088, Family: FamilyMLKEM, ClassicalBits: 192, NISTLevel: 3},
	{ID: 0x0202, Name: "MLKEM1024", Label: "mlkem1024", Kind: KindPQ, Aliases: []string{"ML-KEM-1024"}, ClientShareSize: 1568, ServerShareSize: 1568, Family: FamilyMLKEM, ClassicalBits: 256, NISTLevel: 5},
	{ID: 0x11EB, Name: "SecP256r1MLKEM768", Label: "secp256r1_mlkem768", Kind: KindHybrid, Aliases: []string{"P256MLKEM768", "p256_mlkem768"}, ClientShareSize: 65 + 1184, ServerShareSize: 65 + 1088, GoSupported: true, Family: FamilyHybrid, ClassicalBits: 192, NISTLevel: 3, GODEBUG: "tlssecpmlkem", GoVersion: "1.26", Components: []tls.CurveID{tls.CurveP256, 0x0201}},
	{ID: 0x11EC, Name: "X25519MLKEM768", Label: "x25519_mlkem768", Kind: KindHybrid, ClientShareSize: 1184 + 32, ServerShareSize: 1088 + 32, GoSupported: true, Family: FamilyHybrid, ClassicalBits: 192, NISTLevel: 3, GODEBUG: "tlsmlkem", GoVersion: "1.24", Components: []tls.CurveID{0x0201, tls.X25519}},
	{ID: 0x11ED, Name: "SecP384r1MLKEM1024", Label: "secp384r1_mlkem1024", Kind: KindHybrid, Aliases: []string{"P384MLKEM1024", "p384_mlkem1024"}, ClientShareSize: 97 + 1568, ServerShareSize: 97 + 1568, GoSupported: true, Family: FamilyHybrid, ClassicalBits: 256, NISTLevel: 5, GODEBUG: "tlssecpmlkem", GoVersion: "1.26", Components: []tls.CurveID{tls.CurveP384, 0x0202}},
	{ID: 0x11EE, Name: "curveSM2MLKEM768", Label: "curvesm2_mlkem768", Kind: KindHybrid, Aliases: []string{"SM2MLKEM768"}, ClientShareSize: 65 + 1184, ServerShareSize: 65 + 1088, Family: FamilyHybrid, ClassicalBits: 192, NISTLevel: 3, Components: []tls.CurveID{0x0029, 0x0201}},
	{ID: 0x6399, Name: "X25519Kyber768Draft00", Label: "x25519_kyber768_draft00", Kind: KindDraft, Aliases: []string{"X25519Kyber768", "x25519_kyber768"}, ClientShareSize: 32 + 1184, ServerShareSize: 32 + 1088, Family: FamilyHybrid, ClassicalBits: 192, Components: []tls.CurveID{tls.X25519, 0x0201}},
	{ID: 0x639A, Name: "SecP256r1Kyber768Draft00", Label: "secp256r1_kyber768_draft00", Kind: KindDraft, Aliases: []string{"P256Kyber768Draft00", "p256_kyber768"}, ClientShareSize: 65 + 1184, ServerShareSize: 65 + 1088, Family: FamilyHybrid, ClassicalBits: 192, Components: []tls.CurveID{tls.CurveP256, 0x0201}},
}

var (
	byID   = map[tls.CurveID]int{}
	byName = map[string]int{} // lower-case name, label and aliases
)

func init() {
	for i, g := range registry {
		byID[g.ID] = i
		for _, n := range append([]string{g.Name, g.Label, fmt.Sprintf("0x%04x", uint16(g.ID))}, g.Aliases...) {
			byName[strings.ToLower(n)] = i
		}
	}
}

// Groups returns every registered group, ordered by codepoint. The slice is a
// copy; callers may modify it.
func Groups() []Group {
	out := make([]Group, len(registry))
	copy(out, registry)
	return out
}

// LookupGroup returns the registered group with the given codepoint.
func LookupGroup(id tls.CurveID) (Group, bool) {
	i, ok := byID[id]
	if !ok {
		return Group{}, false
	}
	return registry[i], true
}

// GroupLabel returns the metric label of a codepoint, or "unknown" for a
// codepoint outside the registry.
func GroupLabel(id tls.CurveID) string {
	if g, ok := LookupGroup(id); ok {
		return g.Label
	}
	return LabelUnknown
}

// GroupKind returns the kind of a codepoint, or KindUnknown.
func GroupKind(id tls.CurveID) Kind {
	if g, ok := LookupGroup(id); ok {
		return g.Kind
	}
	return KindUnknown
}

// GroupName returns the IANA name of a codepoint, or its hexadecimal value
// (e.g. "0x1234") when it is not in the registry.
func GroupName(id tls.CurveID) string {
	if g, ok := LookupGroup(id); ok {
		return g.Name
	}
	return fmt.Sprintf("0x%04x", uint16(id))
}

// IsHybrid reports whether the codepoint is a registered hybrid group.
func IsHybrid(id tls.CurveID) bool { return GroupKind(id) == KindHybrid }

// ParseGroup resolves a group name, alias, metric label or codepoint (decimal
// or 0x-prefixed hexadecimal), case-insensitively. An unknown name is an error
// that lists the closest valid names.
func ParseGroup(s string) (Group, error) {
	key := strings.ToLower(strings.TrimSpace(s))
	if key == "" {
		return Group{}, configErrorf("groups", "empty group name: use one of %s", strings.Join(groupNames(), ", "))
	}
	if i, ok := byName[key]; ok {
		return registry[i], nil
	}
	if n, err := strconv.ParseUint(key, 0, 16); err == nil {
		if g, ok := LookupGroup(tls.CurveID(n)); ok {
			return g, nil
		}
		return Group{}, configErrorf("groups", "group codepoint %#04x is not in the pqtls registry; run 'pqtls groups' for the list", n)
	}
	return Group{}, configErrorf("groups", "unknown group %q: did you mean %s? ('pqtls groups' lists them all)", s, strings.Join(closestNames(key, 3), ", "))
}

// ParseGroupList parses a comma-, colon- or space-separated list of group
// names (the OpenSSL "X25519MLKEM768:X25519" form works too). Duplicates are an
// error.
func ParseGroupList(s string) ([]Group, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ':' || r == ' ' || r == '\t' })
	if len(fields) == 0 {
		return nil, configErrorf("groups", "empty group list: name at least one group, e.g. X25519MLKEM768,X25519")
	}
	seen := map[tls.CurveID]bool{}
	out := make([]Group, 0, len(fields))
	for _, f := range fields {
		g, err := ParseGroup(f)
		if err != nil {
			return nil, err
		}
		if seen[g.ID] {
			return nil, configErrorf("groups", "group %s is listed twice: remove the duplicate", g.Name)
		}
		seen[g.ID] = true
		out = append(out, g)
	}
	return out, nil
}

func groupNames() []string {
	out := make([]string, len(registry))
	for i, g := range registry {
		out[i] = g.Name
	}
	return out
}

// closestNames returns up to n registry names nearest to key by edit distance
// over names, labels and aliases.
func closestNames(key string, n int) []string {
	type cand struct {
		name string
		d    int
	}
	best := map[string]int{}
	for name, i := range byName {
		d := editDistance(key, name)
		g := registry[i].Name
		if old, ok := best[g]; !ok || d < old {
			best[g] = d
		}
	}
	cands := make([]cand, 0, len(best))
	for name, d := range best {
		cands = append(cands, cand{name, d})
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].d != cands[j].d {
			return cands[i].d < cands[j].d
		}
		return cands[i].name < cands[j].name
	})
	out := []string{}
	for i := 0; i < len(cands) && i < n; i++ {
		out = append(out, cands[i].name)
	}
	return out
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

package canary

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
)

// Case names, in the order they run and are reported.
const (
	CaseClassical         = "classical"
	CaseHybrid            = "hybrid"
	CaseHybridSplitTCP    = "hybrid-split-tcp"
	CaseHybridSplitRecord = "hybrid-split-records"
	CaseHybridP384        = "hybrid-p384"
	CaseHybridPad4K       = "hybrid-pad-4k"
	CaseHybridPad16K      = "hybrid-pad-16k"
	CaseHybridHRR         = "hybrid-hrr"
	CaseFullClassical     = "handshake-classical"
	CaseFullHybrid        = "handshake-hybrid"
)

// Case kinds.
const (
	// KindCrafted is a ClientHello built with internal/wire; the attempt
	// stops at the server's first answer.
	KindCrafted = "crafted"
	// KindHandshake is a complete handshake with Go's crypto/tls client.
	KindHandshake = "handshake"
)

// caseSpec describes one case of the matrix.
type caseSpec struct {
	name        string
	description string
	kind        string
	// hybrid: the case offers a hybrid group first (it answers "does hybrid
	// work"); false for the classical baselines.
	hybrid bool
	// critical: a failure makes hybrid unsafe on this path. Non-critical
	// cases (larger than today's hybrids) only add warnings.
	critical bool
	groups   []tls.CurveID
	shares   []tls.CurveID
	padTo    int
	// splitTCP: write the records in two TCP segments with a pause.
	splitTCP bool
	// records: split the handshake message over this many TLS records.
	records int
	// hrr: on a HelloRetryRequest, send the second ClientHello and count
	// the case as ok only when the ServerHello follows.
	hrr bool
}

var (
	// Every case also lists the classical groups a real client offers, so
	// that a server restricted to one curve (PostgreSQL's default
	// ssl_ecdh_curve is prime256v1) still answers, with a HelloRetryRequest.
	classicalGroups = []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384}
	hybridGroups    = []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, tls.CurveP384}
	hybridShares    = []tls.CurveID{tls.X25519MLKEM768, tls.X25519}
	allCases        = []caseSpec{
		{name: CaseClassical, kind: KindCrafted, critical: true,
			description: "classical baseline: X25519 key share only, small ClientHello",
			groups:      classicalGroups, shares: []tls.CurveID{tls.X25519}},
		{name: CaseHybrid, kind: KindCrafted, hybrid: true, critical: true,
			description: "X25519MLKEM768 + X25519 key shares, written at once",
			groups:      hybridGroups, shares: hybridShares},
		{name: CaseHybridSplitTCP, kind: KindCrafted, hybrid: true, critical: true, splitTCP: true,
			description: "same ClientHello in two TCP segments (TCP_NODELAY, pause between): the single-read bug",
			groups:      hybridGroups, shares: hybridShares},
		{name: CaseHybridSplitRecord, kind: KindCrafted, hybrid: true, critical: true, records: 3,
			description: "same ClientHello split across 3 TLS records (record-layer fragmentation)",
			groups:      hybridGroups, shares: hybridShares},
		{name: CaseHybridP384, kind: KindCrafted, hybrid: true,
			description: "SecP384r1MLKEM1024 + X25519 key shares (~1.9 KB)",
			groups:      []tls.CurveID{tls.SecP384r1MLKEM1024, tls.X25519, tls.CurveP256, tls.CurveP384}, shares: []tls.CurveID{tls.SecP384r1MLKEM1024, tls.X25519}},
		{name: CaseHybridPad4K, kind: KindCrafted, hybrid: true, padTo: 4096,
			description: "hybrid ClientHello padded to 4 KB",
			groups:      hybridGroups, shares: hybridShares},
		{name: CaseHybridPad16K, kind: KindCrafted, hybrid: true, padTo: 16384,
			description: "hybrid ClientHello padded to 16 KB",
			groups:      hybridGroups, shares: hybridShares},
		{name: CaseHybridHRR, kind: KindCrafted, hybrid: true, critical: true, hrr: true,
			description: "hybrid advertised, only an X25519 share sent: a PQ-preferring server asks again (HelloRetryRequest)",
			groups:      hybridGroups, shares: []tls.CurveID{tls.X25519}},
		{name: CaseFullClassical, kind: KindHandshake, critical: true,
			description: "full handshake, Go crypto/tls client, classical groups (X25519, P-256, P-384)",
			groups:      classicalGroups},
		{name: CaseFullHybrid, kind: KindHandshake, hybrid: true, critical: true,
			description: "full handshake, Go crypto/tls client, X25519MLKEM768 first, then the classical groups",
			groups:      hybridGroups},
	}
)

// CaseNames returns the names of every case, in run order.
func CaseNames() []string {
	out := make([]string, len(allCases))
	for i, c := range allCases {
		out[i] = c.name
	}
	return out
}

// selectCases returns the cases named (all when names is empty), in run
// order. The classical baselines are always included: without them no
// verdict can tell a broken path from a broken server.
func selectCases(names []string) ([]caseSpec, error) {
	if len(names) == 0 {
		return slices.Clone(allCases), nil
	}
	want := map[string]bool{CaseClassical: true, CaseFullClassical: true}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if !slices.Contains(CaseNames(), n) {
			return nil, fmt.Errorf("unknown case %q: choose among %s", n, strings.Join(CaseNames(), ", "))
		}
		want[n] = true
	}
	var out []caseSpec
	for _, c := range allCases {
		if want[c.name] {
			out = append(out, c)
		}
	}
	return out, nil
}

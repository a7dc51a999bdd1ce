package canary

import (
	"os"
	"strings"
	"testing"

	"github.com/pqtls/pqtls/internal/doccheck"
)

// synth builds a report where every case succeeded (n attempts, hybrid
// group for the hybrid cases) except the overrides, given as class counts.
func synth(n int, override map[string]map[string]int) *Report {
	r := &Report{Target: "db:5432"}
	for _, c := range allCases {
		cr := CaseResult{Name: c.name, Hybrid: c.hybrid, Critical: c.critical, Attempts: n, OK: n, Classes: map[string]int{ClassOK: n}, HelloBytes: 1447}
		cr.SelectedGroup, cr.SelectedKind = "x25519", "classical"
		if c.hybrid {
			cr.SelectedGroup, cr.SelectedKind = "X25519MLKEM768", "hybrid"
		}
		if cl, ok := override[c.name]; ok {
			cr.Classes, cr.OK = cl, cl[ClassOK]
			if cr.OK == 0 {
				cr.SelectedGroup, cr.SelectedKind = "", ""
			}
		}
		cr.Latency.Samples = cr.OK
		r.Cases = append(r.Cases, cr)
	}
	return r
}

func TestDecide(t *testing.T) {
	reached := map[string]bool{}
	for _, tc := range []struct {
		name     string
		override map[string]map[string]int
		want     string
		text     string
	}{
		{"all ok", nil, VerdictOK, "OK: hybrid works"},
		{"records only", map[string]map[string]int{CaseHybridSplitRecord: {ClassEOF: 4}}, VerdictRecordFragmentation, "several TLS records"},
		{"hrr only", map[string]map[string]int{CaseHybridHRR: {"alert:illegal_parameter": 4}}, VerdictHRRBroken, "HelloRetryRequest path fails"},
		{"split reset", map[string]map[string]int{CaseHybridSplitTCP: {ClassReset: 4}, CaseHybridSplitRecord: {ClassReset: 4}}, VerdictSplitHelloReset, "single read()"},
		{"reset at once", map[string]map[string]int{CaseHybrid: {ClassReset: 4}, CaseFullHybrid: {ClassEOF: 4}}, VerdictLargeHelloReset, "reset or closed"},
		{"timeouts", map[string]map[string]int{CaseHybrid: {ClassTimeout: 4}, CaseHybridSplitTCP: {ClassTimeout: 4}, CaseFullHybrid: {ClassTimeout: 4}}, VerdictLargeHelloDropped, "time out"},
		{"intermittent timeouts", map[string]map[string]int{CaseHybrid: {ClassOK: 3, ClassTimeout: 1}}, VerdictLargeHelloDropped, "failed intermittently"},
		{"alert", map[string]map[string]int{CaseHybrid: {"alert:decode_error": 4}, CaseFullHybrid: {"alert:decode_error": 4}}, VerdictHybridAlert, "alert"},
		{"not tls", map[string]map[string]int{CaseHybrid: {ClassUnexpected: 4}}, VerdictHybridUnexpected, "unexpected answer"},
		{"unstable", map[string]map[string]int{CaseClassical: {ClassOK: 2, ClassTimeout: 2}, CaseHybrid: {ClassOK: 3, ClassTimeout: 1}}, VerdictUnstable, "both fail intermittently"},
		{"unreachable", map[string]map[string]int{
			CaseClassical: {ClassConnectFailed: 4}, CaseFullClassical: {ClassConnectFailed: 4},
			CaseHybrid: {ClassConnectFailed: 4}, CaseHybridSplitTCP: {ClassConnectFailed: 4}, CaseHybridSplitRecord: {ClassConnectFailed: 4},
			CaseHybridHRR: {ClassConnectFailed: 4}, CaseFullHybrid: {ClassConnectFailed: 4},
		}, VerdictUnreachable, "even classical"},
		{"big hellos only", map[string]map[string]int{CaseHybridPad16K: {ClassTimeout: 4}, CaseHybridP384: {"alert:illegal_parameter": 4}}, VerdictOK, "OK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := decide(synth(4, tc.override), false)
			reached[v.Code] = true
			if v.Code != tc.want {
				t.Fatalf("code %s, want %s: %s", v.Code, tc.want, v.Summary)
			}
			if v.Safe != (tc.want == VerdictOK) {
				t.Errorf("safe = %v", v.Safe)
			}
			if !strings.Contains(v.Summary, tc.text) {
				t.Errorf("summary %q lacks %q", v.Summary, tc.text)
			}
			if len(v.Advice) == 0 {
				t.Error("no advice")
			}
		})
	}
	// Interrupted comes first, whatever the cases say.
	e := gather(synth(1, nil), false)
	e.Interrupted, e.Done, e.Total = true, 10, 30
	if v := decideEvidence(e); v.Code != VerdictInterrupted || v.Safe || !strings.Contains(v.Summary, "interrupted after 10 of 30 attempts") || !strings.Contains(v.Summary, "the cases above") {
		t.Errorf("interrupted: %+v", v)
	} else {
		reached[v.Code] = true
	}
	classical := synth(2, nil)
	for i := range classical.Cases {
		classical.Cases[i].SelectedGroup, classical.Cases[i].SelectedKind = "x25519", "classical"
	}
	reached[decide(classical, false).Code] = true
	// Every row of the table is reached by one of the reports above, and
	// no code appears twice.
	seen := map[string]bool{}
	for _, row := range Verdicts {
		if seen[row.Code] {
			t.Errorf("verdict %s has two rows", row.Code)
		}
		seen[row.Code] = true
		if !reached[row.Code] {
			t.Errorf("no test report reaches the verdict row %s", row.Code)
		}
	}
	if last := Verdicts[len(Verdicts)-1]; !last.Match(&Evidence{Report: &Report{}}) {
		t.Errorf("the last row (%s) must match everything", last.Code)
	}
	// Non-critical failures are warnings that name the case.
	v := decide(synth(4, map[string]map[string]int{CaseHybridPad16K: {ClassTimeout: 4}}), false)
	if len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], CaseHybridPad16K) {
		t.Errorf("warnings %q", v.Warnings)
	}
}

func TestDecideClassicalServer(t *testing.T) {
	r := synth(2, nil)
	for i := range r.Cases {
		r.Cases[i].SelectedGroup, r.Cases[i].SelectedKind = "secp256r1", "classical"
	}
	if v := decide(r, false); v.Code != VerdictHybridUnavailable || !v.Safe || !strings.Contains(v.Summary, "negotiated secp256r1") || !strings.Contains(v.Summary, "or not preferred") {
		t.Errorf("%+v", v)
	}
	if v := decide(r, true); v.Code != VerdictHybridUnavailable || v.Safe {
		t.Errorf("require-hybrid: %+v", v)
	}
	// A TLS 1.2-only server: the summary says why hybrid cannot happen.
	for i := range r.Cases {
		r.Cases[i].Version = "TLS 1.2"
	}
	if v := decide(r, false); v.Code != VerdictHybridUnavailable || !strings.Contains(v.Summary, "over TLS 1.2 (hybrid key exchange needs TLS 1.3)") {
		t.Errorf("TLS 1.2 server: %+v", v)
	}
}

// TestDecideP384OnlyServer: a server accepting only SecP384r1MLKEM1024
// fails every critical case (none offers that group) but answers
// hybrid-p384: the summary and advice must say so, not only "the path does
// not carry TLS".
func TestDecideP384OnlyServer(t *testing.T) {
	fail := map[string]int{"alert:handshake_failure": 2}
	over := map[string]map[string]int{}
	for _, c := range allCases {
		if c.name != CaseHybridP384 {
			over[c.name] = fail
		}
	}
	r := synth(2, over)
	for i := range r.Cases {
		if r.Cases[i].Name == CaseHybridP384 {
			r.Cases[i].SelectedGroup, r.Cases[i].HelloBytes = "SecP384r1MLKEM1024", 1896
		}
	}
	v := decide(r, false)
	if v.Code != VerdictUnreachable || v.Safe || !strings.Contains(v.Summary, "hybrid-p384 succeeded (SecP384r1MLKEM1024 negotiated, 1896-byte ClientHello)") ||
		!strings.Contains(v.Advice[0], "offer SecP384r1MLKEM1024") {
		t.Errorf("%+v", v)
	}
}

// TestSchemaDocumented checks that every JSON field of pqtls.canary/v1,
// every verdict code and every failure class is documented in
// docs/CANARY.md, so that the machine output stays a documented interface.
func TestSchemaDocumented(t *testing.T) {
	b, err := os.ReadFile("../docs/CANARY.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, f := range doccheck.Fields(Report{}, "json") {
		if !strings.Contains(doc, f.Name) {
			t.Errorf("JSON field %s%s is not documented in docs/CANARY.md", f.Path, f.Name)
		}
	}
	for _, row := range Verdicts {
		if !strings.Contains(doc, "| `"+row.Code+"` |") {
			t.Errorf("verdict %s is not in the verdict table of docs/CANARY.md", row.Code)
		}
	}
	for _, c := range []string{ClassOK, ClassTimeout, ClassReset, ClassEOF, ClassUnexpected, ClassConnectFailed, ClassCertificate} {
		if !strings.Contains(doc, "`"+c+"`") {
			t.Errorf("failure class %s is not documented in docs/CANARY.md", c)
		}
	}
	for _, name := range CaseNames() {
		if !strings.Contains(doc, "`"+name+"`") {
			t.Errorf("case %s is not documented in docs/CANARY.md", name)
		}
	}
}

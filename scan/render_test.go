package scan

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/doccheck"
)

func renderFixture(t *testing.T) *Report {
	t.Helper()
	var rs []Result
	add := func(in, addr string, v Verdict, level string, score int) *Result {
		specs, err := ParseTargetList(strings.NewReader(in), "t")
		if err != nil {
			t.Fatal(err)
		}
		ts, _ := Expand(specs, Options{}, Shard{}, 0)
		tg := ts[0]
		for _, x := range ts {
			if x.Address() == addr {
				tg = x
			}
		}
		rs = append(rs, Result{Target: tg, Address: addr, Verdict: v, Connections: 2, Priority: Priority{Level: level, Score: score, Rationale: "why " + addr},
			DefaultClient: &Handshake{Version: "TLS 1.3", Group: "X25519", CipherSuite: "TLS_AES_128_GCM_SHA256"},
			Certificates:  []CertInfo{{Subject: "CN=x"}}, VerifyError: "x509: certificate signed by unknown authority"})
		return &rs[len(rs)-1]
	}
	add("127.0.0.0/30:443", "127.0.0.2:443", VerdictClassical, "critical", 90)
	add("127.0.0.1:8443", "127.0.0.1:8443", VerdictPQReady, "low", 5)
	add("127.0.0.1:9443", "127.0.0.1:9443", VerdictClassical, "high", 70).Reason = "no hybrid group"
	add("127.0.0.1:9444", "127.0.0.1:9444", VerdictPQCapable, "medium", 40)
	return NewReport(rs, Options{Enumerate: true}, "test", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), 400*time.Millisecond)
}

// TestTableNamesAndSummary: a CIDR row shows its own address, an
// inventory entry keeps its port, "1 endpoint" is singular and durations
// read "0.4s".
func TestTableNamesAndSummary(t *testing.T) {
	rep := renderFixture(t)
	var b bytes.Buffer
	WriteTable(&b, rep, false)
	out := b.String()
	if !strings.Contains(out, "\n127.0.0.2:443 ") || strings.Contains(out, "127.0.0.0/30") {
		t.Errorf("CIDR row:\n%s", out)
	}
	if !strings.Contains(out, "4 endpoints: 1 pq_ready, 1 pq_capable, 2 classical; 8 connections in 0.4s") {
		t.Errorf("summary:\n%s", out)
	}
	one := NewReport(rep.Endpoints[1:2], Options{}, "t", time.Now(), 3*time.Millisecond)
	one.Endpoints[0].Connections = 1
	one.Summary = summarize(one.Endpoints, 3)
	b.Reset()
	WriteTable(&b, one, false)
	if !strings.Contains(b.String(), "1 endpoint: 1 pq_ready; 1 connection in 3ms") {
		t.Errorf("singular:\n%s", b.String())
	}
	specs, err := ParseInventory(strings.NewReader("endpoints:\n  - host: db.internal\n    port: 5432\n"), "inv.yaml")
	if err != nil || name(Result{Target: specs[0].Target}) != "db.internal:5432" {
		t.Errorf("inventory host+port entry named %q (%v)", name(Result{Target: specs[0].Target}), err)
	}
	for ms, want := range map[float64]string{0.2: "0ms", 42: "42ms", 400: "0.4s", 12_345: "12.3s", 125_000: "2m5s"} {
		if got := humanDuration(ms); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", ms, got, want)
		}
	}
}

// TestHTMLForAManager: a headline, a migrate-first view sorted by priority
// with the reason, no empty ALPN and no "chain verified false".
func TestHTMLForAManager(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, renderFixture(t)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "50 % of endpoints hybrid, 1 critical to migrate (2 of 4 hybrid; 1 high priority)") {
		t.Errorf("no headline")
	}
	mf := out[strings.Index(out, "<h2>Migrate first</h2>"):strings.Index(out, "<h2>Endpoints</h2>")]
	i90, i70, i40 := strings.Index(mf, "127.0.0.2:443"), strings.Index(mf, "127.0.0.1:9443"), strings.Index(mf, "127.0.0.1:9444")
	if i90 < 0 || i70 < i90 || i40 < i70 || strings.Contains(mf, "127.0.0.1:8443") || !strings.Contains(mf, "no hybrid group: why 127.0.0.1:9443") {
		t.Errorf("migrate-first view:\n%s", mf)
	}
	for _, bad := range []string{`ALPN &#34;&#34;`, `ALPN ""`, "chain verified", "false x509"} {
		if strings.Contains(out, bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
	if !strings.Contains(out, "not verified: x509: certificate signed by unknown authority") {
		t.Error("chain status missing")
	}
}

// TestSchemaDocumented checks that every JSON field of pqtls.scan/v1 is
// documented in docs/SCAN.md.
func TestSchemaDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/SCAN.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range doccheck.Fields(Report{}, "json") {
		if !strings.Contains(string(doc), "`"+f.Name+"`") {
			t.Errorf("JSON field %s%s is not documented in docs/SCAN.md", f.Path, f.Name)
		}
	}
	// The value tables: verdicts, CNSA 2.0 verdicts, --fail-on conditions and
	// preambles (auto is the default, not a table row).
	tables := map[string][]string{
		"the verdict table":      asStrings(Verdicts),
		"the CNSA 2.0 table":     asStrings(CNSA2Verdicts),
		"the --fail-on table":    FailOnConditions,
		"the STARTTLS preambles": asStrings(slices.DeleteFunc(slices.Clone(Protocols), func(p Protocol) bool { return p == ProtoAuto })),
	}
	for table, names := range tables {
		for _, n := range names {
			if !strings.Contains(string(doc), "| `"+n+"` |") {
				t.Errorf("%s is not in %s of docs/SCAN.md", n, table)
			}
		}
	}
}

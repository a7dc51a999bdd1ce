package scan

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
	"time"
)

// pqAuthReport is one endpoint with a classical chain for the default
// client and an ML-DSA-87 chain for ML-DSA clients (s_server -cert ECDSA
// -dcert ML-DSA-87), CNSA 2.0 ready.
func pqAuthReport() *Report {
	yes := true
	ml := []CertInfo{
		{Subject: "CN=leaf87", Issuer: "CN=ca87", SANs: []string{}, KeyType: "ML-DSA-87", PublicKeyAlgorithm: "ML-DSA-87", SignatureAlgorithm: "ML-DSA-87", PostQuantumSignature: true, SHA256: "aa", NotAfter: time.Unix(2e9, 0).UTC()},
		{Subject: "CN=ca87", Issuer: "CN=ca87", SANs: []string{}, KeyType: "ML-DSA-87", PublicKeyAlgorithm: "ML-DSA-87", SignatureAlgorithm: "ML-DSA-87", PostQuantumSignature: true, SHA256: "bb", NotAfter: time.Unix(2e9, 0).UTC()},
	}
	r := Result{Address: "127.0.0.1:443", Verdict: VerdictPQReady, Versions: []string{"TLS 1.3"},
		Certificates: []CertInfo{{Subject: "CN=p256", Issuer: "CN=p256", SANs: []string{}, KeyType: "ECDSA P-256", KeyBits: 256, PublicKeyAlgorithm: "ECDSA P-256", SignatureAlgorithm: "ECDSA-SHA256", SHA256: "cc", NotAfter: time.Unix(2e9, 0).UTC()}},
		MLDSA:        &MLDSAAuth{Capable: &yes, Outcome: "server_hello", Chains: []MLDSAChain{{Scheme: "mldsa87", CipherSuite: "TLS_AES_256_GCM_SHA384", Certificates: ml}}},
		CNSA2:        CNSA2{Verdict: CNSA2Ready, KeyExchange: []string{"MLKEM1024"}, MLDSA87Chain: true, CipherSuite: "TLS_AES_256_GCM_SHA384", AES256: true, Lacks: []string{}},
	}
	return NewReport([]Result{r}, Options{Enumerate: true}, "test", time.Unix(1.9e9, 0), time.Second)
}

// TestRenderPQAuth: every format carries the certificate algorithms, the
// ML-DSA capability and the CNSA 2.0 verdict.
func TestRenderPQAuth(t *testing.T) {
	rep := pqAuthReport()
	if rep.Summary.MLDSACapable != 1 || rep.Summary.CNSA2["ready"] != 1 || rep.Summary.CNSA2["unknown"] != 0 {
		t.Errorf("summary %+v", rep.Summary)
	}
	var tbl, h bytes.Buffer
	if err := WriteTable(&tbl, rep, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tbl.String(), "ML-DSA") || !strings.Contains(tbl.String(), "mldsa87") || !strings.Contains(tbl.String(), "ready") {
		t.Errorf("table:\n%s", tbl.String())
	}
	var c bytes.Buffer
	if err := WriteCSV(&c, rep); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&c).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	cell := func(name string) string { return rows[1][slices.Index(rows[0], name)] }
	if cell("cert_key_alg") != "ECDSA P-256" || cell("ml_dsa") != "true" || cell("ml_dsa_chain_sig_algs") != "mldsa87=ML-DSA-87|ML-DSA-87" || cell("cnsa2") != "ready" || cell("chain_sig_algs") != "ECDSA-SHA256" {
		t.Errorf("csv row %v", rows[1])
	}
	if err := WriteHTML(&h, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ML-DSA authentication", "mldsa87 chain (TLS_AES_256_GCM_SHA384)", "CNSA 2.0", "key ECDSA P-256 (ECDSA P-256 256 bits)"} {
		if !strings.Contains(h.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	bom := BuildCBOM(rep)
	levels := map[string]int{}
	certs := 0
	for _, comp := range bom.Components {
		cp := comp.CryptoProperties
		if cp.AlgorithmProperties != nil {
			levels[comp.Name] = cp.AlgorithmProperties.NISTQuantumSecurityLevel
		}
		if cp.AssetType == "certificate" {
			certs++
		}
	}
	if levels["ML-DSA-87"] != 5 || levels["ECDSA-SHA256"] != 0 || certs != 3 {
		t.Errorf("CBOM: levels %v, %d certificates (want ML-DSA-87 level 5, 3 certificates)", levels, certs)
	}
}

// TestFailOnCNSA2: ready and transitional pass; not_ready and unknown
// (never assessed) fail.
func TestFailOnCNSA2(t *testing.T) {
	conds, err := ParseFailOn(" CNSA2 ")
	if err != nil {
		t.Fatal(err)
	}
	var rs []Result
	for _, v := range CNSA2Verdicts {
		rs = append(rs, Result{Address: string(v), CNSA2: CNSA2{Verdict: v}})
	}
	out, _ := Offenders(rs, conds)
	var got []string
	for _, r := range out {
		got = append(got, r.Address)
	}
	if !slices.Equal(got, []string{"not_ready", "unknown"}) {
		t.Errorf("--fail-on cnsa2 matched %v, want not_ready and unknown", got)
	}
}

// TestDiffCNSA2: a CNSA 2.0 change shows in the diff's change text and
// sides; a report without the field (older pqtls) mentions nothing.
func TestDiffCNSA2(t *testing.T) {
	newRep := pqAuthReport()
	oldRep := pqAuthReport()
	oldRep.Endpoints[0].CNSA2 = CNSA2{Verdict: CNSA2NotReady}
	oldRep.Endpoints[0].MLDSA = nil
	d := Compare(oldRep, newRep, "old.json", "new.json")
	e := d.Endpoints[0]
	if !strings.HasSuffix(e.Change, "; cnsa2 not_ready -> ready") || e.Old.CNSA2 != CNSA2NotReady || e.New.CNSA2 != CNSA2Ready || e.New.MLDSA != "mldsa87" || e.Old.MLDSA != "" {
		t.Errorf("entry %+v old %+v new %+v", e, e.Old, e.New)
	}
	oldRep.Endpoints[0].CNSA2 = CNSA2{}
	if e := Compare(oldRep, newRep, "old.json", "new.json").Endpoints[0]; strings.Contains(e.Change, "cnsa2") {
		t.Errorf("change %q for a report without cnsa2", e.Change)
	}
}

package scan

import (
	"fmt"
	"strings"
	"time"
)

// mldsaCell is the table's ML-DSA cell: the schemes the server signs with
// ("mldsa87,mldsa65"), "yes" when capable but no chain was read, "no",
// "?" when the probe failed, "-" when it did not run (enumeration off).
func mldsaCell(r Result) string {
	a := r.MLDSA
	switch {
	case a == nil:
		return "-"
	case a.Capable == nil:
		return "?"
	case !*a.Capable:
		return "no"
	case len(a.Chains) == 0:
		return "yes"
	}
	s := make([]string, len(a.Chains))
	for i, c := range a.Chains {
		s[i] = c.Scheme
	}
	return strings.Join(s, ",")
}

// cnsa2Cell is the table's CNSA2 cell.
func cnsa2Cell(r Result) string { return string(cmpOr(r.CNSA2.Verdict, CNSA2Unknown)) }

// csvMLDSA is the CSV ml_dsa cell: true, false, or empty when unknown or
// not probed.
func csvMLDSA(r Result) string {
	if r.MLDSA == nil || r.MLDSA.Capable == nil {
		return ""
	}
	return fmt.Sprint(*r.MLDSA.Capable)
}

func leafKeyAlg(cs []CertInfo) string {
	if len(cs) == 0 {
		return ""
	}
	return cs[0].PublicKeyAlgorithm
}

// chainAlgs lists a chain's signature (sig) or public-key algorithms,
// leaf first, ";"-separated.
func chainAlgs(cs []CertInfo, sig bool) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.PublicKeyAlgorithm
		if sig {
			out[i] = c.SignatureAlgorithm
		}
	}
	return strings.Join(out, ";")
}

// mldsaChainAlgs is the CSV ml_dsa_chain_sig_algs cell: per ML-DSA chain
// "scheme=sig1|sig2", ";"-separated.
func mldsaChainAlgs(r Result) string {
	if r.MLDSA == nil {
		return ""
	}
	var out []string
	for _, c := range r.MLDSA.Chains {
		out = append(out, c.Scheme+"="+strings.ReplaceAll(chainAlgs(c.Certificates, true), ";", "|"))
	}
	return strings.Join(out, ";")
}

func certText(c CertInfo) string {
	return fmt.Sprintf("subject %s\nissuer %s\nSANs %s\nkey %s (%s %d bits), signature %s\nnot after %s",
		c.Subject, c.Issuer, strings.Join(c.SANs, ", "), c.PublicKeyAlgorithm, c.KeyType, c.KeyBits, c.SignatureAlgorithm, c.NotAfter.Format(time.RFC3339))
}

// mldsaText is the HTML detail of the ML-DSA probe.
func mldsaText(r Result) string {
	a := r.MLDSA
	if a == nil {
		return ""
	}
	s := "capable: " + mldsaCell(r) + " (" + a.Outcome + ")"
	for _, c := range a.Chains {
		s += fmt.Sprintf("\n%s chain (%s):", c.Scheme, c.CipherSuite)
		for i, ci := range c.Certificates {
			s += fmt.Sprintf("\n  %d. %s: key %s, signature %s", i, ci.Subject, ci.PublicKeyAlgorithm, ci.SignatureAlgorithm)
		}
	}
	if a.Error != "" {
		s += "\nerror: " + a.Error
	}
	return s
}

// cnsa2Text is the HTML detail of the CNSA 2.0 dimension.
func cnsa2Text(c CNSA2) string {
	if c.Verdict == "" {
		return ""
	}
	s := string(c.Verdict)
	if len(c.KeyExchange) > 0 {
		s += "\nkey exchange: " + strings.Join(c.KeyExchange, ", ")
	}
	s += fmt.Sprintf("\nML-DSA-87 chain: %v", c.MLDSA87Chain)
	if c.CipherSuite != "" {
		s += fmt.Sprintf("\ncipher suite (reported, not enforced): %s", c.CipherSuite)
	}
	if len(c.Lacks) > 0 {
		s += "\nlacks: " + strings.Join(c.Lacks, "; ")
	}
	return s
}

package lint

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// checkTerraform parses a Terraform (or OpenTofu) file with HCL's native
// syntax parser and checks the ELB listener resources (PQ601, PQ602).
// Positions come from the AST. A file that does not parse is one PQ000.
func checkTerraform(s *source) []Finding {
	f, diags := hclsyntax.ParseConfig(s.data, s.name, hcl.InitialPos)
	if diags.HasErrors() {
		d := diags[0]
		for _, x := range diags {
			if x.Severity == hcl.DiagError {
				d = x
				break
			}
		}
		off := 0
		if d.Subject != nil {
			off = d.Subject.Start.Byte
		}
		return []Finding{s.finding("PQ000", off, off, "cannot parse HCL, so it was not checked: "+d.Summary+": "+d.Detail, nil)}
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	var fs []Finding
	for _, b := range body.Blocks {
		if b.Type != "resource" || len(b.Labels) != 2 || !elbListenerTypes[b.Labels[0]] {
			continue
		}
		fs = append(fs, elbFindings(s, terraformListener(s, b))...)
	}
	return fs
}

// terraformListener reads protocol and ssl_policy of one resource block.
func terraformListener(s *source, b *hclsyntax.Block) elbListener {
	start := b.TypeRange.Start.Byte
	l := elbListener{what: b.Labels[0] + "." + b.Labels[1], first: start, firstEnd: lineEnd(s, start), insertAt: -1}
	if a, ok := b.Body.Attributes["protocol"]; ok {
		l.protocol, _ = hclLiteral(a.Expr)
		// The fix goes on the line after protocol, with its indentation.
		_, indent := lineStart(s, a.SrcRange.Start.Byte)
		l.insertAt = lineEnd(s, a.SrcRange.End.Byte)
		l.insert = func(p string) string { return "\n" + indent + `ssl_policy = "` + p + `"` }
	}
	if a, ok := b.Body.Attributes["ssl_policy"]; ok {
		l.hasPolicy = true
		var lit bool
		l.policy, lit = hclLiteral(a.Expr)
		r := a.Expr.Range()
		l.policyA, l.policyB = r.Start.Byte, r.End.Byte
		if lit && l.policyB-l.policyA >= 2 && s.data[l.policyA] == '"' {
			l.policyA, l.policyB = l.policyA+1, l.policyB-1
		}
	}
	return l
}

// hclLiteral returns the value of an expression that is a literal string
// ("HTTPS", not var.protocol or a function call).
func hclLiteral(e hclsyntax.Expression) (string, bool) {
	if len(e.Variables()) > 0 {
		return "", false
	}
	if _, isCall := e.(*hclsyntax.FunctionCallExpr); isCall {
		return "", false
	}
	v, diags := e.Value(nil)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return "", false
	}
	return strings.TrimSpace(v.AsString()), true
}

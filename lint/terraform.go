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
		if b.Type == "resource" && len(b.Labels) == 2 && elbListenerTypes[b.Labels[0]] {
			fs = append(fs, elbFindings(s, terraformListener(s, b))...)
		}
	}
	return append(fs, terraformPolicyLiterals(s, body)...)
}

// tfPolicyKeys are the attribute and object keys that carry a listener's
// security policy into a resource: module inputs (listeners = { https = {
// ssl_policy = "..." } }), locals, and conditional or coalesce() defaults.
var tfPolicyKeys = map[string]bool{"ssl_policy": true, "default_ssl_policy": true}

// terraformPolicyLiterals reports (PQ602) every classical ELBSecurityPolicy
// name written as a literal where a listener policy is set indirectly: in
// an ssl_policy attribute or object key anywhere (module arguments, locals,
// inside a conditional or a function call), and in the default of a
// variable whose name says it is an ssl_policy.
func terraformPolicyLiterals(s *source, body *hclsyntax.Body) []Finding {
	var fs []Finding
	var exprs []hclsyntax.Expression
	var walk func(b *hclsyntax.Body, policyVar bool)
	walk = func(b *hclsyntax.Body, policyVar bool) {
		for name, a := range b.Attributes {
			if tfPolicyKeys[name] || (policyVar && name == "default") {
				exprs = append(exprs, a.Expr)
				continue
			}
			exprs = append(exprs, objectPolicyValues(a.Expr)...)
		}
		for _, blk := range b.Blocks {
			walk(blk.Body, blk.Type == "variable" && len(blk.Labels) == 1 && strings.Contains(blk.Labels[0], "ssl_policy"))
		}
	}
	walk(body, false)
	for _, e := range exprs {
		hclsyntax.VisitAll(e, func(n hclsyntax.Node) hcl.Diagnostics {
			t, ok := n.(*hclsyntax.TemplateExpr)
			if !ok || len(t.Parts) != 1 {
				return nil
			}
			v, lit := hclLiteral(t)
			if !lit || !strings.HasPrefix(v, "ELBSecurityPolicy-") || strings.Contains(v, "-PQ-") {
				return nil
			}
			r := t.Range()
			a, b := r.Start.Byte, r.End.Byte
			if b-a >= 2 && s.data[a] == '"' {
				a, b = a+1, b-1
			}
			pq, lost := elbPQPolicy(v)
			desc, msg := "use "+pq, v+" is a load balancer security policy without hybrid post-quantum key exchange (only policies with -PQ- in their name offer X25519MLKEM768); a listener gets it through this value"
			if lost {
				desc += " (TLS 1.0/1.1 clients lose access)"
				msg += "; the matching PQ policy drops TLS 1.0/1.1"
			}
			fs = append(fs, s.finding("PQ602", a, b, msg, s.replace(desc, a, b, pq)))
			return nil
		})
	}
	return fs
}

// objectPolicyValues returns the values of ssl_policy keys in the object
// constructors inside e (module inputs such as listeners = { ... }).
func objectPolicyValues(e hclsyntax.Expression) []hclsyntax.Expression {
	var out []hclsyntax.Expression
	objectItems(e, func(key string, val hclsyntax.Expression) {
		if tfPolicyKeys[key] {
			out = append(out, val)
		}
	})
	return out
}

// objectItems calls f with the key (a bare word or a literal string; ""
// otherwise) and the value of every item of the object constructors
// inside e.
func objectItems(e hclsyntax.Expression, f func(key string, val hclsyntax.Expression)) {
	hclsyntax.VisitAll(e, func(n hclsyntax.Node) hcl.Diagnostics {
		o, ok := n.(*hclsyntax.ObjectConsExpr)
		if !ok {
			return nil
		}
		for _, it := range o.Items {
			k, ok := it.KeyExpr.(*hclsyntax.ObjectConsKeyExpr)
			if !ok {
				continue
			}
			key := hcl.ExprAsKeyword(k.Wrapped)
			if key == "" {
				key, _ = hclLiteral(k.Wrapped)
			}
			f(key, it.ValueExpr)
		}
		return nil
	})
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

package lint

import (
	"bytes"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"go.yaml.in/yaml/v3"
)

// Managed TLS terminators other than AWS load balancers (issue 18): a rule
// exists only where the provider's own documentation names the setting
// that gives (or takes away) hybrid key exchange. docs/LINT.md lists the
// providers without such a setting ("unsupported, track it").

// --- PQ603: Google Cloud SSL policies, any format ---

var (
	gcpPQDeferred = regexp.MustCompile(`(?i)(?:\bpost_?quantum_?key_?exchange["']?\s*[:=]\s*(?:pulumi\.String\(\s*)?["']?|--post-quantum-key-exchange[= ]["']?)(deferred)\b`)
	lineGCPPQ     = lineChecker("gcp-ssl-policy", ruleGCPPQ)
)

// ruleGCPPQ is PQ603.
func ruleGCPPQ(s *source, _, base int, code string, _ []string) []Finding {
	m := gcpPQDeferred.FindStringSubmatchIndex(code)
	if m == nil {
		return nil
	}
	val := code[m[2]:m[3]]
	enabled := "ENABLED"
	if val == strings.ToLower(val) {
		enabled = "enabled"
	}
	return []Finding{s.finding("PQ603", base+m[0], base+m[3],
		"Google Cloud SSL policy post-quantum key exchange "+val+": the load balancer disallows X25519MLKEM768 until October 2027 (ENABLED allows it now; DEFAULT has allowed it since October 2026)",
		s.replace("allow X25519MLKEM768 now", base+m[2], base+m[3], enabled))}
}

// --- Terraform resources of managed terminators (PQ604, PQ605) ---

var cloudTerraform = &checker{name: "terraform-cloud", run: func(s *source, _ *checkEnv) []Finding { return checkCloudTerraform(s) }}

// cloudResources maps a Terraform resource type to its check.
var cloudResources = map[string]func(s *source, b *hclsyntax.Block) []Finding{
	"cloudflare_zone_setting":           cloudflareZoneSetting,
	"cloudflare_zone_settings_override": cloudflareSettingsOverride,
	"aws_api_gateway_domain_name":       apiGatewayPolicy,
	"aws_api_gateway_rest_api":          apiGatewayPolicy,
}

// cfnAPIGatewayTypes are the CloudFormation resource types with a REST API
// SecurityPolicy.
var cfnAPIGatewayTypes = map[string]bool{
	"AWS::ApiGateway::DomainName": true, "AWS::ApiGateway::DomainNameV2": true, "AWS::ApiGateway::RestApi": true,
}

var cfnAPIGateway = &checker{name: "cloudformation-apigateway", run: func(s *source, _ *checkEnv) []Finding { return checkCFNAPIGateway(s) }}

// checkCFNAPIGateway is PQ605 in CloudFormation templates (YAML or JSON).
// A file that does not parse is reported by the YAML or JSON checker.
func checkCFNAPIGateway(s *source) []Finding {
	if !bytes.Contains(s.data, []byte("AWS::ApiGateway::")) {
		return nil
	}
	var fs []Finding
	_ = eachYAMLDoc(bytes.ReplaceAll(s.data, []byte("\t"), []byte(" ")), func(root *yaml.Node) {
		if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
			root = root.Content[0]
		}
		_, res := mapGet(root, "Resources")
		if res == nil || res.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(res.Content); i += 2 {
			name, r := res.Content[i], res.Content[i+1]
			_, t := mapGet(r, "Type")
			if tv, ok := yamlLiteral(t); !ok || !cfnAPIGatewayTypes[tv] {
				continue
			}
			_, props := mapGet(r, "Properties")
			_, v := mapGet(props, "SecurityPolicy")
			val, ok := yamlLiteral(v)
			if !ok || val == "" {
				continue
			}
			a, b := scalarSpan(s, v)
			if v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
				a, b = a+1, b-1
			}
			fs = append(fs, apiGatewayFinding(s, name.Value, val, a, b)...)
		}
	})
	return fs
}

// checkCloudTerraform runs the cloudResources checks on a Terraform file.
// A file that does not parse is reported once, by checkTerraform (PQ000).
func checkCloudTerraform(s *source) []Finding {
	f, diags := hclsyntax.ParseConfig(s.data, s.name, hcl.InitialPos)
	if diags.HasErrors() {
		return nil
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	var fs []Finding
	for _, b := range body.Blocks {
		if b.Type != "resource" || len(b.Labels) != 2 {
			continue
		}
		if check := cloudResources[b.Labels[0]]; check != nil {
			fs = append(fs, check(s, b)...)
		}
	}
	fs = append(fs, ingressNginxTerraform(s, body)...)
	return append(fs, akamaiPQCDisabled(s, body)...)
}

// akamaiPQCBehaviors are the Akamai property behaviors that turn on
// hybrid key exchange.
var akamaiPQCBehaviors = map[string]bool{"pqc_client_to_edge": true, "pqc_origin": true}

// akamaiPQCDisabled is PQ606: a pqc_client_to_edge or pqc_origin block,
// at any depth, with enabled = false.
func akamaiPQCDisabled(s *source, body *hclsyntax.Body) []Finding {
	var fs []Finding
	for _, b := range body.Blocks {
		if attr, ok := b.Body.Attributes["enabled"]; ok && akamaiPQCBehaviors[b.Type] {
			v, diags := attr.Expr.Value(nil)
			if !diags.HasErrors() && v.IsKnown() && !v.IsNull() && v.Type() == cty.Bool && v.False() {
				r := attr.Expr.Range()
				fs = append(fs, s.finding("PQ606", r.Start.Byte, r.End.Byte, "Akamai behavior "+b.Type+" is disabled: that leg stays classical (X25519MLKEM768 on Enhanced TLS hostnames needs it enabled)",
					s.replace("enable the behavior", r.Start.Byte, r.End.Byte, "true")))
			}
		}
		fs = append(fs, akamaiPQCDisabled(s, b.Body)...)
	}
	return fs
}

// ingressNginxKeys are the ingress-nginx ConfigMap keys read in Terraform.
var ingressNginxKeys = map[string]bool{"ssl-protocols": true, "ssl-ecdh-curve": true}

// ingressNginxTerraform is PQ311 and PQ312 for ingress-nginx settings
// written in Terraform: the data map of a kubernetes_config_map(_v1) or
// any object with an "ssl-protocols" / "ssl-ecdh-curve" key (helm values
// through yamlencode), and helm_release set blocks whose name ends in
// one of them (controller.config.ssl-protocols).
func ingressNginxTerraform(s *source, body *hclsyntax.Body) []Finding {
	var fs []Finding
	var walk func(b *hclsyntax.Body)
	walk = func(b *hclsyntax.Body) {
		for _, a := range b.Attributes {
			fs = append(fs, ingressNginxObjects(s, a.Expr)...)
		}
		for _, blk := range b.Blocks {
			if blk.Type == "set" {
				name, _, _, ok := tfString(s, blk.Body, "name")
				key := name[strings.LastIndex(name, ".")+1:]
				if attr, found := blk.Body.Attributes["value"]; ok && ingressNginxKeys[key] && found {
					fs = append(fs, ingressNginxValue(s, key, attr.Expr)...)
				}
			}
			walk(blk.Body)
		}
	}
	walk(body)
	return fs
}

// ingressNginxObjects finds the ingress-nginx keys in the object
// constructors inside e.
func ingressNginxObjects(s *source, e hclsyntax.Expression) []Finding {
	var fs []Finding
	objectItems(e, func(key string, val hclsyntax.Expression) {
		if ingressNginxKeys[key] {
			fs = append(fs, ingressNginxValue(s, key, val)...)
		}
	})
	return fs
}

// ingressNginxValue judges one literal ingress-nginx value.
func ingressNginxValue(s *source, key string, e hclsyntax.Expression) []Finding {
	v, a, b, ok := exprString(s, e)
	if !ok {
		return nil
	}
	if key == "ssl-ecdh-curve" {
		return listFinding(s, "PQ311", "ingress-nginx ssl-ecdh-curve", a, b, v, ":")
	}
	return ingressProtocols(s, a, b, b, v)
}

// exprString returns a literal string expression and the span of its
// text inside the quotes.
func exprString(s *source, e hclsyntax.Expression) (val string, a, b int, ok bool) {
	val, ok = hclLiteral(e)
	if !ok {
		return "", 0, 0, false
	}
	r := e.Range()
	a, b = r.Start.Byte, r.End.Byte
	if b-a >= 2 && s.data[a] == '"' {
		a, b = a+1, b-1
	}
	return val, a, b, true
}

// tfString returns a literal string attribute and the span of its text
// inside the quotes.
func tfString(s *source, body *hclsyntax.Body, name string) (val string, a, b int, ok bool) {
	attr, found := body.Attributes[name]
	if !found {
		return "", 0, 0, false
	}
	return exprString(s, attr.Expr)
}

// tls13Off builds PQ604 for a tls_1_3 value "off" at [a, b).
func tls13Off(s *source, what string, a, b int) []Finding {
	return []Finding{s.finding("PQ604", a, b, what+" turns TLS 1.3 off for the zone: visitors can no longer get Cloudflare's X25519MLKEM768 hybrid, which exists only in TLS 1.3",
		s.replace("turn TLS 1.3 back on", a, b, "on"))}
}

// cloudflareZoneSetting is PQ604 for provider v5 (setting_id = "tls_1_3").
func cloudflareZoneSetting(s *source, b *hclsyntax.Block) []Finding {
	if id, _, _, ok := tfString(s, b.Body, "setting_id"); !ok || id != "tls_1_3" {
		return nil
	}
	if v, x, y, ok := tfString(s, b.Body, "value"); ok && strings.EqualFold(v, "off") {
		return tls13Off(s, "cloudflare_zone_setting."+b.Labels[1], x, y)
	}
	return nil
}

// cloudflareSettingsOverride is PQ604 for provider v4 (settings block).
func cloudflareSettingsOverride(s *source, b *hclsyntax.Block) []Finding {
	var fs []Finding
	for _, blk := range b.Body.Blocks {
		if blk.Type != "settings" {
			continue
		}
		if v, x, y, ok := tfString(s, blk.Body, "tls_1_3"); ok && strings.EqualFold(v, "off") {
			fs = append(fs, tls13Off(s, "cloudflare_zone_settings_override."+b.Labels[1]+" tls_1_3", x, y)...)
		}
	}
	return fs
}

// apiGatewayPQ matches the enhanced TLS 1.2+1.3 regional policies whose
// PQ variant is SecurityPolicy_TLS13_1_2[_FIPS][_PFS]_PQ_2025_09.
var apiGatewayPQ = regexp.MustCompile(`^SecurityPolicy_TLS13_1_2(_FIPS)?(_PFS)?_\d{4}_\d{2}$`)

// apiGatewayPolicy is PQ605 in Terraform.
func apiGatewayPolicy(s *source, b *hclsyntax.Block) []Finding {
	v, x, y, ok := tfString(s, b.Body, "security_policy")
	if !ok {
		return nil
	}
	return apiGatewayFinding(s, b.Labels[0]+"."+b.Labels[1], v, x, y)
}

// apiGatewayFinding is PQ605 for the literal policy v of resource what,
// written at [x, y).
func apiGatewayFinding(s *source, what, v string, x, y int) []Finding {
	if strings.Contains(v, "_PQ_") {
		return nil
	}
	if m := apiGatewayPQ.FindStringSubmatch(v); m != nil {
		pq := "SecurityPolicy_TLS13_1_2" + m[1] + m[2] + "_PQ_2025_09"
		return []Finding{s.finding("PQ605", x, y, what+" uses "+v+", an enhanced policy without hybrid post-quantum key exchange (only policies with PQ in their name have it)",
			s.replace("use "+pq, x, y, pq))}
	}
	msg := what + " uses " + v + ", which has no hybrid post-quantum key exchange: move to SecurityPolicy_TLS13_1_2_PQ_2025_09 (an enhanced policy: it also needs an endpoint access mode, and does not work with mutual TLS or HTTP API mappings)"
	if strings.HasPrefix(v, "SecurityPolicy_") {
		msg = what + " uses " + v + ", an enhanced policy without PQ in its name: AWS documents hybrid post-quantum key exchange only for the policies with PQ in their name (SecurityPolicy_TLS13_1_2_PQ_2025_09 and its PFS and FIPS variants, which also accept TLS 1.2)"
	}
	return []Finding{s.finding("PQ605", x, y, msg, nil)}
}

// --- PQ602 in Pulumi programs (TypeScript/JavaScript, Go) ---

var (
	pulumiELBPolicy = regexp.MustCompile(`\b(?:sslPolicy|SslPolicy)["']?\s*:\s*(?:pulumi\.String(?:Ptr)?\(\s*)?["'\x60](ELBSecurityPolicy-[A-Za-z0-9-]+)["'\x60]`)
	linePulumiELB   = lineChecker("pulumi-elb", rulePulumiELB)
)

// rulePulumiELB is PQ602 for a listener's sslPolicy written as a literal
// in a Pulumi program (new aws.lb.Listener(..., { sslPolicy: "..." }),
// lb.NewListener(..., &lb.ListenerArgs{SslPolicy: pulumi.String("...")})).
func rulePulumiELB(s *source, _, base int, code string, _ []string) []Finding {
	m := pulumiELBPolicy.FindStringSubmatchIndex(code)
	if m == nil || strings.Contains(code[m[2]:m[3]], "-PQ-") {
		return nil
	}
	v := code[m[2]:m[3]]
	pq, lost := elbPQPolicy(v)
	desc, msg := "use "+pq, "sslPolicy "+v+" has no hybrid post-quantum key exchange (only policies with -PQ- in their name offer X25519MLKEM768)"
	if lost {
		desc += " (TLS 1.0/1.1 clients lose access)"
		msg += "; the matching PQ policy drops TLS 1.0/1.1"
	}
	return []Finding{s.finding("PQ602", base+m[2], base+m[3], msg, s.replace(desc, base+m[2], base+m[3], pq))}
}

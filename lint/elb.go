package lint

import (
	"regexp"
	"strings"
)

// AWS Elastic Load Balancing listeners (Terraform, CloudFormation, Pulumi
// YAML): PQ601 (an HTTPS/TLS listener without a security policy gets the
// classical API default) and PQ602 (a policy without "-PQ-").

// elbDefaultPolicy is the policy the API, CLI, CloudFormation and CDK give
// an HTTPS or TLS listener created without one (only the console defaults
// to a PQ policy).
const elbDefaultPolicy = "ELBSecurityPolicy-2016-08"

// elbListenerTypes are the resource types of an ELBv2 listener per format.
var elbListenerTypes = map[string]bool{
	"aws_lb_listener": true, "aws_alb_listener": true, // Terraform
	"AWS::ElasticLoadBalancingV2::Listener": true,                                                                                                // CloudFormation
	"aws:lb:Listener":                       true, "aws:alb:Listener": true, "aws:lb/listener:Listener": true, "aws:alb/listener:Listener": true, // Pulumi
}

// elbOldTLS matches the policies that still allow TLS 1.0 or 1.1.
var elbOldTLS = regexp.MustCompile(`-(2016-08|2015-\d\d|2014-\d\d|2011-08)$|-TLS-1-[01]-|-FS-2018-06$|-FS-1-1-|-TLS13-1-[01]-`)

// elbPQPolicy returns the 2025-09 hybrid policy that matches old: TLS 1.3
// only stays TLS 1.3 only, otherwise TLS 1.2 is kept; FIPS stays FIPS; the
// Res, Ext0, Ext1 and Ext2 cipher variants are kept (Ext0 exists only as
// FIPS). lost reports that TLS 1.0/1.1 clients lose access.
func elbPQPolicy(old string) (policy string, lost bool) {
	fips := strings.Contains(old, "FIPS")
	variant := "TLS13-1-2"
	switch {
	case strings.Contains(old, "TLS13-1-3"):
		variant = "TLS13-1-3"
	case strings.Contains(old, "-Res-"):
		variant += "-Res"
	case strings.Contains(old, "-Ext0-") && fips:
		variant += "-Ext0"
	case strings.Contains(old, "-Ext1-") || strings.Contains(old, "-Ext0-"):
		variant += "-Ext1"
	case strings.Contains(old, "-Ext2-"):
		variant += "-Ext2"
	}
	if fips {
		variant += "-FIPS"
	}
	return "ELBSecurityPolicy-" + variant + "-PQ-2025-09", elbOldTLS.MatchString(old)
}

// elbListener is one listener as a format checker found it. Offsets are
// bytes in the file.
type elbListener struct {
	// what names the resource in messages ("aws_lb_listener.front").
	what string
	// first, firstEnd delimit the resource's first line (PQ601's position).
	first, firstEnd int
	// protocol is the literal protocol ("" when absent or not a literal).
	protocol string
	// hasPolicy: a policy attribute exists; policy is its literal value
	// ("" when it is a variable or function: then nothing is reported).
	hasPolicy bool
	policy    string
	// policyA, policyB delimit the policy text to replace (inside quotes).
	policyA, policyB int
	// insertAt and insert build the fix for a missing policy: insert(name)
	// is written at insertAt (-1: no mechanical fix).
	insertAt int
	insert   func(policy string) string
}

// elbFindings applies PQ601 and PQ602 to one listener.
func elbFindings(s *source, l elbListener) []Finding {
	switch strings.ToUpper(l.protocol) {
	case "HTTPS", "TLS":
	default:
		return nil // HTTP, TCP, UDP... or not a literal: no TLS policy
	}
	if !l.hasPolicy {
		pq, _ := elbPQPolicy(elbDefaultPolicy)
		var fix *Fix
		if l.insertAt >= 0 && l.insert != nil {
			fix = s.replace("set the hybrid policy "+pq+" (TLS 1.0/1.1 clients lose access)", l.insertAt, l.insertAt, l.insert(pq))
		}
		return []Finding{s.finding("PQ601", l.first, l.firstEnd,
			l.what+" ("+strings.ToUpper(l.protocol)+") sets no security policy: the API, CLI, CloudFormation and CDK default is "+elbDefaultPolicy+" (classical key exchange, TLS 1.0/1.1 allowed); only the console defaults to a PQ policy", fix)}
	}
	if l.policy == "" || strings.Contains(l.policy, "-PQ-") {
		return nil
	}
	pq, lost := elbPQPolicy(l.policy)
	desc := "use " + pq
	msg := l.what + " uses " + l.policy + ", which has no hybrid post-quantum key exchange (only policies with -PQ- in their name offer X25519MLKEM768)"
	if lost {
		desc += " (TLS 1.0/1.1 clients lose access)"
		msg += "; the matching PQ policy drops TLS 1.0/1.1"
	}
	return []Finding{s.finding("PQ602", l.policyA, l.policyB, msg, s.replace(desc, l.policyA, l.policyB, pq))}
}

// lineStart returns the offset of the start of the line holding off, and
// the line's leading blanks.
func lineStart(s *source, off int) (int, string) {
	p := s.pos(off)
	start := s.lines[p.Line-1]
	l := s.line(p.Line)
	return start, l[:len(l)-len(strings.TrimLeft(l, " \t"))]
}

// lineEnd returns the offset of the end of the line holding off (before
// "\r\n" or "\n").
func lineEnd(s *source, off int) int {
	p := s.pos(off)
	return s.lines[p.Line-1] + len(s.line(p.Line))
}

package exporter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path"
	"strconv"
	"strings"
)

// Resolver resolves a target's host name once per probe. *net.Resolver
// satisfies it; tests inject one that answers what they need.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// targetList is one parsed allowed_targets list: CIDR entries constrain the
// addresses a probe may connect to, host globs constrain the names a target
// may be given as. A nil list allows everything.
type targetList struct {
	prefixes []netip.Prefix
	globs    []string // lower case, no trailing dot
}

// parseTargetList parses an allowed_targets list. nil or empty entries give
// nil (no restriction); a bad entry is an error naming it.
func parseTargetList(entries []string) (*targetList, error) {
	if entries == nil {
		return nil, nil
	}
	if len(entries) == 0 {
		return nil, errors.New("allowed_targets is empty: list CIDRs and host globs, or remove the key to allow every target")
	}
	l := &targetList{}
	for _, raw := range entries {
		e := strings.ToLower(strings.TrimSpace(raw))
		switch {
		case e == "":
			return nil, errors.New("allowed_targets has an empty entry: remove it")
		case strings.Contains(e, "/"):
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, fmt.Errorf("allowed_targets entry %q is not a CIDR (e.g. 10.0.0.0/8, fd00::/8)", raw)
			}
			l.prefixes = append(l.prefixes, p.Masked())
		default:
			if a, err := netip.ParseAddr(e); err == nil {
				l.prefixes = append(l.prefixes, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
				continue
			}
			g := strings.TrimSuffix(e, ".")
			if strings.ContainsAny(g, ":@ ") {
				return nil, fmt.Errorf("allowed_targets entry %q: write a CIDR or a host glob without a port (e.g. *.internal.example)", raw)
			}
			if _, err := path.Match(g, ""); err != nil {
				return nil, fmt.Errorf("allowed_targets entry %q is not a valid glob: %v", raw, err)
			}
			l.globs = append(l.globs, g)
		}
	}
	return l, nil
}

// allowsName reports whether a host name passes the list's globs (true when
// the list has none: its CIDRs then decide by address).
func (l *targetList) allowsName(name string) bool {
	if l == nil || len(l.globs) == 0 {
		return true
	}
	for _, g := range l.globs {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

// allowsAddr reports whether an address passes the list's CIDRs. A target
// given as an address has no name: it needs a CIDR entry, so a list of
// globs only refuses it (literal true). For a resolved name, a list without
// CIDRs does not constrain addresses.
func (l *targetList) allowsAddr(a netip.Addr, literal bool) bool {
	if l == nil {
		return true
	}
	if len(l.prefixes) == 0 {
		return !literal
	}
	a = a.Unmap().WithZone("")
	for _, p := range l.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// TargetRefusedError is a target the configuration's allowed_targets do
// not allow: /probe answers HTTP 403.
type TargetRefusedError struct {
	// Target is the host as given; Addr the resolved address refused, if
	// the name itself was allowed.
	Target string
	Addr   netip.Addr
	// List says which list refused: "allowed_targets" or
	// "module <name> allowed_targets".
	List string
}

// Public is the refusal as told to the HTTP client: without the address a
// name resolved to, so /probe does not answer DNS questions about names it
// refuses (the exporter's own log has Error).
func (e *TargetRefusedError) Public() string {
	if e.Addr.IsValid() {
		return fmt.Sprintf("target %s resolves to an address %s does not allow", e.Target, e.List)
	}
	return e.Error()
}

func (e *TargetRefusedError) Error() string {
	if e.Addr.IsValid() {
		return fmt.Sprintf("target %s resolves to %s, which %s does not allow", e.Target, e.Addr, e.List)
	}
	return fmt.Sprintf("target %s is not allowed by %s", e.Target, e.List)
}

// namedList is a list with the name used in refusals.
type namedList struct {
	name string
	list *targetList
}

// resolveTarget resolves host once and checks the name and every address
// against every list. The addresses returned are the only ones the probe
// may dial. A resolution failure is returned as is (a probe failure with
// reason dns); a refusal is a *TargetRefusedError.
func resolveTarget(ctx context.Context, r Resolver, host string, lists []namedList) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		for _, nl := range lists {
			if !nl.list.allowsAddr(a, true) {
				return nil, &TargetRefusedError{Target: host, List: nl.name}
			}
		}
		return []netip.Addr{a}, nil
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	for _, nl := range lists {
		if !nl.list.allowsName(name) {
			return nil, &TargetRefusedError{Target: host, List: nl.name}
		}
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	for i, a := range addrs {
		addrs[i] = a.Unmap()
		for _, nl := range lists {
			if !nl.list.allowsAddr(addrs[i], false) {
				return nil, &TargetRefusedError{Target: host, Addr: addrs[i], List: nl.name}
			}
		}
	}
	return addrs, nil
}

// pinnedDialer dials only the addresses a target was checked against, in
// order, whatever address its caller names: a second resolution (DNS
// rebinding) can never redirect a probe.
type pinnedDialer struct {
	addrs []netip.Addr
	port  uint16
}

// DialContext connects to the first pinned address that answers. The addr
// argument is ignored on purpose (scan.Options.DialContext passes the
// target's name).
func (d pinnedDialer) DialContext(ctx context.Context, network, _ string) (net.Conn, error) {
	var nd net.Dialer
	var first error
	for _, a := range d.addrs {
		c, err := nd.DialContext(ctx, network, netip.AddrPortFrom(a, d.port).String())
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	if first == nil {
		first = errors.New("no address to dial")
	}
	return nil, first
}

func parsePort(s string) uint16 {
	n, _ := strconv.ParseUint(s, 10, 16)
	return uint16(n)
}

package scan

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"net"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// MaxCIDRAddresses bounds how many endpoints [ParseTarget] expands one CIDR
// target to, so that a typo such as 10.0.0.0/8 does not start a multi-hour
// scan. Fleets go through [Spec] and [Expand], whose limit is the caller's
// (--max-endpoints).
const MaxCIDRAddresses = 65536

// DefaultMaxEndpoints is the default --max-endpoints: the most endpoints
// one scan run (one shard) expands its targets to.
const DefaultMaxEndpoints = 65536

// Target is one endpoint to scan: an address, the name to send as SNI, the
// protocol preamble to run before TLS, and the inventory data that ranks it.
type Target struct {
	// Input is the target as the user wrote it (e.g. "db.internal:5432").
	Input string `json:"input"`
	// Source says where the target came from: "arg 2", "fleet.txt:14",
	// "stdin:3", "fleet.yaml: endpoints[4]".
	Source string `json:"source"`
	// Host is the host name or IP literal as written.
	Host string `json:"host"`
	// Port is the TCP port.
	Port int `json:"port"`
	// IP is the address dialled; empty until Resolve fills it (ScanOne
	// resolves Host itself when IP is empty and uses the first address).
	IP string `json:"ip,omitempty"`
	// ServerName is sent as SNI; empty for IP literals unless set.
	ServerName string `json:"server_name,omitempty"`
	// StartTLS is the preamble protocol; ProtoAuto picks it by port.
	StartTLS Protocol `json:"starttls,omitempty"`
	// Service, Owner and Protocol come from the inventory.
	Service  string `json:"service,omitempty"`
	Owner    string `json:"owner,omitempty"`
	Protocol string `json:"protocol,omitempty"`
	// Tags are free-form inventory tags; data_lifetime and sensitivity feed
	// the harvest-now-decrypt-later priority.
	Tags map[string]string `json:"tags,omitempty"`
}

// Address returns IP:port (or Host:port before resolution).
func (t Target) Address() string {
	h := t.IP
	if h == "" {
		h = t.Host
	}
	return net.JoinHostPort(h, strconv.Itoa(t.Port))
}

// TargetError reports a bad target with its source (file and line).
type TargetError struct {
	Source string
	Input  string
	Err    error
}

// Error names the source (file:line) and the bad target.
func (e *TargetError) Error() string {
	return fmt.Sprintf("%s: bad target %q: %v", e.Source, e.Input, e.Err)
}

// Unwrap returns the underlying parse error.
func (e *TargetError) Unwrap() error { return e.Err }

// Spec is one parsed target before expansion: a single endpoint, or a CIDR
// range times a port list. A range is counted ([Spec.Count]) without being
// allocated, so that a fleet's size is checked before any work.
type Spec struct {
	// Target is the endpoint or, for a range, what every member shares
	// (Host, IP and Port are those of the first member).
	Target
	// Prefix is the range; invalid for a single endpoint.
	Prefix netip.Prefix
	// Ports are the ports of a range.
	Ports []int
}

// IsRange reports whether s is a CIDR range.
func (s Spec) IsRange() bool { return s.Prefix.IsValid() }

// Count returns the number of endpoints of s, computed arithmetically
// (saturating at math.MaxUint64).
func (s Spec) Count() uint64 {
	if !s.IsRange() {
		return 1
	}
	bits := s.Prefix.Addr().BitLen() - s.Prefix.Bits()
	if bits >= 64 {
		return math.MaxUint64
	}
	n, p := uint64(1)<<bits, uint64(len(s.Ports))
	if p != 0 && n > math.MaxUint64/p {
		return math.MaxUint64
	}
	return n * p
}

// All yields the endpoints of s: each address of a range in ascending
// order, each with every port.
func (s Spec) All() iter.Seq[Target] {
	return func(yield func(Target) bool) {
		if !s.IsRange() {
			yield(s.Target)
			return
		}
		for a := s.Prefix.Addr(); s.Prefix.Contains(a); a = a.Next() {
			for _, p := range s.Ports {
				t := s.Target
				t.Host, t.IP, t.Port = a.String(), a.String(), p
				if !yield(t) {
					return
				}
			}
			if !a.Next().IsValid() {
				return
			}
		}
	}
}

// ParseTarget parses one target (see [ParseSpec]) and expands a range, of
// at most [MaxCIDRAddresses] endpoints.
func ParseTarget(s, source string) ([]Target, error) {
	sp, err := ParseSpec(s, source)
	if err != nil {
		return nil, err
	}
	if n := sp.Count(); n > MaxCIDRAddresses {
		return nil, &TargetError{Source: source, Input: sp.Input, Err: fmt.Errorf("range %s with %d ports is more than %d endpoints: split it", sp.Prefix, len(sp.Ports), MaxCIDRAddresses)}
	}
	return slices.Collect(sp.All()), nil
}

// ParseSpec parses one target: "host:port", "[v6]:port",
// "scheme://host:port" where scheme names a STARTTLS protocol (postgres,
// mysql, smtp, imap, pop3, ftp, ldap, xmpp, postgres-direct) or "tls"/"https"
// for implicit TLS, or a CIDR with a port list "10.0.0.0/30:443,8443".
// source is used in errors.
func ParseSpec(s, source string) (Spec, error) {
	in := strings.TrimSpace(s)
	fail := func(err error) (Spec, error) { return Spec{}, &TargetError{Source: source, Input: in, Err: err} }
	if in == "" {
		return fail(errors.New("empty target: write host:port"))
	}
	rest := in
	proto := ProtoAuto
	if i := strings.Index(rest, "://"); i >= 0 {
		p, err := ParseProtocol(rest[:i])
		if err != nil {
			return fail(err)
		}
		proto = p
		rest = strings.TrimSuffix(rest[i+3:], "/")
	}
	if strings.Contains(rest, "/") {
		return parseCIDR(in, rest, source, proto)
	}
	host, portStr, err := net.SplitHostPort(rest)
	if err != nil {
		if p, ok := proto.DefaultPort(); ok && !strings.Contains(strings.Trim(rest, "[]"), ":") {
			host, portStr = strings.Trim(rest, "[]"), strconv.Itoa(p)
		} else {
			return fail(fmt.Errorf("want host:port (e.g. db.internal:5432 or [::1]:443): %w", err))
		}
	}
	port, err := parsePort(portStr)
	if err != nil {
		return fail(err)
	}
	if err := checkHost(host); err != nil {
		return fail(err)
	}
	t := Target{Input: in, Source: source, Host: host, Port: port, StartTLS: proto}
	if _, err := netip.ParseAddr(host); err == nil {
		t.IP = host
	} else {
		t.ServerName = host
	}
	return Spec{Target: t}, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("port %q is not a number: use 1-65535", s)
	}
	if p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %q out of range: use 1-65535", s)
	}
	return p, nil
}

func checkHost(h string) error {
	if h == "" {
		return errors.New("missing host: write host:port")
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return nil
	}
	for _, r := range h {
		if !(r == '-' || r == '.' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("host %q has invalid character %q", h, r)
		}
	}
	return nil
}

// parseCIDR handles "prefix:ports" ("10.0.0.0/30:443,8443",
// "[fd00::/126]:443").
func parseCIDR(in, rest, source string, proto Protocol) (Spec, error) {
	fail := func(err error) (Spec, error) { return Spec{}, &TargetError{Source: source, Input: in, Err: err} }
	var prefixStr, portList string
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]")
		if end < 0 || !strings.HasPrefix(rest[end+1:], ":") {
			return fail(errors.New("write an IPv6 range as [fd00::/126]:443"))
		}
		prefixStr, portList = rest[1:end], rest[end+2:]
	} else {
		i := strings.LastIndex(rest, ":")
		if i < 0 {
			return fail(errors.New("a CIDR range needs a port list: 10.0.0.0/30:443,8443"))
		}
		prefixStr, portList = rest[:i], rest[i+1:]
	}
	prefix, err := netip.ParsePrefix(prefixStr)
	if err != nil {
		return fail(fmt.Errorf("bad CIDR range: %w", err))
	}
	prefix = prefix.Masked()
	var ports []int
	for _, ps := range strings.Split(portList, ",") {
		p, err := parsePort(ps)
		if err != nil {
			return fail(err)
		}
		ports = append(ports, p)
	}
	a := prefix.Addr().String()
	return Spec{Target: Target{Input: in, Source: source, Host: a, IP: a, Port: ports[0], StartTLS: proto}, Prefix: prefix, Ports: ports}, nil
}

// ParseTargetList reads one target per line; blank lines and text after '#'
// are ignored. name labels errors ("fleet.txt" gives "fleet.txt:12"). An
// input without any target is an error. Ranges are not expanded: see
// [Expand].
func ParseTargetList(r io.Reader, name string) ([]Spec, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var out []Spec
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.Index(text, "#"); i >= 0 {
			text = text[:i]
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		sp, err := ParseSpec(text, fmt.Sprintf("%s:%d", name, line))
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: read targets: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no targets (the file is empty or only comments): add one host:port per line", name)
	}
	return out, nil
}

// ReadTargetFile reads a target list from a file ("-" reads stdin).
func ReadTargetFile(path string, stdin io.Reader) ([]Spec, error) {
	if path == "-" {
		return ParseTargetList(stdin, "stdin")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open target list: %w", err)
	}
	defer f.Close()
	return ParseTargetList(f, path)
}

// Resolver looks up host names; *net.Resolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Resolve expands each target whose IP is empty into one target per address
// of its host name (sorted, IPv4 first), keeping ServerName = the name. A
// name that does not resolve is an error naming its source. r nil uses
// net.DefaultResolver.
func Resolve(ctx context.Context, targets []Target, r Resolver) ([]Target, error) {
	if r == nil {
		r = net.DefaultResolver
	}
	var out []Target
	cache := map[string][]netip.Addr{}
	for _, t := range targets {
		if t.IP != "" {
			out = append(out, t)
			continue
		}
		addrs, ok := cache[t.Host]
		if !ok {
			var err error
			// Every network step has a deadline, DNS included.
			lctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
			addrs, err = r.LookupNetIP(lctx, "ip", t.Host)
			cancel()
			if err != nil {
				return nil, &TargetError{Source: t.Source, Input: t.Input, Err: fmt.Errorf("resolve %s: %w (check the name or scan an IP)", t.Host, err)}
			}
			addrs = uniqueAddrs(addrs)
			cache[t.Host] = addrs
		}
		for _, a := range addrs {
			c := t
			c.IP = a.String()
			out = append(out, c)
		}
	}
	return out, nil
}

func uniqueAddrs(in []netip.Addr) []netip.Addr {
	seen := map[netip.Addr]bool{}
	var out []netip.Addr
	for _, a := range in {
		a = a.Unmap()
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Is4() != out[j].Is4() {
			return out[i].Is4()
		}
		return out[i].Less(out[j])
	})
	return out
}

// ParseEndpoint parses exactly one endpoint ("host:port", "[v6]:port" or
// "scheme://host[:port]"); a CIDR range is an error. It is the parser for
// callers that probe a single target per request (the exporter).
func ParseEndpoint(s string) (Target, error) {
	ts, err := ParseTarget(s, "target")
	if err != nil {
		return Target{}, err
	}
	if len(ts) != 1 || strings.Contains(s, "/") && !strings.Contains(s, "://") {
		return Target{}, &TargetError{Source: "target", Input: s, Err: errors.New("a range is not a single endpoint: give host:port")}
	}
	return ts[0], nil
}

// ResolveEach is Resolve for fleets: a name that does not resolve is kept
// unresolved instead of failing the whole list, and ScanOne then reports it
// as unreachable with reason "dns".
func ResolveEach(ctx context.Context, targets []Target, r Resolver) []Target {
	out := make([]Target, 0, len(targets))
	for _, t := range targets {
		rs, err := Resolve(ctx, []Target{t}, r)
		if err != nil {
			out = append(out, t)
			continue
		}
		out = append(out, rs...)
	}
	return out
}

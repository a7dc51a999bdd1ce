package accesslog

import (
	"crypto/tls"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/observe"
)

// field is one of the values pqtls reads from a log line, whatever the
// format calls it.
type field int

const (
	fNone        field = iota
	fTime              // a timestamp (see parseTime)
	fClient            // "ip:port" or "ip"
	fClientIP          // ip
	fClientPort        // port
	fServer            // "ip:port" or "ip"
	fServerIP          // ip
	fServerPort        // port
	fSNI               // server name
	fVersion           // protocol version, any spelling (see parseVersion)
	fGroup             // negotiated group: name, alias or codepoint
	fGroups            // client's supported groups, ':' or ',' separated
	fCipher            // cipher suite name
	fResumed           // "r", "true", "1", "T": resumed
	fRepeat            // nginx $connection_requests: > 1 is not a new handshake
	fFailed            // a failure reason (pqtls's own log)
	fEstablished       // Zeek: "F"/"false" is a handshake that did not complete
	fHRR               // pqtls's own log: true when a HelloRetryRequest was needed
	fAlert             // Zeek last_alert, AWS incoming_tls_alert
	nFields
)

// values holds one line's fields, indexed by field; "" is not logged.
type values [nFields]string

// empty reports whether a logged value means "nothing": many formats write
// "-" for an empty variable.
func empty(s string) bool { return s == "" || s == "-" || s == "(empty)" }

// handshake builds the LogHandshake of a line. notTLS is true when the line
// is a plain (non-TLS) request: no version, no group, no cipher.
func (v *values) handshake(c *cache) (h observe.LogHandshake, notTLS bool, err error) {
	if empty(v[fVersion]) && empty(v[fGroup]) && empty(v[fCipher]) && empty(v[fFailed]) && empty(v[fEstablished]) {
		return h, true, nil
	}
	if !empty(v[fTime]) {
		if h.Time, err = c.time(v[fTime]); err != nil {
			return h, false, err
		}
	}
	h.Client = endpoint(v[fClient], v[fClientIP], v[fClientPort])
	h.Server = endpoint(v[fServer], v[fServerIP], v[fServerPort])
	if !empty(v[fSNI]) {
		h.SNI = strings.Clone(v[fSNI]) // the summary keeps it: not the whole line
	}
	if !empty(v[fVersion]) {
		if h.Version, err = c.version(v[fVersion]); err != nil {
			return h, false, err
		}
	}
	if !empty(v[fGroup]) {
		if h.Group, err = c.group(v[fGroup]); err != nil {
			return h, false, err
		}
		h.GroupLogged = true
	}
	if !empty(v[fGroups]) {
		for _, s := range strings.FieldsFunc(v[fGroups], func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
			g, err := c.group(s)
			if err != nil {
				return h, false, err
			}
			h.Offered = append(h.Offered, g)
		}
	}
	if !empty(v[fCipher]) {
		h.Cipher = c.cipher(v[fCipher])
	}
	h.Resumed = truthy(v[fResumed])
	h.HRR = truthy(v[fHRR])
	switch {
	case !empty(v[fFailed]):
		h.Failed = v[fFailed]
	case !empty(v[fEstablished]) && !truthy(v[fEstablished]):
		h.Failed = pqtls.ReasonOther
		if a := strings.ToLower(v[fAlert]); !empty(a) && pqtls.KnownReason("alert_"+a) {
			h.Failed = "alert_" + a
		}
	}
	return h, false, nil
}

func truthy(s string) bool {
	switch strings.ToLower(s) {
	case "r", "t", "true", "1", "yes", "on":
		return true
	}
	return false
}

// endpoint joins an address and a port from what a format logs: a whole
// "ip:port", or an IP and a port apart. A value that is not an IP address
// (a host name, "unix:") is left out.
func endpoint(whole, ip, port string) string {
	if !empty(whole) {
		if ap, err := netip.ParseAddrPort(whole); err == nil {
			return ap.String()
		}
		ip = whole
	}
	if empty(ip) {
		return ""
	}
	a, err := netip.ParseAddr(strings.Trim(ip, "[]"))
	if err != nil {
		return ""
	}
	if p, err := strconv.ParseUint(port, 10, 16); err == nil {
		return netip.AddrPortFrom(a, uint16(p)).String()
	}
	if a.Is6() {
		return "[" + a.String() + "]"
	}
	return a.String()
}

// timeLayouts are the timestamp spellings of the supported formats.
var timeLayouts = []string{
	time.RFC3339Nano,             // nginx $time_iso8601, Envoy, Caddy, Traefik, AWS, pqtls
	"02/Jan/2006:15:04:05 -0700", // nginx $time_local, common log format
	"02/Jan/2006:15:04:05.000",   // HAProxy %t (local time)
	"2006-01-02T15:04:05",        // AWS NLB (UTC, no zone)
}

// time parses a timestamp, trying first the layout that matched last (a
// log uses one).
func (c *cache) time(s string) (time.Time, error) {
	if c.layout >= 0 {
		if t, err := time.Parse(timeLayouts[c.layout], s); err == nil {
			return t.UTC(), nil
		}
	}
	t, i, err := parseTime(s)
	if err == nil {
		c.layout = i // -1: seconds since the epoch
	}
	return t, err
}

// parseTime reads a timestamp: one of timeLayouts (i is its index), or
// seconds since the epoch with a fraction (nginx $msec, Zeek ts, Caddy ts;
// i is -1).
func parseTime(s string) (t time.Time, i int, err error) {
	if c := s[0]; c >= '0' && c <= '9' && !strings.ContainsAny(s, "-/:") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return time.Time{}, -1, errf("timestamp %q", s)
		}
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), -1, nil
	}
	for i, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), i, nil
		}
	}
	return time.Time{}, -1, errf("timestamp %q", s)
}

// versions maps the spellings of protocol versions, lower-cased and
// stripped of "tls", "ssl", "v", spaces, dots and underscores, to their
// codepoints: TLSv1.3 (OpenSSL, nginx, HAProxy, Envoy), TLSv13 (Zeek),
// TLS 1.3 (pqtls), 1.3 (Traefik), tlsv13 (AWS), 772 (Caddy).
var versions = map[string]uint16{
	"13": tls.VersionTLS13, "12": tls.VersionTLS12, "11": tls.VersionTLS11, "1": tls.VersionTLS10, "10": tls.VersionTLS10,
	"3": tls.VersionSSL30, "30": tls.VersionSSL30,
	"772": tls.VersionTLS13, "771": tls.VersionTLS12, "770": tls.VersionTLS11, "769": tls.VersionTLS10,
}

// cache remembers the normalisation of the few distinct values a log
// repeats (versions, groups, ciphers), so a line costs no allocation for
// them. It is bounded: beyond maxCached distinct values it stops caching.
type cache struct {
	layout   int // index in timeLayouts of the last timestamp parsed
	versions map[string]uint16
	groups   map[string]tls.CurveID
	ciphers  map[string]string
}

const maxCached = 1024

func newCache() *cache {
	return &cache{versions: map[string]uint16{}, groups: map[string]tls.CurveID{}, ciphers: map[string]string{}}
}

func (c *cache) version(s string) (uint16, error) {
	if v, ok := c.versions[s]; ok {
		return v, nil
	}
	key := strings.NewReplacer("tls", "", "ssl", "", "v", "", " ", "", ".", "", "_", "").Replace(strings.ToLower(s))
	v, ok := versions[key]
	if !ok {
		return 0, errf("protocol version %q", s)
	}
	if len(c.versions) < maxCached {
		c.versions[s] = v
	}
	return v, nil
}

// group resolves a group as logs write it: an IANA name or alias known to
// the pqtls registry (X25519MLKEM768, x25519, prime256v1, secp256r1, P-256),
// a codepoint in hexadecimal (nginx $ssl_curve on OpenSSL 3.5 writes
// 0x11ec for a group OpenSSL has no name for) or decimal, or Zeek's
// "unknown-4588". A codepoint outside the registry is kept as a number.
func (c *cache) group(s string) (tls.CurveID, error) {
	if g, ok := c.groups[s]; ok {
		return g, nil
	}
	key := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "unknown-")
	var id tls.CurveID
	if g, err := pqtls.ParseGroup(key); err == nil {
		id = g.ID
	} else if n, err := strconv.ParseUint(key, 0, 16); err == nil {
		id = tls.CurveID(n)
	} else if gid, ok := opensslGroupNames[key]; ok {
		id = gid
	} else {
		return 0, errf("group %q", s)
	}
	if len(c.groups) < maxCached {
		c.groups[s] = id
	}
	return id, nil
}

// opensslGroupNames are OpenSSL's short names (OBJ_nid2sn, what nginx
// $ssl_curve and HAProxy ssl_fc_curve print) that are not IANA names.
var opensslGroupNames = map[string]tls.CurveID{
	"prime256v1": tls.CurveP256, "secp256r1": tls.CurveP256, "secp384r1": tls.CurveP384, "secp521r1": tls.CurveP521,
	"x25519": tls.X25519, "x448": 30,
}

// cipher returns the logged cipher suite name, interned.
func (c *cache) cipher(s string) string {
	if n, ok := c.ciphers[s]; ok {
		return n
	}
	n := strings.Clone(s)
	if id, err := strconv.ParseUint(s, 10, 16); err == nil { // Caddy logs the codepoint
		n = tls.CipherSuiteName(uint16(id))
	}
	if len(c.ciphers) < maxCached {
		c.ciphers[n] = n
	}
	return n
}

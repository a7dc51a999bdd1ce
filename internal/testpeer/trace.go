package testpeer

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// traceHandshake is what the OpenSSL trace says about one handshake, keyed
// by the ClientHello random.
type traceHandshake struct {
	offered     []tls.CurveID // supported_groups of the (last) ClientHello
	keyShares   []tls.CurveID // key_share groups of the first ClientHello
	group       tls.CurveID   // ServerHello key_share (TLS 1.3) or ServerKeyExchange named_curve (TLS 1.2)
	groupName   string        // as OpenSSL printed it
	serverHello int           // number of ServerHellos (2 = HelloRetryRequest)
}

// opensslTrace parses the output of OpenSSL's SSL_trace (Node's enableTrace)
// and indexes handshakes by client random. OpenSSL writes the trace of a
// whole flight in one synchronous call, so a ClientHello is always followed
// by its own ServerHello even when connections are concurrent.
type opensslTrace struct {
	mu    sync.Mutex
	cond  *sync.Cond
	hs    map[string]*traceHandshake
	order []string // client randoms in order of first ClientHello
	other *tailBuffer
	eof   bool
}

func newOpenSSLTrace() *opensslTrace {
	t := &opensslTrace{hs: map[string]*traceHandshake{}, other: &tailBuffer{max: 16 << 10}}
	t.cond = sync.NewCond(&t.mu)
	return t
}

var (
	reMsg        = regexp.MustCompile(`^([A-Za-z]+), Length=\d+$`)
	reNumParen   = regexp.MustCompile(`^(.*) \((\d+)\)$`)
	reBase64Line = regexp.MustCompile(`^[A-Za-z0-9+/=]{4,}$`)
)

// consume reads trace lines until r ends. Lines that are not part of the
// trace (Node's own errors) are kept in t.other.
func (t *opensslTrace) consume(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var (
		msg, cur, gmt, ext string
	)
	for sc.Scan() {
		line := sc.Text()
		s := strings.TrimSpace(line)
		if m := reMsg.FindStringSubmatch(s); m != nil {
			msg, ext = m[1], ""
			if msg == "ServerHello" {
				t.mu.Lock()
				if h := t.hs[cur]; h != nil {
					h.serverHello++
				}
				t.mu.Unlock()
			}
			continue
		}
		switch {
		case strings.HasPrefix(s, "extension_type="):
			ext = strings.TrimPrefix(s, "extension_type=")
			if i := strings.IndexByte(ext, '('); i >= 0 {
				ext = ext[:i]
			}
		case msg == "ClientHello" && strings.HasPrefix(s, "gmt_unix_time=0x"):
			gmt = strings.TrimPrefix(s, "gmt_unix_time=0x")
			for len(gmt) < 8 {
				gmt = "0" + gmt
			}
		case msg == "ClientHello" && strings.HasPrefix(s, "random_bytes (len=28): "):
			cur = strings.ToLower(gmt + strings.TrimPrefix(s, "random_bytes (len=28): "))
			t.mu.Lock()
			h := t.hs[cur]
			if h == nil {
				h = &traceHandshake{}
				t.hs[cur] = h
				t.order = append(t.order, cur)
			} else {
				h.offered = nil // second ClientHello after HRR
			}
			t.mu.Unlock()
		case msg == "ClientHello" && ext == "supported_groups":
			if id, ok := parenNum(s); ok {
				t.mu.Lock()
				if h := t.hs[cur]; h != nil {
					h.offered = append(h.offered, tls.CurveID(id))
				}
				t.mu.Unlock()
			}
		case msg == "ClientHello" && ext == "key_share" && strings.HasPrefix(s, "NamedGroup: "):
			if id, ok := parenNum(s); ok {
				t.mu.Lock()
				if h := t.hs[cur]; h != nil && h.serverHello == 0 {
					h.keyShares = append(h.keyShares, tls.CurveID(id))
				}
				t.mu.Unlock()
			}
		case (msg == "ServerHello" && strings.HasPrefix(s, "NamedGroup: ")) ||
			(msg == "ServerKeyExchange" && strings.HasPrefix(s, "named_curve: ")):
			if id, ok := parenNum(s); ok {
				name := s[strings.IndexByte(s, ':')+2:]
				if m := reNumParen.FindStringSubmatch(name); m != nil {
					name = m[1]
				}
				t.mu.Lock()
				if h := t.hs[cur]; h != nil {
					h.group, h.groupName = tls.CurveID(id), name
				}
				t.cond.Broadcast()
				t.mu.Unlock()
			}
		case isTraceLine(line):
		default:
			_, _ = t.other.Write([]byte(line + "\n"))
		}
	}
	t.mu.Lock()
	t.eof = true
	t.cond.Broadcast()
	t.mu.Unlock()
}

// isTraceLine is a loose test for SSL_trace output (indented, or one of its
// record headers), to separate it from Node's own messages.
func isTraceLine(line string) bool {
	if reBase64Line.MatchString(line) || line == "Certificate:" {
		return true // PEM bodies of certificates in the trace
	}
	return line == "" || strings.HasPrefix(line, " ") || strings.HasPrefix(line, "Header:") ||
		strings.HasPrefix(line, "Sent ") || strings.HasPrefix(line, "Received ") ||
		strings.HasPrefix(line, "Inner Content Type") || strings.HasPrefix(line, "---")
}

func parenNum(s string) (int, bool) {
	m := reNumParen.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[2])
	if err != nil || n > 0xffff {
		return 0, false
	}
	return n, true
}

// waitUntil calls found with t.mu held until it reports true (waitUntil
// then returns true), the trace ends or timeout passes (false).
func (t *opensslTrace) waitUntil(timeout time.Duration, found func() bool) bool {
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() {
		t.mu.Lock()
		t.cond.Broadcast()
		t.mu.Unlock()
	})
	defer timer.Stop()
	t.mu.Lock()
	defer t.mu.Unlock()
	for !found() {
		if t.eof || time.Now().After(deadline) {
			return false
		}
		t.cond.Wait()
	}
	return true
}

// wait returns the handshake with the given client random once its group is
// known, the trace ended, or timeout passed.
func (t *opensslTrace) wait(random string, timeout time.Duration) (traceHandshake, error) {
	var h traceHandshake
	if t.waitUntil(timeout, func() bool {
		if p := t.hs[random]; p != nil && p.group != 0 {
			h = *p
			return true
		}
		return false
	}) {
		return h, nil
	}
	return traceHandshake{}, fmt.Errorf("no ServerHello group in the OpenSSL trace for client random %s", random)
}

// last returns the last handshake that has a group, waiting up to timeout;
// when the trace ends or time is up first, it returns the last handshake
// seen even without a group.
func (t *opensslTrace) last(timeout time.Duration) (traceHandshake, error) {
	var h traceHandshake
	seen := false
	t.waitUntil(timeout, func() bool {
		n := len(t.order)
		if n == 0 {
			return false
		}
		h, seen = *t.hs[t.order[n-1]], true
		return h.group != 0
	})
	if !seen {
		return traceHandshake{}, fmt.Errorf("no ClientHello in the OpenSSL trace")
	}
	return h, nil
}

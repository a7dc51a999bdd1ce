package observe

import (
	"crypto/tls"
	"time"

	"github.com/pqtls/pqtls"
)

// Sources of a flow record (the Flow.Source field).
const (
	// SourceCapture: the record comes from packets (a capture file or a
	// live interface).
	SourceCapture = "capture"
	// SourceLog: the record comes from one line of a server's log.
	SourceLog = "log"
)

// ReasonGroupNotLogged: a TLS 1.3 handshake read from a log that does not
// carry the negotiated group (the format cannot say whether it was hybrid).
const ReasonGroupNotLogged = "group_not_logged"

// opensslSuites maps OpenSSL's names of TLS 1.2 suites (what nginx
// $ssl_cipher, HAProxy %sslc and AWS logs write) to their codepoints. TLS
// 1.3 suites have the same name in OpenSSL and IANA.
var opensslSuites = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
}

// suiteIDs maps Go's (IANA) suite names to their codepoints.
var suiteIDs = func() map[string]uint16 {
	m := map[string]uint16{}
	for id, n := range suiteNames {
		m[n] = id
	}
	return m
}()

// CipherSuiteID returns the codepoint of a cipher suite named as logs name
// it (IANA, as Go, Envoy and Zeek write it, or OpenSSL's TLS 1.2 names), or
// 0 when unknown (counted as "other" in tls_handshake_cipher_total).
func CipherSuiteID(name string) uint16 {
	if id, ok := suiteIDs[name]; ok {
		return id
	}
	return opensslSuites[name]
}

// LogHandshake is one handshake as a log line reports it: only what the log
// carries. The observe/accesslog package fills it from each format.
type LogHandshake struct {
	// Time of the line; zero when the format has no timestamp.
	Time time.Time
	// Client and Server as "ip:port" or "ip"; empty when not logged.
	Client, Server string
	SNI            string
	// Version is the negotiated protocol version (tls.VersionTLS13...); 0
	// when not logged.
	Version uint16
	// Group is the negotiated key exchange group, valid when GroupLogged.
	Group       tls.CurveID
	GroupLogged bool
	// Offered are the client's supported groups, when the log lists them
	// (nginx $ssl_curves).
	Offered []tls.CurveID
	// Cipher is the cipher suite name as logged.
	Cipher  string
	Resumed bool
	HRR     bool
	// Failed is the reason of a handshake the log reports as failed (a
	// pqtls.Reason* value or alert_<name>); empty for a completed one.
	Failed string
}

// FlowFromLog turns a logged handshake into a pqtls.observe/v1 record with
// source "log". The outcome follows the same rules as for packets: TLS 1.2
// or older is tls12; otherwise the group's kind decides (hybrid, pq,
// classical, draft, unknown_group). A TLS 1.3 handshake whose log line has
// no group is incomplete (group_not_logged): the log cannot tell.
func FlowFromLog(h *LogHandshake) *Flow {
	t := h.Time
	if t.IsZero() {
		t = time.Now().UTC()
	}
	f := &Flow{Schema: Schema, Source: SourceLog, FirstSeen: t, LastSeen: t, Client: h.Client, Server: h.Server,
		SNI: h.SNI, CipherSuite: h.Cipher, HRR: h.HRR, OfferedGroups: make([]string, 0, len(h.Offered)), KeyShares: []KeyShare{}}
	for _, g := range h.Offered {
		f.OfferedGroups = append(f.OfferedGroups, groupName(g))
	}
	if h.Version != 0 {
		f.Version = pqtls.VersionName(h.Version)
		f.version = h.Version
	}
	f.suite = CipherSuiteID(h.Cipher)
	if h.Resumed {
		f.Resumption = "session"
		if h.Version >= tls.VersionTLS13 {
			f.Resumption = "psk"
		}
	}
	if h.GroupLogged {
		f.selected, f.groupSet = h.Group, true
		f.SelectedGroup = groupName(h.Group)
		f.SelectedKind = string(pqtls.GroupKind(h.Group))
		if h.HRR {
			f.HRRGroup = f.SelectedGroup
		}
	}
	switch {
	case h.Failed != "":
		f.Outcome, f.Reason = OutcomeFailed, h.Failed
		f.selected, f.groupSet, f.SelectedGroup, f.SelectedKind = 0, false, "", ""
	case h.Version != 0 && h.Version < tls.VersionTLS13:
		f.Outcome = OutcomeTLS12
	case h.GroupLogged:
		f.Outcome = outcomeForGroup(h.Group)
	default:
		f.Outcome, f.Reason = OutcomeIncomplete, ReasonGroupNotLogged
	}
	return f
}

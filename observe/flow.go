package observe

import (
	"crypto/tls"
	"slices"
	"time"

	"github.com/pqtls/pqtls"
)

// Schema is the "schema" field of every JSONL flow record.
const Schema = "pqtls.observe/v1"

// Outcomes of a TLS flow (the Flow.Outcome field).
const (
	// OutcomeHybrid: TLS 1.3, the server selected a hybrid ML-KEM group.
	OutcomeHybrid = "hybrid"
	// OutcomePQ: TLS 1.3, the server selected a pure ML-KEM group.
	OutcomePQ = "pq"
	// OutcomeClassical: TLS 1.3, the server selected a classical group.
	OutcomeClassical = "classical"
	// OutcomeDraft: TLS 1.3 with an obsolete pre-standard Kyber draft group.
	OutcomeDraft = "draft"
	// OutcomeUnknownGroup: TLS 1.3 with a group outside the registry.
	OutcomeUnknownGroup = "unknown_group"
	// OutcomeTLS12: the server negotiated TLS 1.2 or older (never PQ).
	OutcomeTLS12 = "tls12"
	// OutcomeFailed: alert, reset or close after the ClientHello, before the
	// key exchange completed.
	OutcomeFailed = "failed"
	// OutcomeIncomplete: the capture does not show how the handshake ended
	// (capture ended, snaplen cut, missing segments, server side unseen).
	OutcomeIncomplete = "incomplete"
)

// Outcomes lists every outcome, in table order.
var Outcomes = []string{OutcomeHybrid, OutcomePQ, OutcomeClassical, OutcomeDraft, OutcomeUnknownGroup, OutcomeTLS12, OutcomeFailed, OutcomeIncomplete}

// Reasons of an incomplete or failed flow, beside pqtls.ReasonReset,
// pqtls.ReasonEOF and "alert_<name>". They are the reason label of
// tls_handshake_errors_total{role="observed"}, whose bounded set lives in the
// root package (pqtls.KnownReason): a new reason goes there first, or it is
// counted as "other".
const (
	// ReasonNoServerHello: the capture ended (or the flow went idle) after
	// the ClientHello with no answer seen.
	ReasonNoServerHello = pqtls.ReasonNoServerHello
	// ReasonSnaplen: a packet needed for the handshake was cut by the
	// capture's snaplen.
	ReasonSnaplen = pqtls.ReasonSnaplen
	// ReasonMissingSegments: TCP bytes needed for the handshake never
	// appeared in the capture.
	ReasonMissingSegments = pqtls.ReasonMissingSegments
	// ReasonTooLarge: the handshake flight exceeded the per-flow buffer.
	ReasonTooLarge = pqtls.ReasonTooLarge
	// ReasonBufferBudget: the flow was decided early to keep the handshake
	// bytes buffered across all flows under Options.MaxBufferBytes. Only
	// an incomplete flow has it, so it is never a metric label.
	ReasonBufferBudget = "buffer_budget"
)

// Notes qualify a flow record (Flow.Notes).
const (
	// NoteNoSYN: the TCP handshake was not in the capture (half-seen flow);
	// the stream was picked up at the first TLS record.
	NoteNoSYN = "no_syn"
	// NoteClientHelloUnseen: the ClientHello is not in the capture (only
	// the server's side was captured); the outcome comes from the
	// ServerHello alone and the client fields are empty.
	NoteClientHelloUnseen = "client_hello_unseen"
	// NotePostgresSSLRequest: the TLS handshake followed a PostgreSQL
	// SSLRequest and the server's 'S' (sslmode=prefer/require/verify-*).
	NotePostgresSSLRequest = "postgres_sslrequest"
	// NoteResetByClient: the reset came from the client's side (the client
	// gave up), not from the server or a middlebox on its behalf.
	NoteResetByClient = "reset_by_client"
	// NoteServerUnseen: not a single packet from the server was captured.
	NoteServerUnseen = "server_unseen"
	// NoteRetransmission: some handshake bytes were retransmitted.
	NoteRetransmission = "retransmission"
	// NoteOutOfOrder: some handshake segments arrived out of order.
	NoteOutOfOrder = "out_of_order"
	// NoteOverlapConflict: retransmitted bytes differed from the first copy
	// (the first copy was kept).
	NoteOverlapConflict = "overlap_conflict"
	// NoteDowngradeSentinel: a TLS 1.2 ServerHello carried the RFC 8446
	// downgrade sentinel, i.e. a TLS 1.3 server was pushed down to 1.2.
	NoteDowngradeSentinel = "downgrade_sentinel"
)

// Authentication capabilities of a client, from its ClientHello (the
// Flow.AuthCapability field and the capability label of
// pqtls_observe_client_auth_total): could it take an ML-DSA certificate?
const (
	// AuthCapMLDSA: the client offers TLS 1.3 and an ML-DSA signature
	// scheme (mldsa44, mldsa65 or mldsa87): a server may present an
	// ML-DSA chain to it today.
	AuthCapMLDSA = "ml-dsa"
	// AuthCapClassical: TLS 1.3 offered, no ML-DSA signature scheme.
	AuthCapClassical = "classical"
	// AuthCapTLS12Only: the client offers no TLS 1.3, and ML-DSA exists
	// only in TLS 1.3.
	AuthCapTLS12Only = "tls12_only"
)

// AuthCapabilities lists every authentication capability, in table order.
var AuthCapabilities = []string{AuthCapMLDSA, AuthCapClassical, AuthCapTLS12Only}

// authCapability classifies a ClientHello's offer (its supported_versions,
// or its legacy version without that extension, and signature_algorithms).
func authCapability(versions []uint16, schemes []tls.SignatureScheme) string {
	if !slices.Contains(versions, tls.VersionTLS13) {
		return AuthCapTLS12Only
	}
	if slices.ContainsFunc(schemes, pqtls.IsMLDSAScheme) {
		return AuthCapMLDSA
	}
	return AuthCapClassical
}

// KeyShare is one key_share entry: its group and the size in bytes of its
// key_exchange field.
type KeyShare struct {
	Group string `json:"group"`
	Size  int    `json:"size"`
}

// Flow is one TLS flow as observed on the wire: the JSONL record of
// pqtls.observe/v1. Group names are IANA names (pqtls.GroupName), with
// codepoints outside the registry (and GREASE values) as "0x1234".
type Flow struct {
	Schema string `json:"schema"`
	// Source is SourceCapture (packets) or SourceLog (a log line).
	Source    string    `json:"source"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Client    string    `json:"client"`
	Server    string    `json:"server"`
	SNI       string    `json:"sni,omitempty"`
	// ALPNOffered is the client's ALPN list; ALPN the server's choice,
	// visible only in TLS 1.2 (TLS 1.3 encrypts it).
	ALPNOffered     []string   `json:"alpn_offered,omitempty"`
	ALPN            string     `json:"alpn,omitempty"`
	Version         string     `json:"version,omitempty"`
	OfferedVersions []string   `json:"offered_versions,omitempty"`
	OfferedGroups   []string   `json:"offered_groups"`
	KeyShares       []KeyShare `json:"key_shares"`
	// OfferedSignatureAlgorithms is the client's signature_algorithms
	// list (IANA names, "mldsa65"; others as "0x1234"), and AuthCapability
	// what it says about ML-DSA: ml-dsa, classical or tls12_only (empty
	// when the ClientHello was not seen).
	OfferedSignatureAlgorithms []string `json:"offered_signature_algorithms,omitempty"`
	AuthCapability             string   `json:"auth_capability,omitempty"`
	// ClientHelloBytes is the handshake message size (4-byte header
	// included); records and TCP segments it took to carry it.
	ClientHelloBytes    int `json:"client_hello_bytes"`
	ClientHelloRecords  int `json:"client_hello_records"`
	ClientHelloSegments int `json:"client_hello_segments"`
	// HRR: the server answered with a HelloRetryRequest for HRRGroup;
	// RetryKeyShares are the shares of the second ClientHello.
	HRR            bool       `json:"hrr"`
	HRRGroup       string     `json:"hrr_group,omitempty"`
	RetryKeyShares []KeyShare `json:"retry_key_shares,omitempty"`
	// SelectedGroup is the group of the server's key share (TLS 1.3) or of
	// its ECDHE ServerKeyExchange (TLS 1.2); SelectedKind its kind.
	SelectedGroup    string `json:"selected_group,omitempty"`
	SelectedKind     string `json:"selected_kind,omitempty"`
	ServerShareBytes int    `json:"server_share_bytes,omitempty"`
	CipherSuite      string `json:"cipher_suite,omitempty"`
	// PSKOffered: the client offered a TLS 1.3 pre_shared_key (resumption
	// attempt). Resumption: "psk" (TLS 1.3 server accepted a PSK) or
	// "session" (TLS 1.2 abbreviated handshake); empty for a full handshake.
	PSKOffered bool   `json:"psk_offered"`
	Resumption string `json:"resumption,omitempty"`
	Outcome    string `json:"outcome"`
	// Reason explains a failed or incomplete outcome.
	Reason string   `json:"reason,omitempty"`
	Notes  []string `json:"notes,omitempty"`

	selected tls.CurveID // for metrics
	groupSet bool
	version  uint16 // negotiated version, 0 when unknown
	suite    uint16 // negotiated cipher suite, 0 when unknown
}

// SelectedGroupID returns the selected group codepoint and whether there is
// one.
func (f *Flow) SelectedGroupID() (tls.CurveID, bool) { return f.selected, f.groupSet }

func groupName(id tls.CurveID) string { return pqtls.GroupName(id) }

func outcomeForGroup(id tls.CurveID) string {
	switch pqtls.GroupKind(id) {
	case pqtls.KindHybrid:
		return OutcomeHybrid
	case pqtls.KindPQ:
		return OutcomePQ
	case pqtls.KindClassical:
		return OutcomeClassical
	case pqtls.KindDraft:
		return OutcomeDraft
	}
	return OutcomeUnknownGroup
}

func (f *Flow) addNote(n string) {
	for _, x := range f.Notes {
		if x == n {
			return
		}
	}
	f.Notes = append(f.Notes, n)
}

package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"
)

// Record is one TLS record (RFC 8446 section 5.1). Payload is the
// fragment: plaintext for handshake, alert and change_cipher_spec records,
// opaque ciphertext for application_data.
type Record struct {
	Type    ContentType
	Version uint16
	Payload []byte
}

// Marshal returns the record with its 5-byte header. It fails if the payload
// is longer than a record can carry (2^16-1 bytes).
func (r Record) Marshal() ([]byte, error) {
	b := cryptobyte.NewFixedBuilder(make([]byte, 0, RecordHeaderLen+len(r.Payload)))
	b.AddUint8(uint8(r.Type))
	b.AddUint16(r.Version)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(r.Payload) })
	return b.Bytes()
}

// EncodeRecords splits payload into records of the given type and version
// (record-layer fragmentation, RFC 8446 section 5.1). fragments lists the
// payload size of the first records in order; what remains after them is sent
// in records of at most [MaxPlaintext] bytes. Each size must be between 1 and
// MaxPlaintext (zero-length handshake fragments are forbidden by RFC 8446
// section 5.1). Sizes that add up to more than the payload are an error, so a
// caller never silently gets fewer records than it asked for.
func EncodeRecords(typ ContentType, version uint16, payload []byte, fragments []int) ([]byte, error) {
	if len(payload) == 0 {
		return nil, errors.New("wire: cannot encode an empty record payload")
	}
	out := make([]byte, 0, len(payload)+RecordHeaderLen*(len(fragments)+1+len(payload)/MaxPlaintext))
	rest := payload
	add := func(n int) {
		out = append(out, byte(typ), byte(version>>8), byte(version), byte(n>>8), byte(n))
		out = append(out, rest[:n]...)
		rest = rest[n:]
	}
	for i, n := range fragments {
		if n < 1 || n > MaxPlaintext {
			return nil, fmt.Errorf("wire: record fragment %d has size %d; use 1..%d", i, n, MaxPlaintext)
		}
		if n > len(rest) {
			return nil, fmt.Errorf("wire: record fragment sizes add up to more than the %d-byte payload; use smaller sizes", len(payload))
		}
		add(n)
	}
	for len(rest) > 0 {
		add(min(len(rest), MaxPlaintext))
	}
	return out, nil
}

// NotTLSError is returned by [Reader] when the first bytes the peer sent are
// not a TLS record header: the port speaks another protocol.
type NotTLSError struct {
	// Prefix holds the first bytes received (at most 5).
	Prefix []byte
	// Protocol is a best guess of what answered: "http", "ssh", "smtp/ftp"
	// (a "220" banner), "pop3", "imap", "redis", "sslv2", "text" or "binary".
	Protocol string
}

// Error describes the reply and what to check next.
func (e *NotTLSError) Error() string {
	return fmt.Sprintf("peer did not answer with TLS (looks like %s, first bytes %q): check the port, or whether the service needs a STARTTLS preamble", e.Protocol, e.Prefix)
}

// guessProtocol names the protocol a non-TLS reply most likely belongs to.
func guessProtocol(p []byte) string {
	switch {
	case bytes.HasPrefix(p, []byte("HTTP/")), bytes.HasPrefix(p, []byte("<!DOC")), bytes.HasPrefix(p, []byte("<html")):
		return "http"
	case bytes.HasPrefix(p, []byte("SSH-")):
		return "ssh"
	case bytes.HasPrefix(p, []byte("220")):
		return "smtp/ftp"
	case bytes.HasPrefix(p, []byte("+OK")):
		return "pop3"
	case bytes.HasPrefix(p, []byte("* OK")), bytes.HasPrefix(p, []byte("* PRE")):
		return "imap"
	case bytes.HasPrefix(p, []byte("-ERR")), bytes.HasPrefix(p, []byte("+PONG")), bytes.HasPrefix(p, []byte("-NOAU")):
		return "redis"
	case bytes.HasPrefix(p, []byte("<?xml")), bytes.HasPrefix(p, []byte("<stre")):
		return "xmpp"
	case len(p) >= 3 && p[0]&0x80 != 0 && p[2] == 4: // SSLv2 SERVER-HELLO (msg_type 4)
		return "sslv2"
	}
	for _, c := range p {
		if (c < 0x20 || c > 0x7e) && c != '\r' && c != '\n' && c != '\t' {
			return "binary"
		}
	}
	return "text"
}

// plausibleHeader reports whether the first bytes of a stream can start a TLS
// record header: a known content type, major version 3, minor version 0..4.
func plausibleHeader(p []byte) bool {
	if len(p) >= 1 && (p[0] < byte(ContentChangeCipherSpec) || p[0] > byte(ContentHeartbeat)) {
		return false
	}
	if len(p) >= 2 && p[1] != 3 {
		return false
	}
	if len(p) >= 3 && p[2] > 4 {
		return false
	}
	return true
}

// Message is one unit of a TLS stream as returned by [Reader.ReadMessage]: a
// complete handshake message (reassembled across records if needed) or one
// non-handshake record.
type Message struct {
	// ContentType is the record content type that carried the message.
	ContentType ContentType
	// RecordVersion is the legacy_record_version of the first record that
	// carried the message.
	RecordVersion uint16
	// HandshakeType is the handshake message type; only meaningful when
	// ContentType is ContentHandshake.
	HandshakeType HandshakeType
	// Data is the complete handshake message including its 4-byte header, or
	// the record payload for other content types.
	Data []byte
	// Records is the number of records the message spanned (handshake
	// messages can span several and several can share one record; a message
	// that starts in a record shared with a previous one counts that record).
	Records int
}

// Reader reads TLS records from a stream and reassembles handshake messages
// (RFC 8446 section 5.1). It reads exactly the bytes of each record and never
// more, so BytesRead is precise and the stream can be handed over afterwards.
// A Reader is not safe for concurrent use.
type Reader struct {
	r io.Reader
	// MaxRecordSize bounds a record's payload length; a longer record is an
	// error. Zero means [MaxCiphertext12] (2^14 + 2048).
	MaxRecordSize int
	// MaxHandshakeSize bounds a reassembled handshake message (header
	// included). Zero means 256 KiB, enough for large certificate chains.
	MaxHandshakeSize int
	// MaxChangeCipherSpec bounds the change_cipher_spec records of the
	// stream; one more is an error, so that a hostile peer cannot keep a
	// reader busy with endless 6-byte records. Zero means
	// [DefaultMaxChangeCipherSpec].
	MaxChangeCipherSpec int

	n       int64
	records int
	ccs     int
	hs      []byte // buffered handshake bytes not yet returned
	hsVer   uint16
	hsRecs  int
	hdr     [RecordHeaderLen]byte
}

// DefaultMaxChangeCipherSpec is the default [Reader.MaxChangeCipherSpec]: a
// peer sends one change_cipher_spec per handshake (TLS 1.2, or the TLS 1.3
// middlebox-compatibility record of RFC 8446 appendix D.4); one more is
// tolerated (some servers send one before their ServerHello).
const DefaultMaxChangeCipherSpec = 2

// NewReader returns a Reader on r with the default limits.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

// BytesRead returns the number of bytes read from the underlying reader.
func (r *Reader) BytesRead() int64 { return r.n }

// Records returns the number of records read so far.
func (r *Reader) Records() int { return r.records }

func (r *Reader) maxRecord() int {
	if r.MaxRecordSize > 0 {
		return r.MaxRecordSize
	}
	return MaxCiphertext12
}

func (r *Reader) maxCCS() int {
	if r.MaxChangeCipherSpec > 0 {
		return r.MaxChangeCipherSpec
	}
	return DefaultMaxChangeCipherSpec
}

func (r *Reader) maxHandshake() int {
	if r.MaxHandshakeSize > 0 {
		return r.MaxHandshakeSize
	}
	return 256 << 10
}

// ReadRecord reads one record. Before the first record it checks that the
// stream looks like TLS at all and returns a [*NotTLSError] otherwise. A
// stream that ends cleanly between records returns io.EOF; one that ends
// inside a record returns io.ErrUnexpectedEOF. ReadRecord must not be mixed
// with ReadMessage while a handshake message is partially buffered.
func (r *Reader) ReadRecord() (Record, error) {
	first := r.records == 0
	n, err := io.ReadFull(r.r, r.hdr[:])
	r.n += int64(n)
	if first && n > 0 && !plausibleHeader(r.hdr[:n]) {
		p := append([]byte(nil), r.hdr[:n]...)
		return Record{}, &NotTLSError{Prefix: p, Protocol: guessProtocol(p)}
	}
	if err != nil {
		if err == io.ErrUnexpectedEOF {
			return Record{}, fmt.Errorf("wire: stream ended inside a record header (%d of 5 bytes): %w", n, err)
		}
		return Record{}, err
	}
	typ := ContentType(r.hdr[0])
	ver := uint16(r.hdr[1])<<8 | uint16(r.hdr[2])
	length := int(r.hdr[3])<<8 | int(r.hdr[4])
	if !plausibleHeader(r.hdr[:3]) {
		return Record{}, malformed("record header %x: unknown content type or version", r.hdr[:])
	}
	if length > r.maxRecord() {
		return Record{}, malformed("record of %d bytes exceeds the %d-byte limit (record_overflow)", length, r.maxRecord())
	}
	if length == 0 && typ != ContentApplicationData {
		return Record{}, malformed("empty %s record", typ)
	}
	if typ == ContentChangeCipherSpec {
		if r.ccs++; r.ccs > r.maxCCS() {
			return Record{}, malformed("more than %d change_cipher_spec records (a peer sends one per handshake)", r.maxCCS())
		}
	}
	payload := make([]byte, length)
	n, err = io.ReadFull(r.r, payload)
	r.n += int64(n)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Record{}, fmt.Errorf("wire: stream ended inside a %d-byte %s record after %d bytes: %w", length, typ, n, err)
	}
	r.records++
	return Record{Type: typ, Version: ver, Payload: payload}, nil
}

// ReadMessage returns the next complete handshake message, reassembling it
// across records and splitting records that carry several messages, or the
// next non-handshake record as is. A non-handshake record arriving while a
// handshake message is incomplete is an error (RFC 8446 section 5.1 forbids
// interleaving). io.EOF means the stream ended cleanly at a message boundary.
func (r *Reader) ReadMessage() (Message, error) {
	for {
		if len(r.hs) >= HandshakeHeaderLen {
			n := int(r.hs[1])<<16 | int(r.hs[2])<<8 | int(r.hs[3])
			if HandshakeHeaderLen+n > r.maxHandshake() {
				return Message{}, malformed("%s message of %d bytes exceeds the %d-byte limit", HandshakeType(r.hs[0]), n, r.maxHandshake())
			}
			if len(r.hs) >= HandshakeHeaderLen+n {
				m := Message{
					ContentType:   ContentHandshake,
					RecordVersion: r.hsVer,
					HandshakeType: HandshakeType(r.hs[0]),
					Data:          r.hs[: HandshakeHeaderLen+n : HandshakeHeaderLen+n],
					Records:       r.hsRecs,
				}
				r.hs = r.hs[HandshakeHeaderLen+n:]
				if len(r.hs) == 0 {
					r.hs = nil
					r.hsRecs = 0
				} else {
					r.hsRecs = 1 // the next message starts in the current record
				}
				return m, nil
			}
		}
		rec, err := r.ReadRecord()
		if err != nil {
			if err == io.EOF && len(r.hs) > 0 {
				return Message{}, fmt.Errorf("wire: stream ended inside a handshake message (%d bytes buffered): %w", len(r.hs), io.ErrUnexpectedEOF)
			}
			return Message{}, err
		}
		if rec.Type != ContentHandshake {
			if len(r.hs) > 0 {
				return Message{}, malformed("%s record interleaved with a partial handshake message", rec.Type)
			}
			return Message{ContentType: rec.Type, RecordVersion: rec.Version, Data: rec.Payload, Records: 1}, nil
		}
		if len(r.hs) == 0 {
			r.hsVer = rec.Version
			r.hs = rec.Payload
			r.hsRecs = 1
			continue
		}
		if len(r.hs)+len(rec.Payload) > r.maxHandshake()+HandshakeHeaderLen {
			return Message{}, malformed("handshake data exceeds the %d-byte limit", r.maxHandshake())
		}
		r.hs = append(append(make([]byte, 0, len(r.hs)+len(rec.Payload)), r.hs...), rec.Payload...)
		r.hsRecs++
	}
}

// Buffered reports how many handshake bytes are buffered but not yet returned
// by ReadMessage.
func (r *Reader) Buffered() int { return len(r.hs) }

// splitHandshake checks a handshake message header and returns its type and
// body; the length in the header must match the message exactly.
func splitHandshake(msg []byte, want HandshakeType) ([]byte, error) {
	if len(msg) < HandshakeHeaderLen {
		return nil, malformed("handshake message of %d bytes is shorter than its header", len(msg))
	}
	if HandshakeType(msg[0]) != want {
		return nil, malformed("got %s, want %s", HandshakeType(msg[0]), want)
	}
	n := int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3])
	if n != len(msg)-HandshakeHeaderLen {
		return nil, malformed("%s header says %d bytes, message has %d", want, n, len(msg)-HandshakeHeaderLen)
	}
	return msg[HandshakeHeaderLen:], nil
}

// Extension is a raw extension: its codepoint and its extension_data.
type Extension struct {
	Type uint16
	Data []byte
}

var extensionNames = map[uint16]string{
	ExtServerName:           "server_name",
	ExtStatusRequest:        "status_request",
	ExtSupportedGroups:      "supported_groups",
	ExtECPointFormats:       "ec_point_formats",
	ExtSignatureAlgorithms:  "signature_algorithms",
	ExtALPN:                 "application_layer_protocol_negotiation",
	ExtSCT:                  "signed_certificate_timestamp",
	ExtPadding:              "padding",
	ExtExtendedMasterSecret: "extended_master_secret",
	ExtSessionTicket:        "session_ticket",
	ExtPreSharedKey:         "pre_shared_key",
	ExtEarlyData:            "early_data",
	ExtSupportedVersions:    "supported_versions",
	ExtCookie:               "cookie",
	ExtPSKModes:             "psk_key_exchange_modes",
	ExtSignatureAlgsCert:    "signature_algorithms_cert",
	ExtKeyShare:             "key_share",
	ExtRenegotiationInfo:    "renegotiation_info",
}

// ExtensionName returns the IANA name of an extension codepoint, or its
// number when the package does not know it.
func ExtensionName(t uint16) string { return enumName(extensionNames, t, "extension(%d)") }

// knownExtension reports whether ExtensionName has a name for t.
func knownExtension(t uint16) bool { _, ok := extensionNames[t]; return ok }

// readExtensions parses an extensions block (RFC 8446 section 4.2) into its
// raw entries, rejecting duplicates (RFC 8446 section 4.2: "There MUST NOT be
// more than one extension of the same type in a given extension block").
func readExtensions(s *cryptobyte.String) ([]Extension, error) {
	var block cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&block) {
		return nil, malformed("truncated extensions block")
	}
	var exts []Extension
	seen := make(map[uint16]bool)
	for !block.Empty() {
		var e Extension
		var data cryptobyte.String
		if !block.ReadUint16(&e.Type) || !block.ReadUint16LengthPrefixed(&data) {
			return nil, malformed("truncated extension")
		}
		if seen[e.Type] {
			return nil, malformed("duplicate %s extension", ExtensionName(e.Type))
		}
		seen[e.Type] = true
		e.Data = data
		exts = append(exts, e)
	}
	return exts, nil
}

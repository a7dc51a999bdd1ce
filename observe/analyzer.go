package observe

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/starttls"
	"github.com/pqtls/pqtls/internal/wire"
)

// Options bound the analyzer's memory. Zero values mean the defaults.
type Options struct {
	// IdleTimeout evicts a flow with no packet for this long, in capture
	// time. Default 2 minutes.
	IdleTimeout time.Duration
	// MaxFlows bounds the flow table; connections that find it full are
	// not tracked, counted in Stats.DroppedFlows (their packets in
	// Stats.DroppedPackets). Default 100000.
	MaxFlows int
	// MaxBufferBytes bounds the handshake bytes buffered across all flows
	// (reassembly buffers and out-of-order segments). Beyond it the flows
	// that started buffering first are decided as incomplete
	// (ReasonBufferBudget) and their buffers freed, counted in
	// Stats.EvictedFlows. Default DefaultMaxBufferBytes.
	MaxBufferBytes int64
	// MaxHandshakeBytes bounds the bytes buffered per direction of a flow
	// while its handshake is read. Default 64 KiB.
	MaxHandshakeBytes int
	// Logger receives debug lines about skipped packets and malformed
	// handshakes; nil discards them.
	Logger *slog.Logger
}

// Stats counts what the analyzer saw.
type Stats struct {
	Packets     int64 `json:"packets"`
	Bytes       int64 `json:"bytes"`
	TCPPackets  int64 `json:"tcp_packets"`
	Undecodable int64 `json:"undecodable_packets"`
	UnknownLink int64 `json:"unsupported_link_type_packets"`
	IPFragments int64 `json:"ip_fragments"`
	Flows       int64 `json:"tls_flows"`
	Malformed   int64 `json:"malformed_handshakes"`
	NotTLS      int64 `json:"non_tls_flows"`
	Untracked   int64 `json:"untracked_flows"`
	// DroppedFlows counts connections not tracked because the flow table
	// was full (see droppedSet for how they are told apart);
	// DroppedPackets counts their packets.
	DroppedFlows   int64 `json:"dropped_flows"`
	DroppedPackets int64 `json:"dropped_packets"`
	// EvictedFlows counts flows decided early (incomplete, reason
	// buffer_budget) to keep the buffered handshake bytes under
	// Options.MaxBufferBytes. BufferedBytes is what is buffered now,
	// PeakBufferedBytes the most ever buffered at once.
	EvictedFlows      int64 `json:"evicted_flows"`
	BufferedBytes     int64 `json:"buffered_bytes"`
	PeakBufferedBytes int64 `json:"peak_buffered_bytes"`
	FiltersOut        int64 `json:"filtered_packets"`
	ActiveFlows       int   `json:"active_flows"`
	PeakFlows         int   `json:"peak_flows"`
	TruncatedPkts     int64 `json:"truncated_packets"`
	// KernelDrops counts packets the kernel dropped before the live capture
	// could read them (socket buffer full); always 0 for a file.
	KernelDrops int64 `json:"kernel_dropped_packets"`
}

type flowKey struct{ a, b netip.AddrPort }

func keyOf(src, dst netip.AddrPort) flowKey {
	if src.Addr().Less(dst.Addr()) || (src.Addr() == dst.Addr() && src.Port() < dst.Port()) {
		return flowKey{src, dst}
	}
	return flowKey{dst, src}
}

// flowState is the analyzer's state for one TCP connection. dir[0] carries
// bytes from the client, dir[1] from the server.
type flowState struct {
	client, server netip.AddrPort
	dir            [2]stream
	rec            Flow
	state          int
	ch             *wire.ClientHello
	last           time.Time
	pg             uint8 // PostgreSQL SSLRequest: 1 seen, 2 answered 'S'
	// held is the number of buffered bytes accounted for this flow in
	// Analyzer.buffered; older/newer link the flows with held > 0, in the
	// order they started buffering (see budget.go).
	held         int64
	older, newer *flowState
}

const (
	stWaitCH  = iota // waiting for the ClientHello
	stWaitSH         // ClientHello seen, waiting for the ServerHello/HRR
	stWaitCH2        // HRR seen, waiting for the second ClientHello
	stWaitSH2        // second ClientHello seen, waiting for the ServerHello
	stTLS12          // TLS 1.2 ServerHello seen, waiting for ServerKeyExchange
	stDone           // record emitted; the flow is a tombstone
	stIgnored        // not TLS, malformed or picked up midstream
)

// Analyzer turns captured packets into TLS flow records. It is not safe for
// concurrent use.
type Analyzer struct {
	opts      Options
	log       *slog.Logger
	emit      func(*Flow)
	flows     map[flowKey]*flowState
	stats     Stats
	now       time.Time
	lastSweep time.Time
	sweeps    int // for tests: how often the table was swept
	seg       segment
	budget    budget
	dropped   droppedSet
}

// fullSweepEvery bounds how often a full flow table is swept.
const fullSweepEvery = time.Second

// NewAnalyzer returns an analyzer that calls emit once per TLS flow, when
// its outcome is known (or at Flush for flows still open).
func NewAnalyzer(opts Options, emit func(*Flow)) *Analyzer {
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 2 * time.Minute
	}
	if opts.MaxFlows <= 0 {
		opts.MaxFlows = 100000
	}
	if opts.MaxHandshakeBytes <= 0 {
		opts.MaxHandshakeBytes = 64 << 10
	}
	if opts.MaxBufferBytes <= 0 {
		opts.MaxBufferBytes = DefaultMaxBufferBytes
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Analyzer{opts: opts, log: log, emit: emit, flows: make(map[flowKey]*flowState)}
}

// Stats returns the counters so far.
func (a *Analyzer) Stats() Stats {
	s := a.stats
	s.ActiveFlows = len(a.flows)
	s.BufferedBytes = a.budget.used
	return s
}

// Packet feeds one captured packet (starting at the link-layer header of
// linkType). data may be reused by the caller after Packet returns.
func (a *Analyzer) Packet(ts time.Time, linkType int, data []byte) {
	a.stats.Packets++
	a.stats.Bytes += int64(len(data))
	if ts.After(a.now) {
		a.now = ts
	}
	if a.lastSweep.IsZero() {
		a.lastSweep = a.now
	} else if a.now.Sub(a.lastSweep) > a.opts.IdleTimeout/4 {
		a.sweep()
	}
	seg := &a.seg
	if err := decodePacket(linkType, data, seg); err != nil {
		if errors.Is(err, errIPFragment) {
			a.stats.IPFragments++
		} else if errors.Is(err, errUnknownLink) {
			a.stats.UnknownLink++
		} else if !errors.Is(err, errNotTCP) {
			a.stats.Undecodable++
		}
		return
	}
	a.stats.TCPPackets++
	if len(seg.payload) < seg.wireLen {
		a.stats.TruncatedPkts++
	}
	a.tcp(ts, seg)
}

// tcp feeds one segment to its flow's reassembly.
//
// long: the TCP state machine (SYN, data, FIN/RST, retransmission,
// overlap, reordering), one case per segment condition, kept together so
// it can be audited against RFC 9293 in one read.
func (a *Analyzer) tcp(ts time.Time, seg *segment) {
	k := keyOf(seg.src, seg.dst)
	f := a.flows[k]
	if f != nil && f.state >= stDone && seg.flags&(flagSYN|flagACK) == flagSYN {
		delete(a.flows, k) // the 4-tuple is reused by a new connection
		f = nil
	}
	if f == nil {
		if seg.flags&flagRST != 0 || (seg.flags&flagSYN == 0 && seg.wireLen == 0) {
			return // nothing to learn from a lone ACK or RST
		}
		if len(a.flows) >= a.opts.MaxFlows {
			// A full table is swept at most once per fullSweepEvery of
			// capture time: sweeping it for every new flow (a SYN flood, a
			// scan) would cost O(MaxFlows) per packet.
			if a.now.Sub(a.lastSweep) >= min(fullSweepEvery, a.opts.IdleTimeout/4) {
				a.sweep()
			}
			if len(a.flows) >= a.opts.MaxFlows {
				a.stats.DroppedPackets++
				if a.dropped.add(k, seg.flags) {
					a.stats.DroppedFlows++
				}
				return
			}
		}
		f = &flowState{}
		switch {
		case seg.flags&(flagSYN|flagACK) == flagSYN:
			f.client, f.server = seg.src, seg.dst
		case seg.flags&(flagSYN|flagACK) == flagSYN|flagACK:
			f.client, f.server = seg.dst, seg.src
		case looksLikeHello(seg.payload, wire.TypeClientHello):
			f.client, f.server = seg.src, seg.dst
			f.rec.addNote(NoteNoSYN)
			f.dir[0].start(seg.seq)
		case looksLikeHello(seg.payload, wire.TypeServerHello):
			// Only the server's side may be in the capture (one-way mirror).
			f.client, f.server = seg.dst, seg.src
			f.rec.addNote(NoteNoSYN)
			f.dir[1].start(seg.seq)
		default:
			// Midstream data without a ClientHello: nothing to observe.
			a.stats.Untracked++
			f.state = stIgnored
		}
		f.rec.FirstSeen = ts
		a.flows[k] = f
		if len(a.flows) > a.stats.PeakFlows {
			a.stats.PeakFlows = len(a.flows)
		}
	}
	defer a.settle(k, f)
	f.last = ts
	f.rec.LastSeen = ts
	d := 0
	if seg.src != f.client {
		d = 1
	}
	s := &f.dir[d]
	s.seen = true
	if f.state >= stDone {
		if seg.flags&(flagFIN|flagRST) != 0 {
			if seg.flags&flagRST != 0 || (d == 0 && f.dir[1].fin) || (d == 1 && f.dir[0].fin) {
				delete(a.flows, k)
			}
			s.fin = true
		}
		return
	}
	if seg.flags&flagSYN != 0 {
		s.syn = true
		if !s.started {
			s.start(seg.seq + 1)
		}
	} else if !s.started && seg.wireLen > 0 {
		// Half-seen: pick the stream up at a TLS record boundary only.
		if (d == 0 && looksLikeHello(seg.payload, wire.TypeClientHello)) ||
			(d == 1 && len(seg.payload) >= 3 && (seg.payload[0] == 0x16 || seg.payload[0] == 0x15) && seg.payload[1] == 3) {
			s.start(seg.seq)
			f.rec.addNote(NoteNoSYN)
		}
	}
	dataSeq := seg.seq
	if seg.flags&flagSYN != 0 {
		dataSeq++ // data in a SYN (TCP Fast Open) follows the SYN's own sequence number
	}
	if seg.wireLen > 0 && s.add(dataSeq, seg.payload, seg.wireLen, a.opts.MaxHandshakeBytes) {
		a.parse(f, d)
	}
	if f.state >= stDone {
		return
	}
	if s.done && s.broken != "" {
		// This direction cannot be read further: decide with what we have.
		if (d == 0 && f.state == stWaitCH) || (d == 1 && f.state != stWaitCH) || (d == 0 && f.state == stWaitCH2) {
			a.finish(f, OutcomeIncomplete, s.broken)
			return
		}
	}
	if seg.flags&flagRST != 0 {
		if d == 0 {
			f.rec.addNote(NoteResetByClient)
		}
		a.closed(k, f, pqtls.ReasonReset)
	} else if seg.flags&flagFIN != 0 {
		if s.started && !s.done && seqDiff(seg.seq+uint32(seg.wireLen), s.next) > 0 {
			// Bytes sent before this FIN are not in the capture (yet):
			// a reordered capture, or lost packets. Not a proof of a
			// close before the handshake; decide at the end.
			return
		}
		s.fin = true
		// A client may half-close after its ClientHello and still get an
		// answer: only the server's FIN ends the handshake.
		if d == 1 || f.dir[1].fin {
			a.closed(k, f, pqtls.ReasonEOF)
		}
	}
}

// closed handles a FIN or RST before the outcome was known.
func (a *Analyzer) closed(k flowKey, f *flowState, reason string) {
	switch f.state {
	case stWaitCH:
		if reason == pqtls.ReasonReset || (f.dir[0].fin && f.dir[1].fin) {
			if a.serverOnly(f) {
				delete(a.flows, k)
			} else if f.dir[0].started && len(f.dir[0].buf) > 0 {
				// A ClientHello was started but never completed.
				a.finish(f, OutcomeIncomplete, ReasonMissingSegments)
			} else {
				delete(a.flows, k)
			}
		}
	case stWaitSH, stWaitCH2, stWaitSH2:
		if f.dir[1].pending != nil || f.dir[0].pending != nil {
			// Data is missing; a close does not prove a failure.
			return
		}
		a.finish(f, OutcomeFailed, reason)
	case stTLS12:
		a.finishTLS12(f)
	}
	if f.state == stDone && (reason == pqtls.ReasonReset || (f.dir[0].fin && f.dir[1].fin)) {
		delete(a.flows, k)
	}
}

// looksLikeHello reports whether p starts with a handshake record carrying
// the given handshake message type.
func looksLikeHello(p []byte, t wire.HandshakeType) bool {
	return len(p) >= 6 && p[0] == 0x16 && p[1] == 3 && p[5] == byte(t)
}

// newRecords reports whether buf holds a complete record beyond the last
// one parsed; it is the cheap check that avoids re-parsing on every segment.
func newRecords(s *stream) bool {
	off := s.complete
	found := false
	for len(s.buf)-off >= 5 {
		n := int(s.buf[off+3])<<8 | int(s.buf[off+4])
		if len(s.buf)-off < 5+n {
			break
		}
		off += 5 + n
		found = true
	}
	s.complete = off
	return found
}

// messages re-reads the records of a direction and returns the messages not
// handled yet. err is nil when more bytes are needed. With stopAtCCS (the
// server's direction) nothing after a change_cipher_spec is read: in TLS 1.2
// the records that follow are encrypted handshake records, which would
// parse as garbage.
func messages(s *stream, stopAtCCS bool) ([]wire.Message, error) {
	r := wire.NewReader(bytes.NewReader(s.buf[:s.complete]))
	var out []wire.Message
	for i := 0; ; i++ {
		m, err := r.ReadMessage()
		if err != nil {
			if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
				return out, nil
			}
			return out, err
		}
		if i >= s.msgs {
			out = append(out, m)
			s.msgs++
		}
		if stopAtCCS && m.ContentType == wire.ContentChangeCipherSpec {
			return out, nil
		}
	}
}

func (a *Analyzer) parse(f *flowState, d int) {
	if !a.startTLS(f, d) {
		return
	}
	if b := f.dir[d].buf; d == 0 && f.state == stWaitCH && len(b) >= 2 && (b[0] != byte(wire.ContentHandshake) || b[1] != 3) {
		// The client does not start with a TLS handshake record (SSL 2.0
		// compatible hellos included): not a TLS flow.
		a.stats.NotTLS++
		f.state = stIgnored
		f.dir[0].finish()
		f.dir[1].finish()
		return
	}
	if !newRecords(&f.dir[d]) {
		return
	}
	a.handle(f, d)
}

// pgSSLRequest is PostgreSQL's SSLRequest message, as the prober sends it.
var pgSSLRequest = []byte(starttls.PostgresSSLRequest)

// startTLS strips the PostgreSQL SSLRequest and the server's 'S' answer, so
// the TLS handshake that follows is read like any other. It returns false
// when direction d must wait for more bytes or the flow is not TLS.
func (a *Analyzer) startTLS(f *flowState, d int) bool {
	s := &f.dir[d]
	switch {
	case d == 0 && f.state == stWaitCH && f.pg == 0 && len(s.buf) > 0 && s.buf[0] == 0:
		if len(s.buf) < len(pgSSLRequest) {
			return !bytes.HasPrefix(pgSSLRequest, s.buf) // wait for the rest
		}
		if bytes.Equal(s.buf[:8], pgSSLRequest) {
			s.trim(8)
			f.pg = 1
			f.rec.addNote(NotePostgresSSLRequest)
		}
	case d == 1 && f.pg == 1 && len(s.buf) > 0:
		if s.buf[0] != 'S' { // 'N': the server refused TLS
			a.stats.NotTLS++
			f.state = stIgnored
			f.dir[0].finish()
			s.finish()
			return false
		}
		s.trim(1)
		f.pg = 2
	case d == 1 && f.pg == 1:
		return false
	}
	return true
}

// handle runs the messages of direction d not handled yet.
func (a *Analyzer) handle(f *flowState, d int) {
	msgs, err := messages(&f.dir[d], d == 1 && !f.rec.HRR)
	for i, m := range msgs {
		if f.state >= stDone {
			return
		}
		if d == 0 {
			a.clientMessage(f, m)
		} else if a.serverMessage(f, m) {
			// Deliver this message and the ones after it again later.
			f.dir[1].msgs -= len(msgs) - i
			return
		}
	}
	if err != nil && f.state < stDone {
		var nt *wire.NotTLSError
		if errors.As(err, &nt) && f.state == stWaitCH {
			a.stats.NotTLS++
			f.state = stIgnored
			f.dir[0].finish()
			f.dir[1].finish()
		} else {
			a.malformed(f, err)
		}
	}
}

func (a *Analyzer) malformed(f *flowState, err error) {
	a.stats.Malformed++
	a.log.Debug("malformed handshake, flow skipped", "client", f.client, "server", f.server, "err", err)
	f.state = stIgnored
	f.dir[0].finish()
	f.dir[1].finish()
}

func keyShares(ks []wire.KeyShare) []KeyShare {
	out := make([]KeyShare, 0, len(ks))
	for _, k := range ks {
		out = append(out, KeyShare{Group: groupName(k.Group), Size: len(k.Data)})
	}
	return out
}

func (a *Analyzer) clientMessage(f *flowState, m wire.Message) {
	if m.ContentType == wire.ContentAlert && f.state != stWaitCH {
		// A plaintext alert from the client before the key exchange
		// completed: it gave up after the ServerHello it waited for did
		// not come, or after a HelloRetryRequest it would not satisfy.
		if al, err := wire.ParseAlert(m.Data); err == nil && f.state != stTLS12 {
			a.finish(f, OutcomeFailed, "alert_"+al.Description.String())
		}
		return
	}
	switch f.state {
	case stWaitCH, stWaitCH2:
	default:
		return
	}
	if m.ContentType == wire.ContentChangeCipherSpec && f.state == stWaitCH2 {
		return // middlebox compatibility CCS before the second ClientHello
	}
	if m.ContentType != wire.ContentHandshake || m.HandshakeType != wire.TypeClientHello {
		if f.state == stWaitCH {
			a.stats.NotTLS++
			f.state = stIgnored
			f.dir[0].finish()
			f.dir[1].finish()
			return
		}
		a.malformed(f, errors.New("second flight of the client is not a ClientHello"))
		return
	}
	ch, err := wire.ParseClientHello(m.Data)
	if err != nil {
		a.malformed(f, err)
		return
	}
	r := &f.rec
	if f.state == stWaitCH2 {
		r.RetryKeyShares = keyShares(ch.KeyShares)
		f.state = stWaitSH2
		f.dir[0].finish()
		if f.dir[1].complete > 0 {
			a.handle(f, 1) // a ServerHello that arrived first in the capture
		}
		return
	}
	f.ch = ch
	r.SNI = ch.ServerName
	r.ALPNOffered = ch.ALPN
	for _, v := range ch.SupportedVersions {
		r.OfferedVersions = append(r.OfferedVersions, versionName(v))
	}
	versions := ch.SupportedVersions
	if len(ch.SupportedVersions) == 0 {
		r.OfferedVersions = []string{versionName(ch.LegacyVersion)}
		versions = []uint16{ch.LegacyVersion}
	}
	for _, s := range ch.SignatureAlgorithms {
		r.OfferedSignatureAlgorithms = append(r.OfferedSignatureAlgorithms, pqtls.SignatureSchemeName(s))
	}
	r.AuthCapability = authCapability(versions, ch.SignatureAlgorithms)
	r.OfferedGroups = make([]string, 0, len(ch.SupportedGroups))
	for _, g := range ch.SupportedGroups {
		r.OfferedGroups = append(r.OfferedGroups, groupName(g))
	}
	r.KeyShares = keyShares(ch.KeyShares)
	r.ClientHelloBytes = len(ch.Raw)
	r.ClientHelloRecords = m.Records
	r.ClientHelloSegments = f.dir[0].segmentsUpTo(f.dir[0].complete)
	r.PSKOffered = ch.PSKIdentities > 0
	f.state = stWaitSH
	if f.dir[1].complete > 0 {
		a.handle(f, 1) // server bytes that arrived first in the capture
	}
}

func versionName(v uint16) string {
	if v&0x0f0f == 0x0a0a {
		return pqtls.GroupName(tls.CurveID(v)) // GREASE, as a number
	}
	return pqtls.VersionName(v)
}

// serverMessage handles one message from the server. It returns true when
// the message must wait for the client's side and be delivered again.
func (a *Analyzer) serverMessage(f *flowState, m wire.Message) (wait bool) {
	if f.state == stWaitCH || (f.state == stWaitCH2 && m.ContentType == wire.ContentHandshake) {
		// Server bytes before the (second) ClientHello is complete: keep
		// them, the client side may be behind in a capture that reorders
		// the two directions. Re-read when the ClientHello is in.
		return true
	}
	r := &f.rec
	switch m.ContentType {
	case wire.ContentAlert:
		if al, err := wire.ParseAlert(m.Data); err == nil {
			a.finish(f, OutcomeFailed, "alert_"+al.Description.String())
		}
		return false
	case wire.ContentChangeCipherSpec:
		if f.state == stTLS12 {
			a.finishTLS12(f) // abbreviated (resumed) TLS 1.2 handshake
		}
		return false
	case wire.ContentHandshake:
	default:
		if f.state == stTLS12 {
			a.finishTLS12(f)
		}
		return false
	}
	if f.state == stTLS12 {
		switch m.HandshakeType {
		case wire.TypeServerKeyExchange:
			if ske, err := wire.ParseServerKeyExchangeECDHE(m.Data, wire.VersionTLS12); err == nil {
				f.rec.selected, f.rec.groupSet = ske.Curve, true
				r.SelectedGroup = groupName(ske.Curve)
				r.SelectedKind = string(pqtls.GroupKind(ske.Curve))
				r.ServerShareBytes = len(ske.Public)
			}
			a.finishTLS12(f)
		case wire.TypeServerHelloDone:
			a.finishTLS12(f)
		}
		return false
	}
	if m.HandshakeType != wire.TypeServerHello || (f.state != stWaitSH && f.state != stWaitSH2) {
		a.malformed(f, errors.New("server flight does not start with a ServerHello"))
		return false
	}
	sh, err := wire.ParseServerHello(m.Data)
	if err != nil {
		a.malformed(f, err)
		return false
	}
	r.CipherSuite = cipherSuiteName(sh.CipherSuite)
	r.suite = sh.CipherSuite
	if sh.IsHRR {
		if f.state == stWaitSH2 {
			a.malformed(f, errors.New("second HelloRetryRequest"))
			return false
		}
		r.HRR = true
		r.HRRGroup = groupName(sh.SelectedGroup)
		f.state = stWaitCH2
		return false
	}
	v := sh.Version()
	r.Version = pqtls.VersionName(v)
	r.version = v
	if v >= wire.VersionTLS13 {
		g := sh.KeyShare.Group
		f.rec.selected, f.rec.groupSet = g, true
		r.SelectedGroup = groupName(g)
		r.SelectedKind = string(pqtls.GroupKind(g))
		r.ServerShareBytes = len(sh.KeyShare.Data)
		if sh.PreSharedKey {
			r.Resumption = "psk"
		}
		a.finish(f, outcomeForGroup(g), "")
		return false
	}
	r.ALPN = sh.ALPN
	if sh.DowngradeSentinel() != 0 {
		r.addNote(NoteDowngradeSentinel)
	}
	if f.ch != nil && len(f.ch.SessionID) > 0 && bytes.Equal(f.ch.SessionID, sh.SessionID) {
		r.Resumption = "session"
	}
	f.state = stTLS12
	f.dir[0].finish()
	return false
}

func (a *Analyzer) finishTLS12(f *flowState) { a.finish(f, OutcomeTLS12, "") }

// finish sets the outcome, emits the record and turns the flow into a
// tombstone that ignores the rest of the connection.
func (a *Analyzer) finish(f *flowState, outcome, reason string) {
	if f.state >= stDone {
		return
	}
	r := &f.rec
	if f.state == stWaitCH {
		// No complete ClientHello. A flow whose first bytes are a
		// ClientHello we could not read in full (snaplen, missing
		// segments) is reported as incomplete; anything else is not a TLS
		// flow we can say anything about.
		if outcome != OutcomeIncomplete || !looksLikeHello(f.dir[0].buf, wire.TypeClientHello) {
			f.state = stIgnored
			f.dir[0].finish()
			f.dir[1].finish()
			return
		}
		r.ClientHelloSegments = len(f.dir[0].segEnds)
		if b := f.dir[0].buf; len(b) >= 9 {
			r.ClientHelloBytes = 4 + (int(b[6])<<16 | int(b[7])<<8 | int(b[8])) // as declared
		}
	}
	r.Schema = Schema
	r.Source = SourceCapture
	r.Client = f.client.String()
	r.Server = f.server.String()
	r.Outcome = outcome
	r.Reason = reason
	if !f.dir[1].seen {
		r.addNote(NoteServerUnseen)
	}
	for _, s := range f.dir {
		if s.retrans {
			r.addNote(NoteRetransmission)
		}
		if s.outOfOrder {
			r.addNote(NoteOutOfOrder)
		}
		if s.conflict {
			r.addNote(NoteOverlapConflict)
		}
	}
	if r.OfferedGroups == nil {
		r.OfferedGroups = []string{}
	}
	if r.KeyShares == nil {
		r.KeyShares = []KeyShare{}
	}
	f.state = stDone
	f.dir[0].finish()
	f.dir[1].finish()
	f.ch = nil
	a.stats.Flows++
	if a.emit != nil {
		c := *r // the callback may keep it; the tombstone goes on changing
		a.emit(&c)
	}
	// The tombstone only needs its timestamps: long-lived connections keep
	// one each, so it must not hold the record's slices and strings.
	f.rec = Flow{FirstSeen: r.FirstSeen, LastSeen: r.LastSeen}
}

// sweep evicts flows idle for longer than IdleTimeout, emitting those whose
// handshake was under way.
func (a *Analyzer) sweep() {
	a.lastSweep = a.now
	a.sweeps++
	for k, f := range a.flows {
		if a.now.Sub(f.last) > a.opts.IdleTimeout {
			a.expire(f)
			delete(a.flows, k)
			a.release(f)
		}
	}
}

// expire decides a flow that will see no more packets.
func (a *Analyzer) expire(f *flowState) {
	switch f.state {
	case stWaitSH, stWaitSH2, stWaitCH2:
		reason := ReasonNoServerHello
		if b := f.dir[1].broken; b != "" {
			reason = b
		} else if f.dir[1].pending != nil || f.dir[0].pending != nil {
			reason = ReasonMissingSegments
		}
		a.finish(f, OutcomeIncomplete, reason)
	case stTLS12:
		a.finishTLS12(f)
	case stWaitCH:
		if !a.serverOnly(f) {
			a.finish(f, OutcomeIncomplete, ReasonMissingSegments)
		}
	}
}

// serverOnly decides a flow whose ClientHello is not in the capture but
// whose server side is (asymmetric routing, a one-way mirror port, a lost
// segment): the ServerHello alone shows the version and the group. It
// reports whether a record was emitted.
func (a *Analyzer) serverOnly(f *flowState) bool {
	c, s := &f.dir[0], &f.dir[1]
	if f.state != stWaitCH || len(c.buf) > 0 || len(c.pending) > 0 || s.complete == 0 {
		return false
	}
	f.state = stWaitSH
	f.rec.addNote(NoteClientHelloUnseen)
	a.handle(f, 1)
	switch f.state {
	case stTLS12:
		a.finishTLS12(f)
	case stWaitSH, stWaitCH2:
		reason := ReasonNoServerHello
		if s.broken != "" {
			reason = s.broken
		}
		a.finish(f, OutcomeIncomplete, reason)
	}
	return f.state == stDone
}

// Flush decides every flow still open (end of the capture) and empties the
// table.
func (a *Analyzer) Flush() {
	for k, f := range a.flows {
		a.expire(f)
		delete(a.flows, k)
		a.release(f)
	}
}

// Tick advances the analyzer's clock without a packet, so that idle flows
// are evicted in live capture when traffic stops.
func (a *Analyzer) Tick(now time.Time) {
	if now.After(a.now) {
		a.now = now
	}
	if !a.lastSweep.IsZero() && a.now.Sub(a.lastSweep) > a.opts.IdleTimeout/4 {
		a.sweep()
	}
}

// suiteNames caches crypto/tls's names: tls.CipherSuiteName builds its
// whole table on every call.
var suiteNames = func() map[uint16]string {
	m := map[uint16]string{}
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		m[cs.ID] = cs.Name
	}
	return m
}()

func cipherSuiteName(id uint16) string {
	if n, ok := suiteNames[id]; ok {
		return n
	}
	return tls.CipherSuiteName(id) // "0x1234"
}

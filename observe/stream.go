package observe

// stream reassembles one direction of a TCP connection, but only its first
// bytes: the handshake flight. Once the analyzer has what it needs it sets
// done and every later segment costs one comparison.
type stream struct {
	seen    bool   // at least one packet in this direction
	started bool   // next is valid
	syn     bool   // the SYN was captured
	next    uint32 // sequence number of the next expected byte
	isn     uint32 // sequence number of buf[0]
	buf     []byte
	// segEnds are the end offsets in buf of the segments appended so far
	// (first 64 only), to count the segments a message took.
	segEnds   []int
	pending   []pendingSeg
	pendBytes int
	done      bool
	// broken says why the stream cannot be reassembled further: a reason
	// constant (snaplen, missing_segments, too_large). Set with done.
	broken string
	fin    bool

	retrans, outOfOrder, conflict bool

	// parser progress (see analyzer.parse*)
	msgs     int // messages already handled
	complete int // offset after the last complete record seen
}

type pendingSeg struct {
	seq     uint32
	data    []byte
	wireLen int
}

// Bounds of the reassembly state of one direction.
const (
	maxPendingSegs  = 256
	maxPendingBytes = 256 << 10
	maxSegEnds      = 64
)

// seqDiff returns a-b in sequence space (RFC 793 modular arithmetic).
func seqDiff(a, b uint32) int { return int(int32(a - b)) }

// add feeds one segment. It returns true when buf grew. maxBuf bounds buf.
func (s *stream) add(seq uint32, payload []byte, wireLen, maxBuf int) bool {
	if s.done || !s.started || wireLen == 0 {
		return false
	}
	rel := seqDiff(seq, s.next)
	if rel > 0 {
		// Out of order: keep a copy until the hole is filled.
		s.outOfOrder = true
		if len(s.pending) >= maxPendingSegs || s.pendBytes+len(payload) > maxPendingBytes {
			s.stop(ReasonMissingSegments)
			return false
		}
		for _, p := range s.pending {
			if p.seq == seq && p.wireLen >= wireLen {
				s.retrans = true
				return false
			}
		}
		s.pending = append(s.pending, pendingSeg{seq: seq, data: append([]byte(nil), payload...), wireLen: wireLen})
		s.pendBytes += len(payload)
		return false
	}
	grew := s.appendAt(seq, payload, wireLen, maxBuf)
	// Drain pending segments that now fit.
	for progress := true; progress && !s.done && len(s.pending) > 0; {
		progress = false
		for i := 0; i < len(s.pending); i++ {
			p := s.pending[i]
			if seqDiff(p.seq, s.next) > 0 {
				continue
			}
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			s.pendBytes -= len(p.data)
			i--
			if s.appendAt(p.seq, p.data, p.wireLen, maxBuf) {
				grew = true
			}
			progress = true
			if s.done {
				break
			}
		}
	}
	if s.done {
		s.pending, s.pendBytes = nil, 0
	}
	return grew
}

// appendAt appends the part of a segment at or before next that is new.
func (s *stream) appendAt(seq uint32, payload []byte, wireLen, maxBuf int) bool {
	rel := seqDiff(seq, s.next) // <= 0
	end := rel + wireLen
	if end <= 0 {
		s.retrans = true
		s.checkOverlap(seq, payload)
		return false
	}
	if rel < 0 {
		s.retrans = true
		s.checkOverlap(seq, payload)
		skip := -rel
		wireLen -= skip
		if skip >= len(payload) {
			payload = nil
		} else {
			payload = payload[skip:]
		}
	}
	if len(s.buf)+len(payload) > maxBuf {
		s.stop(ReasonTooLarge)
		return false
	}
	s.buf = append(s.buf, payload...)
	if len(s.segEnds) < maxSegEnds {
		s.segEnds = append(s.segEnds, len(s.buf))
	}
	s.next += uint32(wireLen)
	if len(payload) < wireLen {
		// The snaplen cut this segment: the bytes after it can never be
		// placed. What is in buf stays parseable.
		s.broken = ReasonSnaplen
		s.done = true
	}
	return len(payload) > 0
}

// checkOverlap compares retransmitted bytes with the copy already in buf and
// notes a conflict. The first copy always wins.
func (s *stream) checkOverlap(seq uint32, payload []byte) {
	off := seqDiff(seq, s.isn)
	if off < 0 {
		return
	}
	for i, b := range payload {
		j := off + i
		if j >= len(s.buf) {
			return
		}
		if s.buf[j] != b {
			s.conflict = true
			return
		}
	}
}

// segmentsUpTo returns how many segments carried bytes [0, off) of buf.
func (s *stream) segmentsUpTo(off int) int {
	n := 0
	start := 0
	for _, e := range s.segEnds {
		if start >= off {
			break
		}
		n++
		start = e
	}
	return n
}

// stop ends reassembly of the direction, recording why if the handshake
// could not be read.
func (s *stream) stop(reason string) {
	if !s.done {
		s.broken = reason
	}
	s.done = true
	s.pending, s.pendBytes = nil, 0
}

// finish ends reassembly after the analyzer got what it needed, and frees
// the buffers.
func (s *stream) finish() {
	s.done = true
	s.buf, s.segEnds, s.pending, s.pendBytes = nil, nil, nil, 0
}

// start sets the sequence number of the first payload byte.
func (s *stream) start(seq uint32) {
	s.started = true
	s.next = seq
	s.isn = seq
}

// trim drops the first n bytes of buf (a STARTTLS-style preamble), so that
// buf starts at the first TLS record.
func (s *stream) trim(n int) {
	s.buf = append(s.buf[:0], s.buf[n:]...)
	s.isn += uint32(n)
	ends := s.segEnds[:0]
	for _, e := range s.segEnds {
		if e-n > 0 {
			ends = append(ends, e-n)
		}
	}
	s.segEnds = ends
	s.complete = max(0, s.complete-n)
}

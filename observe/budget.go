package observe

import "hash/maphash"

// DefaultMaxBufferBytes is the default Options.MaxBufferBytes: 64 MiB of
// handshake bytes buffered across all flows at once. An ordinary handshake
// buffers 2 to 10 KB while its first flights are in flight, so the default
// holds several thousand handshakes under way at the same moment; a hostile
// sender that opens many flows and never completes its ClientHello (up to
// 64 KiB buffered plus 256 KiB of out-of-order segments per direction)
// costs at most this much, never --max-flows times that.
const DefaultMaxBufferBytes = 64 << 20

// budget is the global account of buffered handshake bytes: used is the sum
// of flowState.held, and the flows with held > 0 form a list from the one
// that started buffering first (oldest) to the newest.
type budget struct {
	used, peak     int64
	oldest, newest *flowState
}

// footprint is what a flow's reassembly state holds: the capacity of both
// buffers and the out-of-order segments waiting for a hole to fill.
func (f *flowState) footprint() int64 {
	var n int64
	for i := range f.dir {
		n += int64(cap(f.dir[i].buf) + f.dir[i].pendBytes)
	}
	return n
}

// account brings f's share of the budget up to date.
func (b *budget) account(f *flowState) {
	n := f.footprint()
	if n == f.held {
		return
	}
	b.used += n - f.held
	switch {
	case f.held == 0: // started buffering: newest
		f.older, f.newer = b.newest, nil
		if b.newest != nil {
			b.newest.newer = f
		} else {
			b.oldest = f
		}
		b.newest = f
	case n == 0:
		b.unlink(f)
	}
	f.held = n
}

func (b *budget) unlink(f *flowState) {
	if f.older != nil {
		f.older.newer = f.newer
	} else {
		b.oldest = f.newer
	}
	if f.newer != nil {
		f.newer.older = f.older
	} else {
		b.newest = f.older
	}
	f.older, f.newer = nil, nil
}

// release frees a flow that left the table and drops it from the budget.
func (a *Analyzer) release(f *flowState) {
	f.dir[0].finish()
	f.dir[1].finish()
	a.budget.account(f)
}

// settle runs after every packet of flow f (key k): it accounts f's
// buffers, then, while the budget is exceeded, decides the flows that
// started buffering first as incomplete and frees their buffers. They stay
// in the table as tombstones, so the rest of their connection is ignored.
func (a *Analyzer) settle(k flowKey, f *flowState) {
	if a.flows[k] != f {
		a.release(f) // deleted while this packet was handled
	} else {
		a.budget.account(f)
	}
	for a.budget.used > a.opts.MaxBufferBytes && a.budget.oldest != nil {
		v := a.budget.oldest
		a.stats.EvictedFlows++
		a.log.Debug("handshake buffer budget exceeded, oldest flow evicted", "client", v.client, "server", v.server)
		a.finish(v, OutcomeIncomplete, ReasonBufferBudget)
		if v.state < stDone {
			v.state = stIgnored
		}
		a.release(v)
	}
	a.budget.peak = max(a.budget.peak, a.budget.used)
	a.stats.PeakBufferedBytes = a.budget.peak
}

// droppedSetSize is the number of dropped connections remembered at once.
const droppedSetSize = 1 << 14

// droppedSet tells the packets of connections refused by a full flow table
// apart, so that Stats.DroppedFlows counts connections, not packets, without
// growing: a direct-mapped table of key hashes (128 KiB, allocated on the
// first drop). A connection is counted when its key is not in the table, or
// when a SYN opens it again (port reuse). The count is exact while fewer
// than droppedSetSize refused connections are active at once (barring hash
// slot collisions, which count a connection twice); beyond that it is an
// upper bound.
type droppedSet struct {
	seed  maphash.Seed
	slots []uint64
}

// add records a packet of the refused connection k and reports whether it
// is a connection not counted yet.
func (d *droppedSet) add(k flowKey, flags uint8) bool {
	if d.slots == nil {
		d.seed = maphash.MakeSeed()
		d.slots = make([]uint64, droppedSetSize)
	}
	h := maphash.Comparable(d.seed, k) | 1 // 0 marks an empty slot
	i := h % droppedSetSize
	if d.slots[i] == h && flags&(flagSYN|flagACK) != flagSYN {
		return false
	}
	d.slots[i] = h
	return true
}

package scan

import (
	"fmt"
	"hash/fnv"
	"math"
	"net"
	"strconv"
	"strings"
)

// Shard is part K of N of a fleet (--shard K/N, K 1-based). N workers given
// 1/N ... N/N together scan every endpoint exactly once, whatever the
// order of their inputs. The zero Shard is the whole fleet.
type Shard struct{ K, N int }

// ParseShard parses "K/N" (1 <= K <= N).
func ParseShard(s string) (Shard, error) {
	ks, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	k, err1 := strconv.Atoi(strings.TrimSpace(ks))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("bad shard %q: write K/N, e.g. 1/4 (K is 1-based)", s)
	}
	if n < 1 || k < 1 || k > n {
		return Shard{}, fmt.Errorf("bad shard %q: K must be 1 to N and N at least 1, e.g. 1/4 ... 4/4", s)
	}
	return Shard{K: k, N: n}, nil
}

// String returns "K/N", or "" for the whole fleet.
func (sh Shard) String() string {
	if sh.N == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", sh.K, sh.N)
}

// Has reports whether t belongs to the shard: the FNV-1a hash of its
// (host:port, STARTTLS, SNI), as scanned with opts, modulo N is K-1. The
// host is as written: every address of a name goes to the same shard, and
// no worker needs to resolve the others' names.
func (sh Shard) Has(t Target, opts *Options) bool {
	if sh.N <= 1 {
		return true
	}
	proto, sni := opts.effective(t)
	h := fnv.New64a()
	h.Write([]byte(net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) + "\x00" + string(proto) + "\x00" + sni))
	return h.Sum64()%uint64(sh.N) == uint64(sh.K-1)
}

// LimitError reports a fleet larger than the endpoint limit; nothing was
// allocated for it.
type LimitError struct {
	// Count is the number of endpoints, or a lower bound above Limit when
	// counting stopped early (Exact false).
	Count uint64
	Exact bool
	Limit int
	Shard Shard
}

func (e *LimitError) Error() string {
	n := strconv.FormatUint(e.Count, 10)
	if e.Count == math.MaxUint64 {
		n = "more than 2^64"
	} else if !e.Exact {
		n = "more than " + strconv.Itoa(e.Limit)
	}
	in := ""
	if e.Shard.N > 1 {
		in = " in shard " + e.Shard.String()
	}
	return fmt.Sprintf("%s endpoints%s exceed the limit of %d", n, in, e.Limit)
}

// Expand returns the endpoints of specs that belong to shard, in input
// order. It counts them before allocating any (ranges arithmetically, or
// by hashing each member when sharded, stopping at limit+1) and returns a
// *LimitError when there are more than limit (limit <= 0: no limit).
func Expand(specs []Spec, opts Options, shard Shard, limit int) ([]Target, error) {
	n, err := countEndpoints(specs, &opts, shard, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Target, 0, n)
	for _, sp := range specs {
		for t := range sp.All() {
			if shard.Has(t, &opts) {
				out = append(out, t)
			}
		}
	}
	return out, nil
}

func countEndpoints(specs []Spec, opts *Options, shard Shard, limit int) (uint64, error) {
	var n uint64
	if shard.N <= 1 {
		for _, sp := range specs {
			c := sp.Count()
			if n > math.MaxUint64-c {
				n = math.MaxUint64
			} else {
				n += c
			}
		}
		if limit > 0 && n > uint64(limit) {
			return 0, &LimitError{Count: n, Exact: true, Limit: limit}
		}
		return n, nil
	}
	for _, sp := range specs {
		for t := range sp.All() {
			if !shard.Has(t, opts) {
				continue
			}
			if n++; limit > 0 && n > uint64(limit) {
				return 0, &LimitError{Count: n, Limit: limit, Shard: shard}
			}
		}
	}
	return n, nil
}

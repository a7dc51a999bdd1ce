package accesslog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pqtls/pqtls/observe"
)

// Bounds of a Reader: memory does not grow with the input, however long.
const (
	// MaxLineBytes is the longest line read; a longer one is a bad line.
	MaxLineBytes = 64 << 10
	// MaxBadLines is how many bad line numbers are kept (the count goes on).
	MaxBadLines = 10
)

// Stats counts what a Reader saw.
type Stats struct {
	Lines      int64 `json:"lines"`
	Handshakes int64 `json:"handshakes"`
	// NotTLS: lines of plain (non-TLS) requests. Repeats: requests on a
	// connection whose handshake an earlier line recorded (nginx
	// $connection_requests > 1). Skipped: lines that are not records
	// (headers, other messages of a structured log).
	NotTLS  int64 `json:"not_tls_lines"`
	Repeats int64 `json:"repeat_requests"`
	Skipped int64 `json:"skipped_lines"`
	Bad     int64 `json:"bad_lines"`
	// BadLines are the numbers of the first MaxBadLines bad lines, and
	// FirstBad what was wrong with the first one.
	BadLines []int64 `json:"bad_line_numbers,omitempty"`
	FirstBad string  `json:"first_bad,omitempty"`
}

// Reader turns log lines into flow records.
type Reader struct {
	p                                        lineParser
	c                                        *cache
	emit                                     func(*observe.Flow)
	n                                        int64
	lines, hs, notTLS, repeats, skipped, bad atomic.Int64
	mu                                       sync.Mutex
	badLines                                 []int64
	firstBad                                 string
}

// New returns a Reader of format f (template is --log-format, required
// when f.NeedsTemplate) that calls emit once per handshake line.
func New(f *Format, template string, emit func(*observe.Flow)) (*Reader, error) {
	if f.NeedsTemplate && strings.TrimSpace(template) == "" {
		return nil, fmt.Errorf("--log %s needs --log-format: the format definition from the server's configuration", f.Name)
	}
	if !f.NeedsTemplate && template != "" {
		return nil, fmt.Errorf("--log %s has a fixed format: drop --log-format", f.Name)
	}
	p, err := f.new(template)
	if err != nil {
		return nil, err
	}
	return &Reader{p: p, c: newCache(), emit: emit}, nil
}

// Stats returns the counters so far; safe to call while Read runs.
func (r *Reader) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stats{Lines: r.lines.Load(), Handshakes: r.hs.Load(), NotTLS: r.notTLS.Load(), Repeats: r.repeats.Load(),
		Skipped: r.skipped.Load(), Bad: r.bad.Load(), BadLines: append([]int64(nil), r.badLines...), FirstBad: r.firstBad}
}

// Read reads lines until EOF or ctx is done. Bad lines are counted, never
// fatal; the error is a failure to read in.
func (r *Reader) Read(ctx context.Context, in io.Reader) error {
	br := bufio.NewReaderSize(in, 256<<10)
	long := false // inside a line longer than the buffer
	for {
		if r.n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if !long {
				r.longLine()
				long = true
			}
			continue
		}
		if long { // b is the tail of the long line
			long = false
		} else if len(b) > MaxLineBytes {
			r.longLine()
		} else if len(b) > 0 {
			r.Line(string(trimEOL(b)))
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (r *Reader) longLine() {
	r.n++
	r.lines.Add(1)
	r.badLine(fmt.Errorf("longer than %d bytes", MaxLineBytes))
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// Line handles one line (without its end of line).
func (r *Reader) Line(line string) {
	r.n++
	r.lines.Add(1)
	if strings.TrimSpace(line) == "" {
		r.skipped.Add(1)
		return
	}
	var v values
	if err := r.p.parse(line, &v); err != nil {
		if err == errSkip {
			r.skipped.Add(1)
		} else {
			r.badLine(err)
		}
		return
	}
	if n, err := strconv.Atoi(v[fRepeat]); err == nil && n > 1 {
		r.repeats.Add(1)
		return
	}
	h, notTLS, err := v.handshake(r.c)
	switch {
	case err != nil:
		r.badLine(err)
	case notTLS:
		r.notTLS.Add(1)
	default:
		r.hs.Add(1)
		if r.emit != nil {
			r.emit(observe.FlowFromLog(&h))
		}
	}
}

func (r *Reader) badLine(err error) {
	r.bad.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.badLines) < MaxBadLines {
		r.badLines = append(r.badLines, r.n)
	}
	if r.firstBad == "" {
		r.firstBad = fmt.Sprintf("line %d: %v", r.n, err)
	}
}

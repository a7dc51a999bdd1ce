package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// bufferedLog batches log lines into fewer writes: a per-connection log line
// written straight to stderr costs a system call per connection, a visible
// share of a handshake's CPU. Lines are flushed when 32 KiB accumulate, every
// flushEvery, by Flush and by Close. Only the per-connection lines are meant
// to wait here: flushOthers writes every other record through at once, so a
// reload failure or a startup warning is on stderr before anything else can
// happen (a crash, a SIGKILL loses at most flushEvery of connection lines).
type bufferedLog struct {
	mu   sync.Mutex
	w    *bufio.Writer
	done chan struct{}
	wg   sync.WaitGroup
}

const flushEvery = 200 * time.Millisecond

func newBufferedLog(w io.Writer) *bufferedLog {
	b := &bufferedLog{w: bufio.NewWriterSize(w, 32<<10), done: make(chan struct{})}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		t := time.NewTicker(flushEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				b.mu.Lock()
				_ = b.w.Flush()
				b.mu.Unlock()
			case <-b.done:
				return
			}
		}
	}()
	return b
}

func (b *bufferedLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

// Flush writes what is buffered now.
func (b *bufferedLog) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Flush()
}

// flushOthers is a slog.Handler that lets records with message batched wait
// in buf and flushes buf after any other record.
type flushOthers struct {
	slog.Handler
	buf     *bufferedLog
	batched string
}

func (h flushOthers) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Message != h.batched {
		if ferr := h.buf.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h flushOthers) WithAttrs(as []slog.Attr) slog.Handler {
	h.Handler = h.Handler.WithAttrs(as)
	return h
}

func (h flushOthers) WithGroup(name string) slog.Handler {
	h.Handler = h.Handler.WithGroup(name)
	return h
}

// Close stops the flusher and writes what is buffered.
func (b *bufferedLog) Close() error {
	close(b.done)
	b.wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Flush()
}

package tunnel

import (
	"bytes"
	"crypto/tls"
	"io"
	"reflect"
	"sync"
	"syscall"
	"unsafe"
)

// crypto/tls keeps the read-side buffers of a connection for as long as the
// connection lives: rawInput grows to hold a full record (16 KiB plus
// overhead, 32-40 KiB once a peer's batches leave partial records behind),
// input points into it, and hand keeps the buffer the handshake messages
// were assembled in. For a proxy holding thousands of idle connections that
// was most of its memory (about 45 of 52 KiB of live heap per idle
// connection after 1 MiB had moved). There is no API to release them, so
// the tunnel reaches the three fields through their offsets, found by name
// and type with reflect at start (TestTLSBuffersFound fails if a Go release
// renames or retypes them; without them the copy loop falls back to
// blocking reads, which are correct but hold their buffers while idle).
//
// Only the goroutine that reads a connection touches these fields (after
// the handshake crypto/tls reads rawInput, input and hand only in Read,
// and Write does not look at them), so the copy loop changes them between
// its own Read calls.
type tlsFieldOffsets struct {
	rawInput, input, hand uintptr
	ok                    bool
}

var tlsFields = findTLSFields()

func findTLSFields() tlsFieldOffsets {
	t := reflect.TypeFor[tls.Conn]()
	field := func(name string, typ reflect.Type) (uintptr, bool) {
		f, ok := t.FieldByName(name)
		if !ok || f.Type != typ || len(f.Index) != 1 {
			return 0, false
		}
		return f.Offset, true
	}
	var o tlsFieldOffsets
	var ok [3]bool
	o.rawInput, ok[0] = field("rawInput", reflect.TypeFor[bytes.Buffer]())
	o.input, ok[1] = field("input", reflect.TypeFor[bytes.Reader]())
	o.hand, ok[2] = field("hand", reflect.TypeFor[bytes.Buffer]())
	o.ok = ok[0] && ok[1] && ok[2]
	return o
}

// tlsBufs are the read-side buffers of one tls.Conn.
type tlsBufs struct {
	raw, hand *bytes.Buffer
	input     *bytes.Reader
	box       *[]byte // reused to return raw's array to rawPool without an allocation
}

// tlsBuffersOf returns c's read-side buffers, nil if this Go's crypto/tls
// does not have the expected fields.
func tlsBuffersOf(c *tls.Conn) *tlsBufs {
	if !tlsFields.ok || c == nil {
		return nil
	}
	p := unsafe.Pointer(c)
	return &tlsBufs{
		raw:   (*bytes.Buffer)(unsafe.Add(p, tlsFields.rawInput)),
		input: (*bytes.Reader)(unsafe.Add(p, tlsFields.input)),
		hand:  (*bytes.Buffer)(unsafe.Add(p, tlsFields.hand)),
	}
}

// rawInputSize is the size of the pooled array installed as rawInput while
// data moves. crypto/tls reads into all of rawInput's free space with one
// system call, so this is also the read-ahead: four full records (a peer's
// 64 KiB write) fit. It is at least twice a record plus bytes.MinRead, so a
// partial record left at the end is always slid to the front by
// bytes.Buffer.Grow rather than reallocated.
const rawInputSize = 72 << 10

var rawPool = sync.Pool{New: func() any { b := make([]byte, 0, rawInputSize); return &b }}

// buffered reports whether crypto/tls holds received bytes not yet returned
// by Read (decrypted data or records not yet decrypted).
func (b *tlsBufs) buffered() bool {
	return b.raw.Len() > 0 || b.input.Len() > 0
}

// park releases the buffers when they hold nothing: rawInput's array goes
// back to the pool (if it is one of the pool's), input and hand are
// dropped. A partial record stays where it is.
func (b *tlsBufs) park() {
	if b.hand.Len() == 0 && b.hand.Cap() > 0 {
		*b.hand = bytes.Buffer{}
	}
	if b.buffered() || b.raw.Cap() == 0 {
		return
	}
	b.dropInput()
}

// release drops the three buffers whatever they hold and returns rawInput's
// array to the pool (if it is one of the pool's). Only for a connection
// that nobody reads any more: its copy loop has ended. Nil-safe.
func (b *tlsBufs) release() {
	if b == nil {
		return
	}
	*b.hand = bytes.Buffer{}
	b.dropInput()
}

// dropInput empties rawInput and input, and puts rawInput's array back in
// the pool when it is one of the pool's.
func (b *tlsBufs) dropInput() {
	b.raw.Reset()
	arr := b.raw.AvailableBuffer()
	*b.raw = bytes.Buffer{}
	*b.input = bytes.Reader{}
	if cap(arr) == rawInputSize {
		if b.box == nil {
			b.box = new([]byte)
		}
		*b.box = arr
		rawPool.Put(b.box)
		b.box = nil
	}
}

// readOnce reads what fd holds into rawInput's free space with one system
// call, installing a pooled array first when rawInput has none. On EAGAIN
// or no data the array goes back to the pool.
func (b *tlsBufs) readOnce(fd int) (n int, errno error) {
	if b.raw.Cap() == 0 {
		box := rawPool.Get().(*[]byte)
		*b.raw = *bytes.NewBuffer((*box)[:0])
		*box = nil
		b.box = box
	}
	r := fdReader{fd: fd}
	_, _ = b.raw.ReadFrom(&r)
	if r.n <= 0 {
		b.park()
	}
	return r.n, r.errno
}

// fdReader is one read(2), as an io.Reader that ends after it (so
// bytes.Buffer.ReadFrom reads into its free space exactly once).
type fdReader struct {
	fd    int
	n     int
	errno error
}

func (r *fdReader) Read(p []byte) (int, error) {
	for {
		r.n, r.errno = syscall.Read(r.fd, p)
		if r.errno != syscall.EINTR {
			break
		}
	}
	return max(r.n, 0), io.EOF
}

package wire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// Outcome classifies how a server answered a ClientHello. The values are
// stable strings, usable in JSON output and as bounded metric labels.
type Outcome string

// Exchange outcomes.
const (
	// OutcomeServerHello: the server answered with a ServerHello.
	OutcomeServerHello Outcome = "server_hello"
	// OutcomeHelloRetryRequest: the server asked for another key share.
	OutcomeHelloRetryRequest Outcome = "hello_retry_request"
	// OutcomeAlert: the server sent an alert before any ServerHello.
	OutcomeAlert Outcome = "alert"
	// OutcomeEOF: the server closed the connection without answering.
	OutcomeEOF Outcome = "eof"
	// OutcomeReset: the connection was reset (RST), or the server closed it
	// while we were still writing (EPIPE).
	OutcomeReset Outcome = "reset"
	// OutcomeTimeout: a deadline on the connection, or the context, expired.
	OutcomeTimeout Outcome = "timeout"
	// OutcomeNotTLS: the reply is not TLS (HTTP, SSH banner, random bytes).
	OutcomeNotTLS Outcome = "not_tls"
	// OutcomeMalformed: TLS framing, but a broken or unexpected message.
	OutcomeMalformed Outcome = "malformed"
	// OutcomeError: any other I/O error.
	OutcomeError Outcome = "error"
)

// ClassifyError maps an error from a TLS exchange (or a dial) to an Outcome:
// timeout, reset, eof, not_tls, malformed or error.
func ClassifyError(err error) Outcome {
	var nt *NotTLSError
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &nt):
		return OutcomeNotTLS
	case errors.Is(err, ErrMalformed):
		return OutcomeMalformed
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled), errors.Is(err, os.ErrDeadlineExceeded):
		return OutcomeTimeout
	case errors.As(err, &ne) && ne.Timeout():
		return OutcomeTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return OutcomeReset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return OutcomeEOF
	}
	return OutcomeError
}

// ExchangeOptions tune how [Exchange] sends the ClientHello.
type ExchangeOptions struct {
	// RecordFragments splits the ClientHello across TLS records of these
	// payload sizes (see [EncodeRecords]); empty sends one record.
	RecordFragments []int
	// Segments splits the bytes to send (records included) into separate
	// TCP writes: the first writes have these sizes, the rest goes in one
	// last write. When set, TCP_NODELAY is enabled on the connection (if it
	// supports SetNoDelay) so that each write leaves as its own segment.
	Segments []int
	// Pause is the delay between two writes of Segments.
	Pause time.Duration
	// MaxRecordSize bounds the records read (0: 2^14+2048).
	MaxRecordSize int
}

// ExchangeResult is what [Exchange] observed.
type ExchangeResult struct {
	// Outcome classifies the answer.
	Outcome Outcome
	// ServerHello is the parsed ServerHello or HelloRetryRequest, set for
	// those two outcomes.
	ServerHello *ServerHello
	// Alert is set for OutcomeAlert.
	Alert *Alert
	// Err is the underlying error for eof, reset, timeout, not_tls,
	// malformed and error outcomes (a *NotTLSError for not_tls).
	Err error
	// Sent is the exact bytes written (or meant to be written).
	Sent []byte
	// BytesSent is how many bytes the connection accepted.
	BytesSent int
	// Writes is the number of Write calls made.
	Writes int
	// BytesReceived is how many bytes were read from the connection.
	BytesReceived int64
	// Records is how many records were read.
	Records int
	// Elapsed runs from the first write to the end of the read: about one
	// round trip plus the server's processing time (and Pause per split).
	Elapsed time.Duration
	// Reader continues reading the server flight after the ServerHello
	// (TLS 1.2 Certificate, ServerKeyExchange...). It reads from the
	// connection, so the caller's deadlines apply.
	Reader *Reader
}

// Exchange marshals ch, sends it on conn and reads the server's first flight
// up to the ServerHello, HelloRetryRequest, alert or end of stream. The
// caller owns conn: it sets deadlines (every read and write here honours
// them), and closes it. Cancelling ctx interrupts the exchange by setting a
// past deadline on conn. The returned error is only for a ClientHello that
// does not marshal or invalid options; every network result is in
// ExchangeResult.Outcome. Exchange is protocol-pure: STARTTLS preambles are
// the caller's job.
func Exchange(ctx context.Context, conn net.Conn, ch *ClientHello, opts ExchangeOptions) (*ExchangeResult, error) {
	out, err := ch.MarshalRecords(opts.RecordFragments...)
	if err != nil {
		return nil, err
	}
	return ExchangeRaw(ctx, conn, out, opts)
}

// ExchangeRaw is [Exchange] with ready-made bytes (records included);
// opts.RecordFragments is ignored.
func ExchangeRaw(ctx context.Context, conn net.Conn, out []byte, opts ExchangeOptions) (*ExchangeResult, error) {
	pieces, err := splitSegments(out, opts.Segments)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	res := &ExchangeResult{Sent: out}
	start := time.Now()
	if len(pieces) > 1 {
		if nd, ok := conn.(interface{ SetNoDelay(bool) error }); ok {
			nd.SetNoDelay(true)
		}
	}
	var writeErr error
	for i, p := range pieces {
		if i > 0 && opts.Pause > 0 {
			t := time.NewTimer(opts.Pause)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				writeErr = ctx.Err()
			}
			if writeErr != nil {
				break
			}
		}
		n, err := conn.Write(p)
		res.Writes++
		res.BytesSent += n
		if err != nil {
			writeErr = err
			break
		}
	}

	r := NewReader(conn)
	r.MaxRecordSize = opts.MaxRecordSize
	res.Reader = r
	readErr := res.readFlight(r)
	res.BytesReceived = r.BytesRead()
	res.Records = r.Records()
	res.Elapsed = time.Since(start)
	if readErr != nil {
		// A write error (reset mid-hello) explains more than the read
		// error that follows it, unless the server managed to answer.
		if writeErr != nil {
			readErr = writeErr
		}
		if ctx.Err() != nil {
			readErr = fmt.Errorf("%w (%w)", ctx.Err(), readErr)
		}
		res.Err = readErr
		res.Outcome = ClassifyError(readErr)
	}
	return res, nil
}

// ExchangeWithRetry is [Exchange] that follows one HelloRetryRequest: when
// the server asks for another key share, it sends [ClientHello.Retry] on the
// same connection (same options) and reads the answer. first is the answer
// to ch; final is the answer to the retried hello, or first when no retry
// happened. A HelloRetryRequest that does not fit ch (a group not offered,
// one already shared) is not followed: final is first, and the mismatch is
// returned in final.Err with OutcomeMalformed.
func ExchangeWithRetry(ctx context.Context, conn net.Conn, ch *ClientHello, opts ExchangeOptions) (first, final *ExchangeResult, err error) {
	first, err = Exchange(ctx, conn, ch, opts)
	if err != nil || first.Outcome != OutcomeHelloRetryRequest {
		return first, first, err
	}
	ch2, rerr := ch.Retry(first.ServerHello)
	if rerr != nil {
		first.Outcome, first.Err = OutcomeMalformed, fmt.Errorf("%w: %w", ErrMalformed, rerr)
		return first, first, nil
	}
	final, err = Exchange(ctx, conn, ch2, opts)
	if err == nil && final.Outcome == OutcomeHelloRetryRequest {
		// RFC 8446 section 4.1.4: a second HelloRetryRequest is an error.
		final.Outcome, final.Err = OutcomeMalformed, malformed("second HelloRetryRequest in one handshake")
	}
	return first, final, err
}

// readFlight reads until a ServerHello/HRR or an alert; it returns the error
// that ended the flight otherwise.
func (res *ExchangeResult) readFlight(r *Reader) error {
	for {
		m, err := r.ReadMessage()
		if err != nil {
			return err
		}
		switch m.ContentType {
		case ContentChangeCipherSpec:
			continue // tolerated before the ServerHello (RFC 8446 appendix D.4)
		case ContentAlert:
			a, err := ParseAlert(m.Data)
			if err != nil {
				return err
			}
			res.Alert = &a
			res.Outcome = OutcomeAlert
			return nil
		case ContentHandshake:
			if m.HandshakeType != TypeServerHello {
				return malformed("server sent %s before any ServerHello", m.HandshakeType)
			}
			sh, err := ParseServerHello(m.Data)
			if err != nil {
				return err
			}
			res.ServerHello = sh
			res.Outcome = OutcomeServerHello
			if sh.IsHRR {
				res.Outcome = OutcomeHelloRetryRequest
			}
			return nil
		default:
			return malformed("server sent a %s record before any ServerHello", m.ContentType)
		}
	}
}

func splitSegments(out []byte, sizes []int) ([][]byte, error) {
	var pieces [][]byte
	rest := out
	for i, n := range sizes {
		if n < 1 || n >= len(rest) {
			return nil, fmt.Errorf("wire: TCP segment %d has size %d: each split must be at least 1 byte and leave bytes for the next write (%d left)", i, n, len(rest))
		}
		pieces = append(pieces, rest[:n])
		rest = rest[n:]
	}
	return append(pieces, rest), nil
}

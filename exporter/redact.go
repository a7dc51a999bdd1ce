package exporter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/pqtls/pqtls/internal/starttls"
)

// redactHandler is the handler of a probe's own log, which /probe returns
// to any HTTP client with debug=true: it replaces errors that quote what a
// server said in its clear-text preamble (SMTP/IMAP/POP3/FTP/XMPP banners
// and answers, MySQL error packets) by their protocol and class, so the
// exporter cannot be used to read banners of hosts its clients cannot
// reach. The exporter's own log (stderr) keeps the full text.
type redactHandler struct{ slog.Handler }

// Handle writes r with its attributes redacted.
func (h redactHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return h.Handler.Handle(ctx, out)
}

// WithAttrs redacts attrs and keeps redacting.
func (h redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = redactAttr(a)
	}
	return redactHandler{h.Handler.WithAttrs(red)}
}

// WithGroup keeps redacting.
func (h redactHandler) WithGroup(name string) slog.Handler {
	return redactHandler{h.Handler.WithGroup(name)}
}

func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		g := v.Group()
		red := make([]any, len(g))
		for i, x := range g {
			red[i] = redactAttr(x)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, redactError(err))
		}
	}
	return a
}

// redactError returns err's text, or only the protocol and class of a
// STARTTLS error that may quote the server.
func redactError(err error) string {
	var pe *starttls.PreambleError
	var re *starttls.RefusedError
	switch {
	case errors.As(err, &pe):
		return fmt.Sprintf("%s preamble: unexpected answer (server text redacted)", pe.Protocol)
	case errors.As(err, &re):
		return fmt.Sprintf("%s: server does not offer TLS (server text redacted)", re.Protocol)
	}
	return err.Error()
}

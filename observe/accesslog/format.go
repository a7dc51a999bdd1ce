package accesslog

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// errSkip marks a line that is not a record (a header, another message of
// a structured log): not bad, not counted as a handshake.
var errSkip = errors.New("not a record")

func errf(format string, a ...any) error { return fmt.Errorf(format, a...) }

// lineParser splits one line into values.
type lineParser interface {
	parse(line string, v *values) error
}

type parseFunc func(line string, v *values) error

func (f parseFunc) parse(line string, v *values) error { return f(line, v) }

// Format is one supported log format.
type Format struct {
	// Name is what --log takes.
	Name string
	// NeedsTemplate: the format is defined by the server's configuration,
	// given with --log-format.
	NeedsTemplate bool
	// Doc says what the format carries, for --help and errors.
	Doc string
	new func(template string) (lineParser, error)
}

func templateFormat(d *dialect) func(string) (lineParser, error) {
	return func(def string) (lineParser, error) {
		decode := func(s string) (string, bool) { return s, true }
		if d == haproxyDialect {
			decode = unquote // %{+Q}: the value is logged in double quotes
		}
		if d == nginxDialect {
			var err error
			if def, decode, err = unquoteNginx(def); err != nil {
				return nil, err
			}
		}
		t, err := compile(d, def, decode)
		if err != nil {
			return nil, err
		}
		return parseFunc(t.parse), nil
	}
}

func fixed(p lineParser) func(string) (lineParser, error) {
	return func(string) (lineParser, error) { return p, nil }
}

// formats is the table of supported formats, by --log name.
var formats = map[string]*Format{
	"nginx":   {Name: "nginx", NeedsTemplate: true, Doc: "nginx access log; --log-format is the log_format definition ($ssl_protocol $ssl_curve ...)", new: templateFormat(nginxDialect)},
	"haproxy": {Name: "haproxy", NeedsTemplate: true, Doc: "HAProxy log; --log-format is the log-format string (%sslv %[ssl_fc_curve] ...)", new: templateFormat(haproxyDialect)},
	"envoy":   {Name: "envoy", NeedsTemplate: true, Doc: "Envoy access log; --log-format is the format string (%DOWNSTREAM_TLS_VERSION% %DOWNSTREAM_TLS_GROUP% ...)", new: templateFormat(envoyDialect)},
	"caddy":   {Name: "caddy", Doc: "Caddy JSON access log (no key exchange group: TLS 1.3 lines are incomplete)", new: fixed(caddyFormat)},
	"traefik": {Name: "traefik", Doc: "Traefik JSON access log (no key exchange group: TLS 1.3 lines are incomplete)", new: fixed(traefikFormat)},
	"aws-nlb": {Name: "aws-nlb", Doc: "AWS Network Load Balancer access log (tls_named_group)", new: fixed(awsNLB)},
	"aws-alb": {Name: "aws-alb", Doc: "AWS Application Load Balancer connection log (tls_keyexchange)", new: fixed(awsALB)},
	"zeek":    {Name: "zeek", Doc: "Zeek ssl.log, TSV with its #fields header or JSON (curve)", new: func(string) (lineParser, error) { return newZeek(), nil }},
	"pqtls":   {Name: "pqtls", Doc: "pqtls's own JSON handshake log (library, tunnel, pqgrpc)", new: fixed(pqtlsFormat)},
}

// FormatNames lists the supported formats, sorted.
func FormatNames() []string {
	out := make([]string, 0, len(formats))
	for n := range formats {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ParseFormat resolves a --log value, trimmed and case-insensitive. An
// unknown name is an error listing the valid ones.
func ParseFormat(s string) (*Format, error) {
	f, ok := formats[strings.ToLower(strings.TrimSpace(s))]
	if !ok {
		return nil, fmt.Errorf("unknown log format %q: use one of %s", s, strings.Join(FormatNames(), ", "))
	}
	return f, nil
}

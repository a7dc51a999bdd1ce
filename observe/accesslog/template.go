package accesslog

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// dialect is the variable syntax of a template format (nginx log_format,
// HAProxy log-format, Envoy format strings) and the table from its
// variable names to the fields pqtls reads.
type dialect struct {
	name string
	// next finds the next variable in s: its start and end offsets and its
	// name (as looked up in vars); start < 0 when there is none. A literal
	// escape of the dialect (HAProxy "%%") is returned with name "" and
	// lit set to the text it stands for.
	next func(s string) (start, end int, name, lit string)
	vars map[string]field
}

// segment is one variable of a compiled template and the literal text
// that follows it.
type segment struct {
	f     field  // fNone: a variable pqtls does not read
	after string // literal up to the next variable ("" only at the end)
}

// template is a compiled log format: split each line on the literal text
// between variables, left to right.
type template struct {
	prefix string
	segs   []segment
	decode func(string) (string, bool)
}

// compile parses a format definition in the given dialect.
func compile(d *dialect, def string, decode func(string) (string, bool)) (*template, error) {
	t := &template{decode: decode}
	var lit strings.Builder
	cur := -1 // index of the segment whose "after" literal is being built
	flush := func() {
		if cur < 0 {
			t.prefix = lit.String()
		} else {
			t.segs[cur].after = lit.String()
		}
		lit.Reset()
	}
	s := def
	for len(s) > 0 {
		start, end, name, l := d.next(s)
		if start < 0 {
			lit.WriteString(s)
			break
		}
		lit.WriteString(s[:start])
		s = s[end:]
		if name == "" {
			lit.WriteString(l)
			continue
		}
		flush()
		if cur >= 0 && t.segs[cur].after == "" {
			return nil, errf("%s format: variables %s and the one before it are not separated by any text, so a line cannot be split between them: put a separator between them in the format and in the server's configuration", d.name, name)
		}
		t.segs = append(t.segs, segment{f: d.vars[name]})
		cur = len(t.segs) - 1
	}
	flush()
	found := false
	for _, sg := range t.segs {
		found = found || sg.f == fVersion || sg.f == fGroup
	}
	if !found {
		return nil, errf("%s format %q logs neither the protocol version nor the key exchange group: add them (see docs/OBSERVE.md, Logs)", d.name, def)
	}
	return t, nil
}

// parse splits line into v. It fails when the line does not match the
// template.
func (t *template) parse(line string, v *values) error {
	if !strings.HasPrefix(line, t.prefix) {
		return errf("line does not start with %q", t.prefix)
	}
	rest := line[len(t.prefix):]
	for i, sg := range t.segs {
		var val string
		if sg.after == "" { // the last variable takes the rest of the line
			val, rest = rest, ""
		} else {
			j := strings.Index(rest, sg.after)
			if j < 0 {
				return errf("text %q after variable %d not found", sg.after, i+1)
			}
			val, rest = rest[:j], rest[j+len(sg.after):]
		}
		if sg.f == fNone {
			continue
		}
		if t.decode != nil {
			d, ok := t.decode(val)
			if !ok {
				return errf("variable %d: bad escape in %q", i+1, val)
			}
			val = d
		}
		v[sg.f] = val
	}
	if rest != "" {
		return errf("%d unexpected bytes at the end", len(rest))
	}
	return nil
}

// unquote removes the double quotes HAProxy's +Q option puts around a
// value.
func unquote(s string) (string, bool) {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1], true
	}
	return s, true
}

// nginxEscape decodes nginx's escape=default: '"', '\' and bytes below 32
// or above 126 are written \xHH.
func nginxEscape(s string) (string, bool) {
	if !strings.Contains(s, `\x`) {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			n, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
			if err != nil {
				return "", false
			}
			b.WriteByte(byte(n))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String(), true
}

// jsonEscape decodes nginx's escape=json: the value is the inside of a JSON
// string.
func jsonEscape(s string) (string, bool) {
	if !strings.Contains(s, `\`) {
		return s, true
	}
	var out string
	if err := json.Unmarshal([]byte(`"`+s+`"`), &out); err != nil || !utf8.ValidString(out) {
		return "", false
	}
	return out, true
}

// unquoteNginx accepts a log_format definition as it appears in nginx.conf:
// an optional escape= parameter, then one or more quoted strings that nginx
// concatenates (or a bare template). It returns the template and its
// decoder.
func unquoteNginx(def string) (string, func(string) (string, bool), error) {
	def = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(def), ";"))
	decode := nginxEscape
	if rest, ok := strings.CutPrefix(def, "escape="); ok {
		mode, tail, _ := strings.Cut(rest, " ")
		switch mode {
		case "default":
		case "json":
			decode = jsonEscape
		case "none":
			decode = nil
		default:
			return "", nil, errf("nginx log_format escape=%s: use escape=default, escape=json or escape=none", mode)
		}
		def = strings.TrimSpace(tail)
	}
	if def == "" || (def[0] != '\'' && def[0] != '"') {
		return def, decode, nil
	}
	var b strings.Builder
	for def = strings.TrimSpace(def); def != ""; def = strings.TrimSpace(def) {
		q := def[0]
		if q != '\'' && q != '"' {
			return "", nil, errf("nginx log_format: text %q outside quotes", def)
		}
		end := strings.IndexByte(def[1:], q)
		if end < 0 {
			return "", nil, errf("nginx log_format: unterminated %c quote", q)
		}
		b.WriteString(def[1 : 1+end])
		def = def[2+end:]
	}
	return b.String(), decode, nil
}

func isVarChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// nginx: $name or ${name}.
var nginxDialect = &dialect{
	name: "nginx",
	next: func(s string) (int, int, string, string) {
		for i := 0; i < len(s); i++ {
			if s[i] != '$' {
				continue
			}
			if i+1 < len(s) && s[i+1] == '{' {
				if j := strings.IndexByte(s[i:], '}'); j > 0 {
					return i, i + j + 1, s[i+2 : i+j], ""
				}
			}
			j := i + 1
			for j < len(s) && isVarChar(s[j]) {
				j++
			}
			if j > i+1 {
				return i, j, s[i+1 : j], ""
			}
		}
		return -1, 0, "", ""
	},
	vars: map[string]field{
		"remote_addr": fClientIP, "remote_port": fClientPort, "server_addr": fServerIP, "server_port": fServerPort,
		"ssl_protocol": fVersion, "ssl_curve": fGroup, "ssl_curves": fGroups, "ssl_cipher": fCipher,
		"ssl_server_name": fSNI, "ssl_session_reused": fResumed, "connection_requests": fRepeat,
		"time_iso8601": fTime, "time_local": fTime, "msec": fTime,
	},
}

// HAProxy: %name, %{options}name, %[sample,fetch] and %% for a percent
// sign.
var haproxyDialect = &dialect{
	name: "haproxy",
	next: func(s string) (int, int, string, string) {
		i := strings.IndexByte(s, '%')
		if i < 0 || i+1 >= len(s) {
			return -1, 0, "", ""
		}
		j := i + 1
		if s[j] == '%' {
			return i, j + 1, "", "%"
		}
		if s[j] == '{' {
			k := strings.IndexByte(s[j:], '}')
			if k < 0 {
				return -1, 0, "", ""
			}
			j += k + 1
		}
		if j < len(s) && s[j] == '[' {
			k := strings.IndexByte(s[j:], ']')
			if k < 0 {
				return -1, 0, "", ""
			}
			expr := s[j+1 : j+k]
			fetch, _, _ := strings.Cut(expr, ",") // converters do not change what is fetched
			return i, j + k + 1, "[" + strings.TrimSpace(fetch) + "]", ""
		}
		k := j
		for k < len(s) && (s[k] >= 'a' && s[k] <= 'z' || s[k] >= 'A' && s[k] <= 'Z') {
			k++
		}
		return i, k, s[j:k], ""
	},
	vars: map[string]field{
		"ci": fClientIP, "cp": fClientPort, "fi": fServerIP, "fp": fServerPort,
		"sslv": fVersion, "sslc": fCipher, "[ssl_fc_protocol]": fVersion, "[ssl_fc_cipher]": fCipher,
		"[ssl_fc_curve]": fGroup, "[ssl_fc_sni]": fSNI, "[ssl_fc_is_resumed]": fResumed,
		"t": fTime, "tr": fTime, "[date]": fTime,
	},
}

// Envoy: %COMMAND%, %COMMAND(arg)% and %COMMAND(arg):LENGTH%.
var envoyDialect = &dialect{
	name: "envoy",
	next: func(s string) (int, int, string, string) {
		for i := 0; i < len(s); i++ {
			if s[i] != '%' {
				continue
			}
			j := i + 1
			for j < len(s) && (s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9' || s[j] == '_') {
				j++
			}
			if j == i+1 {
				continue
			}
			name := s[i+1 : j]
			if j < len(s) && s[j] == '(' {
				k := strings.IndexByte(s[j:], ')')
				if k < 0 {
					continue
				}
				j += k + 1
			}
			if j < len(s) && s[j] == ':' {
				for j++; j < len(s) && s[j] >= '0' && s[j] <= '9'; j++ {
				}
			}
			if j < len(s) && s[j] == '%' {
				return i, j + 1, name, ""
			}
		}
		return -1, 0, "", ""
	},
	vars: map[string]field{
		"DOWNSTREAM_REMOTE_ADDRESS": fClient, "DOWNSTREAM_DIRECT_REMOTE_ADDRESS": fClient, "DOWNSTREAM_LOCAL_ADDRESS": fServer,
		"DOWNSTREAM_TLS_VERSION": fVersion, "DOWNSTREAM_TLS_CIPHER": fCipher, "DOWNSTREAM_TLS_GROUP": fGroup,
		"REQUESTED_SERVER_NAME": fSNI, "DOWNSTREAM_TLS_SESSION_ID": fNone, "START_TIME": fTime,
	},
}

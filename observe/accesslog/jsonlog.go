package accesslog

import (
	"encoding/json"
	"strconv"
	"strings"
)

// jsonFormat reads one JSON object per line and takes the fields named by
// paths ("request.tls.version" walks nested objects). match, when set,
// skips objects that are not handshake records (another message of a
// structured log).
type jsonFormat struct {
	paths map[string]field
	match func(obj map[string]any) bool
}

func (j *jsonFormat) parse(line string, v *values) error {
	var obj map[string]any
	d := json.NewDecoder(strings.NewReader(line))
	d.UseNumber()
	if err := d.Decode(&obj); err != nil {
		return errf("not a JSON object: %v", err)
	}
	if d.More() {
		return errf("text after the JSON object")
	}
	if j.match != nil && !j.match(obj) {
		return errSkip
	}
	for path, f := range j.paths {
		if s, ok := lookup(obj, path); ok {
			v[f] = s
		}
	}
	return nil
}

// lookup returns the value at a dotted path as a string. A key that itself
// contains dots (Zeek's "id.orig_h") is matched whole first.
func lookup(obj map[string]any, path string) (string, bool) {
	if x, ok := obj[path]; ok {
		return scalar(x)
	}
	head, tail, ok := strings.Cut(path, ".")
	if !ok {
		return "", false
	}
	sub, isObj := obj[head].(map[string]any)
	if !isObj {
		return "", false
	}
	return lookup(sub, tail)
}

func scalar(x any) (string, bool) {
	switch x := x.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := scalar(e); ok {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ","), true
	}
	return "", false
}

// Caddy's JSON access log (logger http.log.access): request.tls carries
// version (a number), cipher_suite (a number), server_name and resumed;
// no key exchange group.
var caddyFormat = &jsonFormat{
	paths: map[string]field{
		"ts": fTime, "request.remote_ip": fClientIP, "request.remote_port": fClientPort,
		"request.tls.version": fVersion, "request.tls.cipher_suite": fCipher, "request.tls.server_name": fSNI,
		"request.tls.resumed": fResumed,
	},
}

// Traefik's JSON access log: TLSVersion ("1.3") and TLSCipher; no key
// exchange group.
var traefikFormat = &jsonFormat{
	paths: map[string]field{
		"StartUTC": fTime, "ClientHost": fClientIP, "ClientPort": fClientPort,
		"TLSVersion": fVersion, "TLSCipher": fCipher, "RequestHost": fSNI,
	},
}

// zeekFields are the ssl.log columns pqtls reads, for TSV and JSON.
var zeekFields = map[string]field{
	"ts": fTime, "id.orig_h": fClientIP, "id.orig_p": fClientPort, "id.resp_h": fServerIP, "id.resp_p": fServerPort,
	"version": fVersion, "cipher": fCipher, "curve": fGroup, "server_name": fSNI, "resumed": fResumed,
	"established": fEstablished, "last_alert": fAlert,
}

var zeekJSON = &jsonFormat{paths: zeekFields}

// pqtls's own handshake log (pqtls.Observer with a JSON slog handler: the
// library, the tunnel, pqgrpc): "tls handshake" and "tls handshake failed"
// records. peer is the client for role server and the server for role
// client.
var pqtlsFormat = &jsonFormat{
	paths: map[string]field{
		"time": fTime, "sni": fSNI, "version": fVersion, "group": fGroup, "cipher": fCipher,
		"resumed": fResumed, "hrr": fHRR, "reason": fFailed,
	},
	match: func(obj map[string]any) bool {
		msg, _ := obj["msg"].(string)
		if msg != "tls handshake" && msg != "tls handshake failed" {
			return false
		}
		// The peer goes on the side the role says.
		peer, _ := obj["peer"].(string)
		if role, _ := obj["role"].(string); role == "client" {
			obj["pqtls.server"] = peer
		} else {
			obj["pqtls.client"] = peer
		}
		if msg == "tls handshake failed" && obj["reason"] == nil {
			obj["reason"] = "other"
		}
		return true
	},
}

func init() {
	pqtlsFormat.paths["pqtls.client"] = fClient
	pqtlsFormat.paths["pqtls.server"] = fServer
}

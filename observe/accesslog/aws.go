package accesslog

import "strings"

// awsFormat reads the space-separated logs of AWS load balancers, where a
// field with spaces is double-quoted: the field at index i is columns[i].
type awsFormat struct {
	columns map[int]field
	min     int // fewer fields is a bad line
}

func (a *awsFormat) parse(line string, v *values) error {
	i := 0
	for s := line; s != ""; i++ {
		var tok string
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return errf("unterminated quote")
			}
			tok, s = s[1:1+end], s[2+end:]
		} else {
			end := strings.IndexByte(s, ' ')
			if end < 0 {
				end = len(s)
			}
			tok, s = s[:end], s[end:]
		}
		s = strings.TrimLeft(s, " ")
		if f, ok := a.columns[i]; ok {
			v[f] = tok
		}
	}
	if i < a.min {
		return errf("%d fields, want at least %d", i, a.min)
	}
	return nil
}

// Network Load Balancer access logs (TLS listeners): tls_protocol_version
// (16th field) and tls_named_group (17th). Field order:
// type version time elb listener client:port destination:port
// connection_time tls_handshake_time received_bytes sent_bytes
// incoming_tls_alert chosen_cert_arn chosen_cert_serial tls_cipher
// tls_protocol_version tls_named_group domain_name ...
var awsNLB = &awsFormat{
	columns: map[int]field{2: fTime, 5: fClient, 6: fServer, 11: fAlert, 14: fCipher, 15: fVersion, 16: fGroup, 17: fSNI},
	min:     18,
}

// Application Load Balancer connection logs: time client_ip client_port
// listener_port tls_protocol tls_cipher tls_handshake_latency
// "leaf_client_cert_subject" leaf_client_cert_validity
// leaf_client_cert_serial_number tls_verify_status conn_trace_id, then
// tls_keyexchange (the key exchange group). ALB access logs carry
// ssl_protocol and ssl_cipher only.
var awsALB = &awsFormat{
	columns: map[int]field{0: fTime, 1: fClientIP, 2: fClientPort, 3: fServerPort, 4: fVersion, 5: fCipher, 12: fGroup},
	min:     11,
}

package accesslog

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pqtls/pqtls/observe"
)

// fuzzFormat feeds arbitrary input to one format: never a panic, every
// line counted, every record a valid outcome that marshals.
func fuzzFormat(f *testing.F, format, template string, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	fm, err := ParseFormat(format)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var flows []*observe.Flow
		r, err := New(fm, template, func(fl *observe.Flow) { flows = append(flows, fl) })
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Read(context.Background(), strings.NewReader(in)); err != nil {
			t.Fatal(err)
		}
		st := r.Stats()
		if st.Handshakes != int64(len(flows)) || st.Handshakes+st.NotTLS+st.Repeats+st.Skipped+st.Bad != st.Lines {
			t.Fatalf("stats do not add up: %+v, %d records", st, len(flows))
		}
		for _, fl := range flows {
			if !slices.Contains(observe.Outcomes, fl.Outcome) {
				t.Fatalf("outcome %q", fl.Outcome)
			}
			if _, err := json.Marshal(fl); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func FuzzNginx(f *testing.F) {
	fuzzFormat(f, "nginx", nginxFormat,
		`192.0.2.1:50001 [02/Dec/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 TLSv1.3 0x11ec "0x11ec:X25519" TLS_AES_128_GCM_SHA256 "a\x22.test" 1`+"\n")
}

func FuzzNginxJSON(f *testing.F) {
	fuzzFormat(f, "nginx", `escape=json {"c":"$remote_addr","p":"$ssl_protocol","g":"$ssl_curve"}`,
		`{"c":"198.51.100.7","p":"TLSv1.3","g":"X25519MLKEM768\u0000"}`+"\n")
}

func FuzzHAProxy(f *testing.F) {
	fuzzFormat(f, "haproxy", `%ci:%cp [%tr] %sslv %sslc %[ssl_fc_curve] %%`,
		"203.0.113.9:40000 [02/Dec/2026:12:00:00.123] TLSv1.3 TLS_AES_256_GCM_SHA384 X25519MLKEM768 %\n")
}

func FuzzEnvoy(f *testing.F) {
	fuzzFormat(f, "envoy", `%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_TLS_VERSION% %DOWNSTREAM_TLS_GROUP%`,
		"10.1.2.3:1234 TLSv1.3 X25519MLKEM768\n")
}

func FuzzCaddy(f *testing.F) {
	fuzzFormat(f, "caddy", "", `{"ts":1764676800.5,"request":{"remote_ip":"192.0.2.8","remote_port":"5555","tls":{"version":772,"cipher_suite":4865,"server_name":"c.test"}}}`+"\n")
}

func FuzzTraefik(f *testing.F) {
	fuzzFormat(f, "traefik", "", `{"ClientHost":"192.0.2.9","ClientPort":"6000","TLSVersion":"1.3","StartUTC":"2026-12-02T12:00:00Z"}`+"\n")
}

func FuzzAWSNLB(f *testing.F) {
	fuzzFormat(f, "aws-nlb", "", `tls 2.0 2026-12-02T12:00:01 net/x g 1.2.3.4:5 6.7.8.9:443 5 2 98 246 - arn - TLS_AES_128_GCM_SHA256 tlsv13 X25519MLKEM768 n.test - - "h2" 2026-12-02T12:00:01`+"\n")
}

func FuzzAWSALB(f *testing.F) {
	fuzzFormat(f, "aws-alb", "", `2026-12-02T12:00:00.000000Z 192.0.2.10 45678 443 TLSv1.3 TLS_AES_128_GCM_SHA256 0.002 "-" - - Success TID_1 X25519MLKEM768`+"\n")
}

func FuzzZeek(f *testing.F) {
	fuzzFormat(f, "zeek", "", "#separator \\x09\n#fields\tts\tid.orig_h\tversion\tcurve\testablished\n1764676800.1\t10.0.0.1\tTLSv13\tX25519MLKEM768\tT\n",
		`{"ts":1764676804.5,"version":"TLSv13","curve":"unknown-4588","established":true}`+"\n")
}

func FuzzPqtls(f *testing.F) {
	fuzzFormat(f, "pqtls", "", `{"msg":"tls handshake","role":"server","peer":"127.0.0.1:1","version":"TLS 1.3","group":"x25519"}`+"\n")
}

package accesslog

import (
	"context"
	"strings"
	"testing"

	"github.com/pqtls/pqtls/observe"
)

// readAll runs format over input and returns the records and stats.
func readAll(t testing.TB, format, template, input string) ([]*observe.Flow, Stats) {
	t.Helper()
	f, err := ParseFormat(format)
	if err != nil {
		t.Fatal(err)
	}
	var flows []*observe.Flow
	r, err := New(f, template, func(fl *observe.Flow) { flows = append(flows, fl) })
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Read(context.Background(), strings.NewReader(input)); err != nil {
		t.Fatal(err)
	}
	return flows, r.Stats()
}

type want struct{ client, server, sni, version, group, kind, outcome, reason string }

func check(t *testing.T, flows []*observe.Flow, wants []want) {
	t.Helper()
	if len(flows) != len(wants) {
		t.Fatalf("%d records, want %d: %+v", len(flows), len(wants), flows)
	}
	for i, w := range wants {
		f := flows[i]
		got := want{f.Client, f.Server, f.SNI, f.Version, f.SelectedGroup, f.SelectedKind, f.Outcome, f.Reason}
		if got != w {
			t.Errorf("record %d:\n got %+v\nwant %+v", i+1, got, w)
		}
		if f.Source != observe.SourceLog || f.Schema != observe.Schema {
			t.Errorf("record %d: source %q schema %q", i+1, f.Source, f.Schema)
		}
	}
}

const nginxFormat = `$remote_addr:$remote_port [$time_local] "$request" $status $ssl_protocol $ssl_curve "$ssl_curves" $ssl_cipher "$ssl_server_name" $connection_requests`

func TestNginx(t *testing.T) {
	in := strings.Join([]string{
		`192.0.2.1:50001 [02/Dec/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 TLSv1.3 X25519MLKEM768 "X25519MLKEM768:x25519" TLS_AES_128_GCM_SHA256 "a.test" 1`,
		`192.0.2.1:50002 [02/Dec/2026:12:00:01 +0000] "GET / HTTP/1.1" 200 TLSv1.3 0x11ec "0x11ec:X25519:prime256v1" TLS_AES_256_GCM_SHA384 "b.test" 1`,
		`192.0.2.2:50003 [02/Dec/2026:12:00:02 +0000] "GET / HTTP/1.1" 200 TLSv1.3 X25519 "X25519" TLS_AES_256_GCM_SHA384 "c.test" 1`,
		`192.0.2.2:50003 [02/Dec/2026:12:00:03 +0000] "GET /again HTTP/1.1" 200 TLSv1.3 X25519 "X25519" TLS_AES_256_GCM_SHA384 "c.test" 2`,
		`192.0.2.3:50004 [02/Dec/2026:12:00:04 +0000] "GET / HTTP/1.1" 200 TLSv1.2 prime256v1 "prime256v1" ECDHE-RSA-AES128-GCM-SHA256 "d.test" 1`,
		`192.0.2.4:50005 [02/Dec/2026:12:00:05 +0000] "GET / HTTP/1.1" 200 - - "-" - "-" 1`,
		`garbage`,
		`192.0.2.5:50006 [02/Dec/2026:12:00:06 +0000] "GET / HTTP/1.1" 200 TLSv1.3 bogus-group "" TLS_AES_128_GCM_SHA256 "e.test" 1`,
		`192.0.2.6:50007 [02/Dec/2026:12:00:07 +0000] "GET /\x22q\x22 HTTP/1.1" 200 TLSv1.3 SecP256r1MLKEM768 "" TLS_AES_128_GCM_SHA256 "f\x5c.test" 1`,
	}, "\n") + "\n"
	flows, st := readAll(t, "nginx", nginxFormat, in)
	check(t, flows, []want{
		{"192.0.2.1:50001", "", "a.test", "TLS 1.3", "X25519MLKEM768", "hybrid", "hybrid", ""},
		{"192.0.2.1:50002", "", "b.test", "TLS 1.3", "X25519MLKEM768", "hybrid", "hybrid", ""},
		{"192.0.2.2:50003", "", "c.test", "TLS 1.3", "x25519", "classical", "classical", ""},
		{"192.0.2.3:50004", "", "d.test", "TLS 1.2", "secp256r1", "classical", "tls12", ""},
		{"192.0.2.6:50007", "", `f\.test`, "TLS 1.3", "SecP256r1MLKEM768", "hybrid", "hybrid", ""},
	})
	if g := flows[1].OfferedGroups; strings.Join(g, ",") != "X25519MLKEM768,x25519,secp256r1" {
		t.Errorf("offered %v", g)
	}
	if flows[0].FirstSeen.Format("2006-01-02T15:04:05Z07:00") != "2026-12-02T12:00:00Z" {
		t.Errorf("time %v", flows[0].FirstSeen)
	}
	if st.Lines != 9 || st.Handshakes != 5 || st.Repeats != 1 || st.NotTLS != 1 || st.Bad != 2 ||
		len(st.BadLines) != 2 || st.BadLines[0] != 7 || st.BadLines[1] != 8 || !strings.HasPrefix(st.FirstBad, "line 7: ") {
		t.Errorf("stats %+v", st)
	}
}

func TestNginxEscapeJSONAndConfQuoting(t *testing.T) {
	def := `escape=json '{"client":"$remote_addr","proto":"$ssl_protocol",' '"group":"$ssl_curve","sni":"$ssl_server_name"}';`
	in := `{"client":"198.51.100.7","proto":"TLSv1.3","group":"X25519MLKEM768","sni":"q\"uote\u00e9.test"}` + "\n"
	flows, st := readAll(t, "nginx", def, in)
	check(t, flows, []want{{"198.51.100.7", "", "q\"uoteé.test", "TLS 1.3", "X25519MLKEM768", "hybrid", "hybrid", ""}})
	if st.Bad != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestTemplateErrors(t *testing.T) {
	for _, tc := range []struct{ format, def, msg string }{
		{"nginx", "", "needs --log-format"},
		{"nginx", "$remote_addr $status", "neither the protocol version nor the key exchange group"},
		{"nginx", "$ssl_protocol$ssl_curve", "not separated"},
		{"nginx", "escape=xml $ssl_protocol", "escape=default, escape=json or escape=none"},
		{"nginx", "'$ssl_protocol", "unterminated"},
		{"zeek", "$ssl_protocol", "drop --log-format"},
	} {
		f, _ := ParseFormat(tc.format)
		if _, err := New(f, tc.def, nil); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s %q: %v, want %q", tc.format, tc.def, err, tc.msg)
		}
	}
	if _, err := ParseFormat(" NGINX "); err != nil {
		t.Errorf("format names are case-insensitive: %v", err)
	}
	if _, err := ParseFormat("apache"); err == nil || !strings.Contains(err.Error(), "use one of aws-alb, aws-nlb, caddy, envoy, haproxy, nginx, pqtls, traefik, zeek") {
		t.Errorf("unknown format: %v", err)
	}
}

func TestHAProxy(t *testing.T) {
	def := `%ci:%cp [%tr] %ft %{+Q}[ssl_fc_sni] %sslv %sslc %[ssl_fc_curve,lower] 100%%`
	in := "203.0.113.9:40000 [02/Dec/2026:12:00:00.123] fe_https \"h.test\" TLSv1.3 TLS_AES_256_GCM_SHA384 x25519mlkem768 100%\n" +
		"203.0.113.9:40001 [02/Dec/2026:12:00:00.123] fe_https \"h.test\" TLSv1.3 TLS_AES_256_GCM_SHA384 - 100%\n"
	flows, _ := readAll(t, "haproxy", def, in)
	check(t, flows, []want{
		{"203.0.113.9:40000", "", "h.test", "TLS 1.3", "X25519MLKEM768", "hybrid", "hybrid", ""},
		{"203.0.113.9:40001", "", "h.test", "TLS 1.3", "", "", "incomplete", observe.ReasonGroupNotLogged},
	})
}

func TestEnvoy(t *testing.T) {
	def := `[%START_TIME%] %DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %REQUESTED_SERVER_NAME% %DOWNSTREAM_TLS_VERSION% %DOWNSTREAM_TLS_CIPHER% %DOWNSTREAM_TLS_GROUP% "%REQ(:PATH)%"`
	in := `[2026-12-02T12:00:00.000Z] 10.1.2.3:1234 10.9.9.9:443 e.test TLSv1.3 TLS_AES_128_GCM_SHA256 X25519MLKEM768 "/"` + "\n" +
		`[2026-12-02T12:00:00.000Z] [2001:db8::1]:1234 [2001:db8::2]:443 e.test TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256 P-256 "/"` + "\n"
	flows, _ := readAll(t, "envoy", def, in)
	check(t, flows, []want{
		{"10.1.2.3:1234", "10.9.9.9:443", "e.test", "TLS 1.3", "X25519MLKEM768", "hybrid", "hybrid", ""},
		{"[2001:db8::1]:1234", "[2001:db8::2]:443", "e.test", "TLS 1.2", "secp256r1", "classical", "tls12", ""},
	})
}

func TestCaddyAndTraefikLackTheGroup(t *testing.T) {
	caddy := `{"level":"info","ts":1764676800.5,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"192.0.2.8","remote_port":"5555","proto":"HTTP/2.0","tls":{"resumed":false,"version":772,"cipher_suite":4865,"proto":"h2","server_name":"c.test"}},"status":200}` + "\n" +
		`{"level":"info","ts":1764676801,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"192.0.2.8","remote_port":"5556","proto":"HTTP/1.1"},"status":200}` + "\n" +
		`{"level":"info","ts":1764676802,"request":{"remote_ip":"192.0.2.8","remote_port":"5557","tls":{"version":771,"cipher_suite":49199,"server_name":"c.test"}}}` + "\n"
	flows, st := readAll(t, "caddy", "", caddy)
	check(t, flows, []want{
		{"192.0.2.8:5555", "", "c.test", "TLS 1.3", "", "", "incomplete", observe.ReasonGroupNotLogged},
		{"192.0.2.8:5557", "", "c.test", "TLS 1.2", "", "", "tls12", ""},
	})
	if flows[0].CipherSuite != "TLS_AES_128_GCM_SHA256" || st.NotTLS != 1 {
		t.Errorf("cipher %q, stats %+v", flows[0].CipherSuite, st)
	}
	traefik := `{"ClientHost":"192.0.2.9","ClientPort":"6000","RequestHost":"t.test","TLSVersion":"1.3","TLSCipher":"TLS_AES_128_GCM_SHA256","StartUTC":"2026-12-02T12:00:00.000000001Z"}` + "\n"
	flows, _ = readAll(t, "traefik", "", traefik)
	check(t, flows, []want{{"192.0.2.9:6000", "", "t.test", "TLS 1.3", "", "", "incomplete", observe.ReasonGroupNotLogged}})
}

func TestAWS(t *testing.T) {
	nlb := `tls 2.0 2026-12-02T12:00:00 net/my-nlb/c6e77e28c25b2234 g3d4b5e8bb8464cd 72.21.218.154:51341 172.100.100.185:443 5 2 98 246 - arn:aws:acm:us-east-2:671290407336:certificate/2a108f19-aded-46b0-8493-c63eb1ef4a99 - ECDHE-RSA-AES128-SHA tlsv12 secp256r1 my-network-loadbalancer-c6e77e28c25b2234.elb.us-east-2.amazonaws.com h2 h2 "h2","http/1.1" 2026-12-02T12:00:00` + "\n" +
		`tls 2.0 2026-12-02T12:00:01 net/my-nlb/c6e77e28c25b2234 g3d4b5e8bb8464cd 72.21.218.154:51342 172.100.100.185:443 5 2 98 246 - arn:aws:acm:cert - TLS_AES_128_GCM_SHA256 tlsv13 X25519MLKEM768 n.test - - - 2026-12-02T12:00:01` + "\n" +
		"tls 2.0 short\n"
	flows, st := readAll(t, "aws-nlb", "", nlb)
	check(t, flows, []want{
		{"72.21.218.154:51341", "172.100.100.185:443", "my-network-loadbalancer-c6e77e28c25b2234.elb.us-east-2.amazonaws.com", "TLS 1.2", "secp256r1", "classical", "tls12", ""},
		{"72.21.218.154:51342", "172.100.100.185:443", "n.test", "TLS 1.3", "X25519MLKEM768", "hybrid", "hybrid", ""},
	})
	if st.Bad != 1 || st.BadLines[0] != 3 {
		t.Errorf("stats %+v", st)
	}
	alb := `2026-12-02T12:00:00.000000Z 192.0.2.10 45678 443 TLSv1.3 TLS_AES_128_GCM_SHA256 0.002 "-" - - Success TID_1 X25519MLKEM768` + "\n" +
		`2026-12-02T12:00:00.000000Z 192.0.2.10 45679 443 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 0.002 "CN=client" NotAfter=2027 1234 Success TID_2` + "\n"
	flows, _ = readAll(t, "aws-alb", "", alb)
	check(t, flows, []want{
		{"192.0.2.10:45678", "", "", "TLS 1.3", "X25519MLKEM768", "hybrid", "hybrid", ""},
		{"192.0.2.10:45679", "", "", "TLS 1.2", "", "", "tls12", ""},
	})
}

func TestZeek(t *testing.T) {
	tsv := "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tssl\n" +
		"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tversion\tcipher\tcurve\tserver_name\tresumed\tlast_alert\tnext_protocol\testablished\n" +
		"#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring\tstring\tbool\tstring\tstring\tbool\n" +
		"1764676800.000001\tCx\t10.0.0.1\t50000\t10.0.0.2\t443\tTLSv13\tTLS_AES_128_GCM_SHA256\tX25519MLKEM768\tz.test\tF\t-\t-\tT\n" +
		"1764676801.000001\tCy\t10.0.0.1\t50001\t10.0.0.2\t443\tTLSv13\tTLS_AES_128_GCM_SHA256\tx25519\tz.test\tF\t-\t-\tT\n" +
		"1764676802.000001\tCz\t10.0.0.1\t50002\t10.0.0.2\t443\t-\t-\t-\tz.test\tF\thandshake_failure\t-\tF\n" +
		"1764676803.000001\tCw\t10.0.0.1\t50003\t10.0.0.2\t443\tTLSv13\n" +
		"#close\t2026-12-02-12-00-04\n" +
		`{"ts":1764676804.5,"uid":"Cv","id.orig_h":"10.0.0.3","id.orig_p":50004,"id.resp_h":"10.0.0.2","id.resp_p":443,"version":"TLSv12","cipher":"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256","curve":"secp256r1","server_name":"z.test","resumed":false,"established":true}` + "\n" +
		`{"ts":1764676805.5,"id.orig_h":"10.0.0.3","id.orig_p":50005,"id.resp_h":"10.0.0.2","id.resp_p":443,"version":"TLSv13","curve":"unknown-4588","established":true}` + "\n"
	flows, st := readAll(t, "zeek", "", tsv)
	check(t, flows, []want{
		{"10.0.0.1:50000", "10.0.0.2:443", "z.test", "TLS 1.3", "X25519MLKEM768", "hybrid", "hybrid", ""},
		{"10.0.0.1:50001", "10.0.0.2:443", "z.test", "TLS 1.3", "x25519", "classical", "classical", ""},
		{"10.0.0.1:50002", "10.0.0.2:443", "z.test", "", "", "", "failed", "alert_handshake_failure"},
		{"10.0.0.3:50004", "10.0.0.2:443", "z.test", "TLS 1.2", "secp256r1", "classical", "tls12", ""},
		{"10.0.0.3:50005", "10.0.0.2:443", "", "TLS 1.3", "X25519MLKEM768", "hybrid", "hybrid", ""},
	})
	if st.Bad != 1 || st.BadLines[0] != 11 || st.Skipped != 8 {
		t.Errorf("stats %+v", st)
	}
}

func TestPqtlsOwnLog(t *testing.T) {
	in := `{"time":"2026-12-02T12:00:00.1Z","level":"INFO","msg":"tls handshake","role":"server","peer":"127.0.0.1:40000","sni":"p.test","version":"TLS 1.3","group":"X25519MLKEM768","kind":"hybrid","hrr":false,"cipher":"TLS_AES_128_GCM_SHA256","alpn":"h2","resumed":false,"duration_ms":1.2,"peer_identity":""}` + "\n" +
		`{"time":"2026-12-02T12:00:01Z","level":"INFO","msg":"tls handshake","role":"client","peer":"127.0.0.1:443","sni":"p.test","version":"TLS 1.3","group":"secp256r1","kind":"classical","hrr":true,"cipher":"TLS_AES_128_GCM_SHA256"}` + "\n" +
		`{"time":"2026-12-02T12:00:02Z","level":"WARN","msg":"tls handshake failed","role":"server","peer":"127.0.0.1:40001","sni":"","reason":"policy_classical_peer","duration_ms":0.3,"error":"refused"}` + "\n" +
		`{"time":"2026-12-02T12:00:03Z","level":"INFO","msg":"listening","addr":":443"}` + "\n"
	flows, st := readAll(t, "pqtls", "", in)
	check(t, flows, []want{
		{"127.0.0.1:40000", "", "p.test", "TLS 1.3", "X25519MLKEM768", "hybrid", "hybrid", ""},
		{"", "127.0.0.1:443", "p.test", "TLS 1.3", "secp256r1", "classical", "classical", ""},
		{"127.0.0.1:40001", "", "", "", "", "", "failed", "policy_classical_peer"},
	})
	if !flows[1].HRR || st.Skipped != 1 {
		t.Errorf("hrr %v, stats %+v", flows[1].HRR, st)
	}
}

// Lines longer than MaxLineBytes are bad lines, skipped whole, and the
// reader goes on with the next line; bad line numbers are bounded.
func TestLongLinesAndBoundedBadLines(t *testing.T) {
	good := `{"msg":"tls handshake","role":"server","peer":"127.0.0.1:1","version":"TLS 1.3","group":"x25519"}`
	var b strings.Builder
	b.WriteString(strings.Repeat("x", MaxLineBytes+10) + "\n")  // over the limit, under the buffer
	b.WriteString(strings.Repeat("y", 3*MaxLineBytes*2) + "\n") // over the buffer
	b.WriteString(good + "\n")
	for range 50 {
		b.WriteString("{bad\n")
	}
	b.WriteString(good) // no final newline
	flows, st := readAll(t, "pqtls", "", b.String())
	if len(flows) != 2 || st.Lines != 54 || st.Bad != 52 || len(st.BadLines) != MaxBadLines || st.BadLines[0] != 1 || st.BadLines[1] != 2 || st.BadLines[2] != 4 {
		t.Errorf("%d flows, stats %+v", len(flows), st)
	}
}

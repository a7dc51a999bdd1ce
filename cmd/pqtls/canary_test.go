package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/canary"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
	"github.com/spf13/pflag"
)

// startCanaryTarget runs a pqtls server with the given mode on loopback.
func startCanaryTarget(t *testing.T, mode pqtls.Mode) string {
	t.Helper()
	cfg, err := pqtls.ServerConfig(pqtls.Options{Policy: pqtls.Policy{Mode: mode}, Base: &tls.Config{Certificates: []tls.Certificate{testpki.NewCA(t).Server(t, testpki.CertOptions{}).TLS}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := pqtls.Listen("tcp", "127.0.0.1:0", cfg, pqtls.ListenerOptions{HandshakeTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	testpeer.Serve(t, ln, 0, func(net.Conn) {})
	return ln.Addr().String()
}

func runCanary(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"canary"}, args...), strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCanaryCLIHybridServer(t *testing.T) {
	addr := startCanaryTarget(t, pqtls.ModePrefer)
	code, out, errOut := runCanary(t, addr, "--count", "2", "--pmtu", "off", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	var rep struct {
		Schema string `json:"schema"`
		Count  int    `json:"count"`
		Cases  []struct {
			Name     string         `json:"name"`
			Attempts int            `json:"attempts"`
			Classes  map[string]int `json:"classes"`
		} `json:"cases"`
		Verdict struct {
			Code string `json:"code"`
			Safe bool   `json:"safe"`
			Cost struct {
				ExtraBytes int `json:"extra_bytes"`
			} `json:"hybrid_cost"`
		} `json:"verdict"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Schema != "pqtls.canary/v1" || rep.Count != 2 || len(rep.Cases) != 10 || rep.Verdict.Code != "ok" || !rep.Verdict.Safe || rep.Verdict.Cost.ExtraBytes < 2000 {
		t.Fatalf("report: %+v", rep)
	}
	for _, c := range rep.Cases {
		if c.Classes["ok"] != 2 {
			t.Errorf("%s: %v", c.Name, c.Classes)
		}
	}
	code, out, _ = runCanary(t, addr, "-n", "1", "--pmtu", "off", "--cases", "hybrid")
	if code != 0 || !strings.Contains(out, "Verdict [ok]: OK: hybrid works") || !strings.Contains(out, "handshake-classical") {
		t.Fatalf("text output (exit %d):\n%s", code, out)
	}
}

func TestCanaryCLIClassicalServer(t *testing.T) {
	addr := startCanaryTarget(t, pqtls.ModeClassical)
	code, out, _ := runCanary(t, addr, "-n", "1", "--pmtu", "off")
	if code != 0 || !strings.Contains(out, "hybrid not available on this server") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	code, out, _ = runCanary(t, addr, "-n", "1", "--pmtu", "off", "--require-hybrid")
	if code != 1 || !strings.Contains(out, "hybrid_unavailable") {
		t.Fatalf("--require-hybrid: exit %d:\n%s", code, out)
	}
}

func TestCanaryCLIUnreachableExits1(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	code, out, _ := runCanary(t, addr, "-n", "1", "--pmtu", "off")
	if code != 1 || !strings.Contains(out, "Verdict [unreachable]") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestCanaryCLIUsageErrors(t *testing.T) {
	// One command line per string, split on spaces.
	for _, line := range []string{"", "a:1 b:2", "no-port", "h:443 --format xml", "h:443 --count 0", "h:443 --starttls gopher",
		"h:443 --cases hybird", "h:443 --pmtu maybe", "h:443 --timeout -1s", "h:443 --ca /nonexistent/ca.pem", "h:443 --bogus"} {
		args := strings.Fields(line)
		code, out, errOut := runCanary(t, args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if out != "" || !strings.Contains(errOut, "pqtls:") {
			t.Errorf("%v: stdout %q stderr %q", args, out, errOut)
		}
	}
}

// TestCanaryDocumented checks that docs/CANARY.md lists every flag, case and
// verdict, and that the playbook explains every verdict.
func TestCanaryDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/CANARY.md")
	if err != nil {
		t.Fatal(err)
	}
	playbook, err := os.ReadFile("../../docs/PLAYBOOK.md")
	if err != nil {
		t.Fatal(err)
	}
	newCanaryCmd(streams{}).Flags().VisitAll(func(f *pflag.Flag) {
		if !strings.Contains(string(doc), "`--"+f.Name+"`") {
			t.Errorf("flag --%s is not documented in docs/CANARY.md", f.Name)
		}
	})
	for _, c := range canary.CaseNames() {
		if !strings.Contains(string(doc), "`"+c+"`") {
			t.Errorf("case %s is not documented in docs/CANARY.md", c)
		}
	}
	for _, row := range canary.Verdicts {
		if v := row.Code; !strings.Contains(string(doc), "`"+v+"`") || !strings.Contains(string(playbook), "`"+v+"`") {
			t.Errorf("verdict %s is not explained in docs/CANARY.md and docs/PLAYBOOK.md", v)
		}
	}
	if !strings.Contains(string(doc), canary.Schema) {
		t.Errorf("docs/CANARY.md does not name the schema %s", canary.Schema)
	}
}

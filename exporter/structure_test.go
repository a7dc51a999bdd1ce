package exporter

import (
	"crypto/tls"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpeer"
)

// TestStartTLSParsedOnceAtLoad: the module's starttls value is parsed when
// the configuration loads; a probe uses the parsed protocol and never reads
// the string again (issue 12: it was re-parsed at six sites per probe).
func TestStartTLSParsedOnceAtLoad(t *testing.T) {
	p := newPKI(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// A PostgreSQL-like server: SSLRequest answered 'S', then TLS.
	cfg := &tls.Config{Certificates: []tls.Certificate{p.server.TLS()}}
	testpeer.Serve(t, ln, 5*time.Second, func(c net.Conn) {
		req := make([]byte, 8)
		if _, err := io.ReadFull(c, req); err != nil {
			return
		}
		_, _ = c.Write([]byte("S"))
		tc := tls.Server(c, cfg)
		_ = tc.Handshake()
		_, _ = io.Copy(io.Discard, tc)
	})
	conf := mustConfig(t, "modules:\n  pg:\n    starttls: PostgreSQL\n    server_name: localhost\n    ca_file: "+p.caFile+"\n    enumerate: true\n    enumerate_groups: [x25519]\n")
	m := conf.Modules["pg"]
	if m.proto != "postgres" {
		t.Fatalf("starttls parsed as %q at load, want postgres", m.proto)
	}
	m.StartTLS = "not a protocol" // a per-probe parse would now fail
	e := newExporter(t, conf, nil)
	body := get(e, url.Values{"target": {ln.Addr().String()}, "module": {"pg"}}).Body.String()
	if !strings.Contains(body, "probe_success 1") || !strings.Contains(body, `probe_tls_group_supported{group="x25519",kind="classical"} 1`) {
		t.Errorf("probe through the parsed protocol:\n%s", body)
	}
}

// TestExporterUsesStartTLSDirectly: the exporter's code reaches the
// STARTTLS preambles through internal/starttls, not through package scan's
// re-exports (issue 12).
func TestExporterUsesStartTLSDirectly(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	direct := false
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			switch {
			case pkg.Name == "starttls":
				direct = true
			case pkg.Name == "scan" && (strings.HasPrefix(sel.Sel.Name, "Proto") || sel.Sel.Name == "StartTLS" || sel.Sel.Name == "ParseProtocol" ||
				sel.Sel.Name == "ErrNoTLS" || sel.Sel.Name == "NoTLSError" || sel.Sel.Name == "PreambleError"):
				t.Errorf("%s: scan.%s: use internal/starttls", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
	}
	if !direct {
		t.Error("the exporter does not use internal/starttls")
	}
}

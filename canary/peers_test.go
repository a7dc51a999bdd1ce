package canary

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
)

// Real peers come from internal/testpeer (skip when missing, fail under
// PQTLS_REQUIRE_PEERS=1). Only the Node server inside a namespace is local:
// testpeer.NodeServer listens on the host's loopback.

const nodeServerJS = `
const tls = require('tls'), fs = require('fs');
const [cert, key, host, port] = process.argv.slice(2);
const srv = tls.createServer({cert: fs.readFileSync(cert), key: fs.readFileSync(key)}, (s) => s.end());
srv.on('tlsClientError', () => {});
srv.listen(+port, host);
`

// startNodeIn runs a Node.js 26 TLS server on ip:8443 inside namespace ns,
// waits until the client namespace can connect, and returns its address.
func startNodeIn(t *testing.T, topo *testpeer.Topology, ns *testpeer.Namespace, ip string) string {
	t.Helper()
	node, err := testpeer.Find(testpeer.PeerNode)
	if err != nil {
		testpeer.Missing(t, testpeer.PeerNode, err)
	}
	ca := testpki.NewCA(t)
	files := ca.Server(t, testpki.CertOptions{IPs: []net.IP{net.ParseIP(ip)}}).WriteFiles(t, t.TempDir())
	script := filepath.Join(t.TempDir(), "server.js")
	if err := os.WriteFile(script, []byte(nodeServerJS), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort(ip, "8443")
	p := ns.Start(t, "node server", node, script, files.Cert, files.Key, ip, "8443")
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := topo.Client.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr
		}
		if p.Exited() || time.Now().After(deadline) {
			t.Fatalf("node server on %s: %v\n%s", addr, err, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

package tunnel

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	spiffetls "github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
)

// spireRotationBudget bounds the wait for both tunnels' first SVIDs to be
// replaced and then expire (SPIRE renews at about half of the 1-minute TTL).
const spireRotationBudget = 100 * time.Second

// TestInteropSpireTunnelPairRotation: SPIRE 1.13.3 (a real spire-server
// and one spire-agent per "node", join_token node attestation, unix
// workload attestor, default_x509_svid_ttl 1m) feeds a server tunnel and a
// client tunnel through the Workload API. Traffic flows client tunnel ->
// X25519MLKEM768 mTLS with SPIRE-issued SVIDs -> server tunnel (allow
// spiffe://example.org/client) -> echo backend; a client tunnel holding
// another SPIFFE ID is refused (acl_denied). Then the test waits until
// both tunnels present rotated SVIDs and the first ones have expired:
// new connections still work (the expired SVIDs would be refused, so both
// tunnels rotated without a restart) and a connection opened before the
// rotation still carries traffic.
//
// The tunnels run in this test process, so the unix attestor sees the same
// uid and binary for all of them: each workload gets its own agent (as on
// separate nodes), and its entry is parented to that agent's SPIFFE ID with
// the selector unix:uid:<uid>.
func TestInteropSpireTunnelPairRotation(t *testing.T) {
	skipShort(t)
	sp := testpeer.Spire(t, testpeer.SpireOptions{X509SVIDTTL: time.Minute})
	td := "spiffe://" + sp.TrustDomain
	serverID, clientID, otherID := td+"/server", td+"/client", td+"/mallory"
	nodes := map[string]*testpeer.SpireAgent{}
	for _, id := range []string{serverID, clientID, otherID} {
		a := sp.Agent(t, strings.TrimPrefix(id, td+"/"))
		sp.Register(t, a, id, testpeer.UnixUIDSelector())
		nodes[id] = a
	}
	first := map[string]time.Time{} // SPIFFE ID -> NotAfter of the first SVID
	for _, id := range []string{serverID, clientID, otherID} {
		svid := nodes[id].SVID(t, id, 45*time.Second)
		leaf := svid.Certificates[0]
		first[id] = leaf.NotAfter
		if ttl := time.Until(leaf.NotAfter); ttl > time.Minute+5*time.Second {
			t.Fatalf("SVID %s valid for %v: default_x509_svid_ttl = 1m not applied", id, ttl)
		}
		t.Logf("SVID %s serial %s valid %s .. %s", id, leaf.SerialNumber, leaf.NotBefore.Format(time.TimeOnly), leaf.NotAfter.Format(time.TimeOnly))
	}

	srv, sreg, logs := startJSON(t, Config{Listeners: []ListenerConfig{{Name: "spire-in", Mode: ModeServer,
		Listen: "127.0.0.1:0", Target: longEchoServer(t), UseWorkloadAPI: true, WorkloadAPIAddr: nodes[serverID].Addr,
		Allow: ACL{URI: []string{clientID}}}}})
	srvAddr := srv.Listeners()[0].Addr().String()
	client := func(id string) (*Tunnel, *prometheus.Registry) {
		return startTunnel(t, Config{Listeners: []ListenerConfig{{Name: "spire-out", Mode: ModeClient, Listen: "127.0.0.1:0",
			Target: srvAddr, UseWorkloadAPI: true, WorkloadAPIAddr: nodes[id].Addr, Verify: ACL{URI: []string{serverID}}}}})
	}
	cli, creg := client(clientID)
	cliAddr := cli.Listeners()[0].Addr().String()
	through := func(addr, msg string) error {
		c, err := dialPlain(addr)
		if err != nil {
			return err
		}
		defer c.Close()
		got, err := roundTrip(c, msg)
		if err == nil && got != msg {
			err = fmt.Errorf("echo returned %q, want %q", got, msg)
		}
		return err
	}
	if err := through(cliAddr, "hello over SPIRE SVIDs"); err != nil {
		t.Fatalf("client tunnel -> server tunnel -> echo: %v", err)
	}
	longLived, err := dialPlain(cliAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer longLived.Close()
	if _, err := roundTrip(longLived, "before rotation"); err != nil {
		t.Fatalf("long-lived connection: %v", err)
	}

	// Another workload of the same trust domain: its chain verifies, the
	// server tunnel's allow list refuses it.
	mallory, _ := client(otherID)
	if err := through(mallory.Listeners()[0].Addr().String(), "let me in"); err == nil {
		t.Fatalf("a client tunnel with SVID %s reached the backend through a server that allows only %s", otherID, clientID)
	}
	waitMetric(t, sreg, pqtls.MetricErrorsTotal, map[string]string{"role": "server", "reason": pqtls.ReasonACLDenied}, 1)

	// The server tunnel's presented SVID, read with the client's own SVID
	// from its agent (go-spiffe verifies the chain and the server's ID).
	presented := spireServerSerial(t, nodes[clientID].Addr, srvAddr, serverID)
	before := presented()
	expired := first[serverID]
	if first[clientID].After(expired) {
		expired = first[clientID]
	}
	newConns := 0
	deadline := time.Now().Add(spireRotationBudget)
	for rotated := false; !rotated || !time.Now().After(expired.Add(time.Second)); {
		if time.Now().After(deadline) {
			t.Fatalf("within %v: server SVID rotated %v, first SVIDs expired at %s", spireRotationBudget, rotated, expired.Format(time.TimeOnly))
		}
		time.Sleep(2 * time.Second)
		rotated = rotated || presented() != before
		if err := through(cliAddr, "during rotation"); err != nil {
			t.Fatalf("new connection %d during the rotation: %v", newConns+1, err)
		}
		newConns++
	}
	t.Logf("server SVID serial %s -> %s; %d new connections during the rotation; first SVIDs expired at %s", before, presented(), newConns, expired.Format(time.TimeOnly))
	// The first SVIDs have expired: a tunnel still presenting one would be
	// refused, so these prove both tunnels rotated without a restart.
	if err := through(cliAddr, "after expiry of the first SVIDs"); err != nil {
		t.Fatalf("new connection after the first SVIDs expired: %v", err)
	}
	_ = longLived.SetDeadline(time.Now().Add(10 * time.Second))
	if got, err := roundTrip(longLived, "after rotation"); err != nil || got != "after rotation" {
		t.Fatalf("connection opened before the rotation: %q %v", got, err)
	}
	for _, id := range []string{serverID, clientID} {
		if out := nodes[id].Proc.Output(); !strings.Contains(out, "Renewing X509-SVID") {
			t.Errorf("spire-agent of %s logged no renewal:\n%s", id, out)
		}
	}

	// Every handshake of the pair was hybrid.
	longLived.Close()
	waitFor(t, "connections to end", func() bool { return srv.ActiveConnections() == 0 && cli.ActiveConnections() == 0 })
	hybrid := map[string]string{"group": pqtls.GroupLabel(tls.X25519MLKEM768)}
	if c, all := metricValue(t, creg, pqtls.MetricGroupTotal, hybrid), metricValue(t, creg, pqtls.MetricGroupTotal, nil); c < float64(newConns+3) || c != all {
		t.Errorf("client tunnel handshakes: %v hybrid of %v, want all of at least %d", c, all, newConns+3)
	}
	if s, all := metricValue(t, sreg, pqtls.MetricGroupTotal, hybrid), metricValue(t, sreg, pqtls.MetricGroupTotal, nil); s == 0 || s != all {
		t.Errorf("server tunnel handshakes: %v hybrid of %v", s, all)
	}
	checkSpireLog(t, logs.String(), clientID, newConns+3)
}

// longEchoServer is echoServer whose connections may live for the whole
// test (echoServer's close after 10 s).
func longEchoServer(t *testing.T) string {
	t.Helper()
	ln := listenLocal(t)
	testpeer.Serve(t, ln, 2*spireRotationBudget, func(c net.Conn) { _, _ = io.Copy(c, c) })
	return ln.Addr().String()
}

// spireServerSerial returns a func that handshakes with the server tunnel
// directly, holding the X.509-SVID the agent at agentAddr issues (go-spiffe
// verifies the server's chain and ID), and returns the serial of the
// certificate the tunnel presented.
func spireServerSerial(t *testing.T, agentAddr, addr, serverID string) func() string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	src, err := workloadapi.NewX509Source(ctx, workloadapi.WithClientOptions(workloadapi.WithAddr(agentAddr)))
	if err != nil {
		t.Fatalf("workload API %s: %v", agentAddr, err)
	}
	t.Cleanup(func() { src.Close() })
	cfg := spiffetls.MTLSClientConfig(src, src, spiffetls.AuthorizeID(spiffeid.RequireFromString(serverID)))
	return func() string {
		c, err := dialTLS(addr, cfg)
		if err != nil {
			t.Fatalf("direct handshake with the server tunnel: %v", err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
}

// checkSpireLog checks the server tunnel's connection log: at least n
// proxied connections identified as clientID, all X25519MLKEM768, and the
// refused one, which names no identity.
func checkSpireLog(t *testing.T, logs, clientID string, n int) {
	t.Helper()
	var ok, refused int
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec struct{ Msg, Identity, Group, Error string }
		if json.Unmarshal([]byte(line), &rec) != nil || rec.Msg != ConnectionLogMessage {
			continue
		}
		switch {
		case rec.Identity == clientID && rec.Group == pqtls.GroupName(tls.X25519MLKEM768) && rec.Error == "":
			ok++
		case strings.Contains(rec.Error, "mallory"):
			refused++
		}
	}
	if ok < n || refused != 1 {
		t.Errorf("server tunnel log: %d hybrid connections identified as %s (want >= %d), %d refusals naming mallory (want 1)\n%s", ok, clientID, n, refused, logs)
	}
}

// TestInteropSpireTunnelCLI: the pqtls binary as ghostunnel users run it,
// fed by one spire-agent whose unix attestor tells the processes apart by
// uid: `pqtls tunnel server --use-workload-api --workload-api-addr
// unix://... --allow-uri spiffe://example.org/client` as root (unix:uid:0,
// spiffe://example.org/server), `pqtls tunnel client ... --verify-uri
// spiffe://example.org/server` as nobody (unix:uid:65534,
// spiffe://example.org/client), and the same client command as daemon
// (unix:uid:1, spiffe://example.org/mallory), which the server refuses.
func TestInteropSpireTunnelCLI(t *testing.T) {
	skipShort(t)
	if os.Geteuid() != 0 {
		testpeer.Missing(t, "root", fmt.Errorf("running the tunnels as other uids needs root"))
	}
	sp := testpeer.Spire(t, testpeer.SpireOptions{})
	agent := sp.Agent(t, "node")
	td := "spiffe://" + sp.TrustDomain
	serverID, clientID, otherID := td+"/server", td+"/client", td+"/mallory"
	uids := map[string]uint32{serverID: 0, clientID: 65534, otherID: 1}
	for id, uid := range uids {
		sp.Register(t, agent, id, fmt.Sprint("unix:uid:", uid))
	}
	agent.SVID(t, serverID, 45*time.Second) // the agent has the entries
	bin := testpeer.PQTLSBinary(t)

	srvAddr, metricsAddr := freeAddr(t), freeAddr(t)
	startTunnelProcess(t, bin, uids[serverID], srvAddr, "server", "--listen", srvAddr, "--target", longEchoServer(t),
		"--use-workload-api", "--workload-api-addr", agent.Addr, "--allow-uri", clientID, "--metrics", metricsAddr)
	client := func(id string) string {
		addr := freeAddr(t)
		startTunnelProcess(t, bin, uids[id], addr, "client", "--listen", addr, "--target", srvAddr,
			"--use-workload-api", "--workload-api-addr", agent.Addr, "--verify-uri", serverID)
		return addr
	}
	cliAddr, malAddr := client(clientID), client(otherID)
	for i := range 3 {
		c, err := dialPlain(cliAddr)
		if err != nil {
			t.Fatal(err)
		}
		msg := fmt.Sprintf("connection %d as nobody", i)
		got, err := roundTrip(c, msg)
		c.Close()
		if err != nil || got != msg {
			t.Fatalf("client tunnel (uid 65534) -> server tunnel -> echo: %q %v", got, err)
		}
	}
	if c, err := dialPlain(malAddr); err == nil {
		got, err := roundTrip(c, "let me in")
		c.Close()
		if err == nil {
			t.Fatalf("the tunnel holding %s reached the backend: %q", otherID, got)
		}
	}
	m := scrapedMetrics(metricsAddr)
	waitMetric(t, m, pqtls.MetricErrorsTotal, map[string]string{"role": "server", "reason": pqtls.ReasonACLDenied}, 1)
	hybrid, all := metricValue(t, m, pqtls.MetricGroupTotal, map[string]string{"group": "x25519_mlkem768"}), metricValue(t, m, pqtls.MetricGroupTotal, nil)
	if hybrid != 3 || all != 3 {
		t.Errorf("server tunnel handshakes: %v x25519_mlkem768 of %v, want 3 of 3\n%v", hybrid, all, testpeer.Series(t, m))
	}
}

// startTunnelProcess runs `pqtls tunnel MODE ARGS` as uid (its own process
// group, stopped by PID at cleanup) and waits until it logs that it
// listens on listen.
func startTunnelProcess(t *testing.T, bin string, uid uint32, listen, mode string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"tunnel", mode}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if uid != 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uid, Gid: uid}
	}
	out := &logBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(testpeer.StopTimeout):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("pqtls tunnel %s (uid %d) output:\n%s", mode, uid, out.String())
		}
	})
	// Its log says when it listens (a test connection would count as a
	// handshake): after the first SVID, within WorkloadAPITimeout.
	deadline := time.Now().Add(WorkloadAPITimeout + 30*time.Second)
	for !strings.Contains(out.String(), "tunnel listening") {
		select {
		case <-done:
			t.Fatalf("pqtls tunnel %s (uid %d) exited:\n%s", mode, uid, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("pqtls tunnel %s (uid %d) not listening on %s after %v:\n%s", mode, uid, listen, WorkloadAPITimeout+30*time.Second, out.String())
		}
	}
}

// scrapedMetrics gathers the metric families of the /metrics page at addr
// (each Gather scrapes it again).
func scrapedMetrics(addr string) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/metrics")
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		parser := expfmt.NewTextParser(model.UTF8Validation)
		byName, err := parser.TextToMetricFamilies(io.LimitReader(resp.Body, 4<<20))
		return slices.Collect(maps.Values(byName)), err
	})
}

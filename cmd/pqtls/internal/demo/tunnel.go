package demo

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pqtls/pqtls/devpki"
	"github.com/pqtls/pqtls/tunnel"
	"github.com/prometheus/client_golang/prometheus"
)

// TunnelResult is what the tunnel part of the demo saw.
type TunnelResult struct {
	// Path is the chain of addresses: legacy client -> client tunnel ->
	// server tunnel -> legacy service.
	Path []string
	// Reply is what the legacy service answered through both tunnels.
	Reply string
	// Metrics are the tunnels' tls_handshake_group_total lines.
	Metrics []string
}

// runTunnel puts a plaintext "legacy" service behind a require-mode server
// tunnel and reaches it from a plaintext client through a client tunnel: the
// hop between the tunnels is hybrid TLS, neither end changed.
func runTunnel(ctx context.Context, ca *devpki.CA) (*TunnelResult, error) {
	dir, err := os.MkdirTemp("", "pqtls-demo-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	leaf, err := ca.Issue(devpki.Request{CommonName: "legacy.internal", Hosts: []string{"legacy.internal"}, Server: true})
	if err != nil {
		return nil, err
	}
	if err := devpki.WriteFiles(dir, []devpki.File{
		{Name: "ca.pem", Data: ca.CertPEM, Mode: 0o644},
		{Name: "server.pem", Data: leaf.CertPEM, Mode: 0o644},
		{Name: "server-key.pem", Data: leaf.KeyPEM, Mode: 0o600},
	}, false); err != nil {
		return nil, err
	}

	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer backend.Close()
	go serveEach(backend, func(c net.Conn) {
		line, _ := bufio.NewReader(c).ReadString('\n')
		fmt.Fprintf(c, "legacy service got %q in plaintext\n", strings.TrimSpace(line))
	})

	reg := prometheus.NewRegistry()
	opts := tunnel.Options{Registerer: reg, NoWatch: true}
	srv, err := tunnel.Start(ctx, tunnel.Config{Listeners: []tunnel.ListenerConfig{{
		Name: "legacy-server", Mode: tunnel.ModeServer, Listen: "127.0.0.1:0", Target: backend.Addr().String(),
		Cert: filepath.Join(dir, "server.pem"), Key: filepath.Join(dir, "server-key.pem"), Policy: "require",
	}}}, opts)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	srvAddr := srv.Listeners()[0].Addr().String()
	cli, err := tunnel.Start(ctx, tunnel.Config{Listeners: []tunnel.ListenerConfig{{
		Name: "legacy-client", Mode: tunnel.ModeClient, Listen: "127.0.0.1:0", Target: srvAddr,
		CA: filepath.Join(dir, "ca.pem"), ServerName: "legacy.internal",
	}}}, opts)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	cliAddr := cli.Listeners()[0].Addr().String()

	c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", cliAddr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintln(c, "SELECT balance FROM accounts")
	reply, err := io.ReadAll(c)
	if err != nil {
		return nil, fmt.Errorf("reading through the tunnels: %w", err)
	}
	res := &TunnelResult{
		Path:  []string{"legacy client", "client tunnel " + cliAddr, "server tunnel " + srvAddr + " (policy require)", "legacy service " + backend.Addr().String()},
		Reply: strings.TrimSpace(string(reply)),
	}
	// The server tunnel records its handshake after the copy starts; wait
	// briefly for both sides to be counted.
	deadline := time.Now().Add(2 * time.Second)
	for {
		res.Metrics = groupLines(reg)
		if len(res.Metrics) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return res, nil
}

func groupLines(reg *prometheus.Registry) []string {
	mfs, err := reg.Gather()
	if err != nil {
		return nil
	}
	var out []string
	for _, mf := range mfs {
		if mf.GetName() != "tls_handshake_group_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			out = append(out, fmt.Sprintf("%s{%s} %g", mf.GetName(), strings.Join(labels, ","), m.GetCounter().GetValue()))
		}
	}
	return out
}

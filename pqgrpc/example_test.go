package pqgrpc_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/devpki"
	"github.com/pqtls/pqtls/pqgrpc"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// gRPC: a server keeps grpc-go's own credentials.NewTLS and only wraps its
// config (the one-line path); a client uses pqgrpc's credentials, whose
// refusals PolicyErrorOf recovers from a failed RPC.
func Example() {
	ca, _ := devpki.NewCA("example CA", devpki.ECDSAP256)
	leaf, _ := ca.Issue(devpki.Request{CommonName: "grpc.internal", Hosts: []string{"grpc.internal"}, Server: true})
	reg := prometheus.NewRegistry()
	metrics, _ := pqtls.NewMetrics(reg)
	obs := &pqtls.Observer{Metrics: metrics}

	serverCfg, err := pqtls.ServerConfig(pqtls.Options{Base: &tls.Config{Certificates: []tls.Certificate{leaf.TLS()}}, Observer: obs})
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(serverCfg)))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Stop()

	creds, err := pqgrpc.NewClientCredentials(pqtls.Options{Policy: pqtls.Policy{Mode: pqtls.ModeRequire},
		Base: &tls.Config{RootCAs: ca.Pool(), ServerName: "grpc.internal"}}, obs)
	if err != nil {
		log.Fatal(err)
	}
	conn, _ := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(creds))
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if perr, ok := pqgrpc.PolicyErrorOf(err); ok {
		log.Fatalf("refused by policy: %v", perr)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.GetStatus())
	// Output: SERVING
}

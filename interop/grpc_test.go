package interop

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/pqtls/pqtls/internal/testpki"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// grpc-go's own credentials.NewTLS on instrumented configs, both sides:
// one health check, one handshake per side, recorded by the hooks.
func TestInteropGRPCCredentialsNewTLS(t *testing.T) {
	testpeer.Require(t)
	ca := testpki.NewCA(t)
	cert := ca.Server(t, testpki.CertOptions{})
	sobs, sreg := observed(t)
	scfg, err := pqtls.ServerConfig(pqtls.Options{Base: &tls.Config{Certificates: []tls.Certificate{cert.TLS}}, Observer: sobs})
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(scfg)))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)

	cobs, creg := observed(t)
	ccfg, err := pqtls.ClientConfig(pqtls.Options{Base: &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}, Observer: cobs})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(ccfg)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health check: %v %v", resp, err)
	}
	aes := "tls_handshake_cipher_total{cipher=TLS_AES_128_GCM_SHA256,role=%s,version=TLS 1.3}"
	wantSeries(t, sreg, map[string]float64{
		group(pqtls.RoleServer, tls.X25519MLKEM768): 1,
		fmt.Sprintf(aes, "server"):                  1,
		hookDur(tls.X25519MLKEM768):                 1,
	})
	wantSeries(t, creg, map[string]float64{
		group(pqtls.RoleClient, tls.X25519MLKEM768): 1,
		fmt.Sprintf(aes, "client"):                  1,
	})
}

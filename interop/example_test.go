package interop

import (
	"context"
	"crypto/tls"
	"log"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/pqtls/pqtls"
	"github.com/prometheus/client_golang/prometheus"
)

// pgx: the driver runs the handshake itself (ConnConfig.TLSConfig); a
// ClientConfig with an Observer records it. With PQTLS_POLICY=require and a
// classical-only PostgreSQL, the connection fails and RefusedByPolicy says
// why. (Compiled, not run: it needs a PostgreSQL server;
// TestInteropPgxPostgres runs the same against a real one.)
func Example_pgx() {
	metrics, _ := pqtls.NewMetrics(prometheus.DefaultRegisterer)
	obs := &pqtls.Observer{Metrics: metrics}
	policy, err := pqtls.PolicyFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	cc, err := pgx.ParseConfig(os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	existing := cc.TLSConfig // what sslmode and sslrootcert produced; nil for sslmode=disable
	if existing == nil {
		existing = &tls.Config{}
	}
	cc.TLSConfig, err = pqtls.ClientConfig(pqtls.Options{Base: existing, Observer: obs, Policy: policy})
	if err != nil {
		log.Fatal(err)
	}
	conn, err := pgx.ConnectConfig(context.Background(), cc)
	if pqtls.RefusedByPolicy(err) {
		obs.RecordError(pqtls.RoleClient, cc.Host, pqtls.AsPolicyError(cc.TLSConfig, cc.Host, err))
		log.Fatalf("PostgreSQL offers no hybrid key exchange: %v", err)
	}
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close(context.Background())
}

package tunnel_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/pqtls/pqtls/tunnel"
	"github.com/prometheus/client_golang/prometheus"
)

// A server tunnel in front of a local PostgreSQL, started from Go (as
// 'pqtls demo' does): hybrid TLS on an ephemeral port, plaintext to 5432.
func ExampleStart() {
	reg := prometheus.NewRegistry()
	t, err := tunnel.Start(context.Background(), tunnel.Config{
		Listeners: []tunnel.ListenerConfig{{
			Name: "postgres", Mode: tunnel.ModeServer,
			Listen: "127.0.0.1:0", Target: "127.0.0.1:5432",
			Cert: "server.pem", Key: "server.key",
			Policy: "require",
		}},
	}, tunnel.Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)), Registerer: reg})
	if err != nil {
		fmt.Println(err) // e.g. a *tunnel.ConfigError naming a missing file
		return
	}
	defer t.Close()
	fmt.Println("hybrid TLS on", t.Listeners()[0].Addr())
}

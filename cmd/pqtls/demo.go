package main

import (
	"context"
	"os/signal"
	"syscall"

	"github.com/pqtls/pqtls/cmd/pqtls/internal/demo"
	"github.com/spf13/cobra"
)

func newDemoCmd(s streams) *cobra.Command {
	var handshakes int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Show hybrid vs classical TLS side by side, self-contained, on loopback, in seconds",
		Long: `Start in-process servers (prefer, classical-only, require) and clients of each policy on 127.0.0.1,
and show the negotiated group per pair, ClientHello sizes, handshake latency, the refused classical
client and an excerpt of the metrics. Nothing leaves the machine.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if handshakes < 1 || handshakes > 10000 {
				return usageErrorf("--handshakes must be between 1 and 10000")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if ctx == nil {
				ctx = context.Background()
			}
			if err := demo.Run(ctx, s.out, demo.Options{Handshakes: handshakes}); err != nil {
				return failuref("demo: %v", err)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&handshakes, "handshakes", 20, "handshakes per client/server pair for the latency figures")
	return cmd
}

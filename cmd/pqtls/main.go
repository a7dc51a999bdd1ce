// Command pqtls moves service-to-service TLS to hybrid post-quantum key
// exchange: a demo, a sidecar tunnel, a scanner, a canary, an exporter, a
// passive observer and a config linter, all built on the pqtls library.
package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"

	"github.com/spf13/cobra"
)

// Exit codes shared by every subcommand.
const (
	exitOK      = 0
	exitFailure = 1 // a runtime failure, or a check that did not pass
	exitUsage   = 2 // bad flags, arguments or configuration
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the pqtls command line and returns the process exit code. It is
// the entry point tests call.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "pqtls: %v\n", ee.err)
		}
		return ee.code
	}
	// Cobra's own flag and argument errors are usage errors.
	fmt.Fprintf(stderr, "pqtls: %v\nRun '%s --help' for usage.\n", err, commandPath(root, args))
	return exitUsage
}

// exitError carries an exit code out of a subcommand.
type exitError struct {
	code int
	err  error // nil: the subcommand already printed what went wrong
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErrorf reports bad input (exit 2). The message must say what to do.
func usageErrorf(format string, a ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

// failuref reports a runtime failure (exit 1).
func failuref(format string, a ...any) error {
	return &exitError{code: exitFailure, err: fmt.Errorf(format, a...)}
}

// silentExit returns an error that sets the exit code without printing.
func silentExit(code int) error { return &exitError{code: code} }

// io bundles the streams a subcommand uses, so tests can capture them.
type streams struct {
	in          io.Reader
	out, errOut io.Writer
}

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	s := streams{in: stdin, out: stdout, errOut: stderr}
	root := &cobra.Command{
		Use:           "pqtls",
		Short:         "Move service-to-service TLS to hybrid post-quantum key exchange",
		Long:          "pqtls moves service-to-service TLS to hybrid post-quantum key exchange (X25519MLKEM768 and its siblings)\nand proves that it worked. Start with 'pqtls demo'.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// --version prints the same line as 'pqtls version'.
	root.Version = versionLine()
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%v\nRun '%s --help' for usage.", err, c.CommandPath())
	})
	for _, add := range []func(streams) *cobra.Command{
		newVersionCmd,
		newGroupsCmd,
		newLintCmd,
		newCertsCmd,
		newDemoCmd,
		newExporterCmd,
		newScanCmd,
		newCanaryCmd,
		newObserveCmd,
		newTunnelCmd,
		newBenchCmd,
	} {
		root.AddCommand(add(s))
	}
	return root
}

// commandPath returns the deepest known command path named by args, for
// error hints.
func commandPath(root *cobra.Command, args []string) string {
	c, _, err := root.Find(args)
	if err != nil || c == nil {
		return root.Name()
	}
	return c.CommandPath()
}

// checkListenAddr rejects a listen address that can never be bound (no
// port, a port outside 0-65535) before any work, so it is a usage error
// (exit 2); an address in use is a runtime failure found at listen time.
func checkListenAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: give host:port, e.g. 127.0.0.1:9650 or :9650", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port %q must be a number from 0 to 65535", addr, port)
	}
	return nil
}

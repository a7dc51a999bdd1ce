package main

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/pqtls/pqtls/devpki"
	"github.com/spf13/cobra"
)

func newCertsCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "Create certificates for trying pqtls (development only)",
		Args:  cobra.NoArgs, // an unknown subcommand is a usage error
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newCertsDevCmd(s))
	return cmd
}

func newCertsDevCmd(s streams) *cobra.Command {
	var (
		out        string
		hosts      []string
		serverURIs []string
		clientCN   string
		clientOU   []string
		clientURIs []string
		keyType    string
		force      bool
	)
	cmd := &cobra.Command{
		Use:   "dev --out DIR",
		Short: "Write a development CA and a server and client certificate signed by it",
		Long: `Write a development CA and a server and client certificate signed by it into DIR:

  ca.pem ca-key.pem            the CA (keep ca-key.pem private)
  server.pem server-key.pem    server certificate for --host names (default localhost, 127.0.0.1, ::1)
  client.pem client-key.pem    client certificate (CN --client-cn, OU --client-ou, URI SAN --client-uri)

Keys are written with mode 0600. Existing files are never overwritten without --force.
Signatures are classical by default (ECDSA P-256): only the key exchange is post-quantum.
--key-type ml-dsa-44, ml-dsa-65 or ml-dsa-87 makes a post-quantum ML-DSA chain (TLS 1.3
only); it needs pqtls built with Go 1.27 or later.`,
		Example: `  pqtls certs dev --out ./pki --host db.internal --client-uri spiffe://example.org/billing`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageErrorf("--out DIR is required: the directory to write the certificates into")
			}
			for _, h := range hosts {
				if strings.TrimSpace(h) == "" {
					return usageErrorf("--host has an empty name: give the server's DNS names and IP addresses, e.g. --host db.internal,127.0.0.1")
				}
			}
			if len(hosts) == 0 {
				return usageErrorf("--host needs at least one name: a server certificate without names is rejected by every client")
			}
			kt, err := parseCertKeyType(keyType)
			if err != nil {
				return err
			}
			ca, err := devpki.NewCA("pqtls development CA", kt)
			if err != nil {
				return failuref("creating the CA: %v", err)
			}
			server, err := ca.Issue(devpki.Request{CommonName: firstOr(hosts, "localhost"), Hosts: hosts, URIs: serverURIs, Server: true, KeyType: kt})
			if err != nil {
				return usageErrorf("server certificate: %v", err)
			}
			client, err := ca.Issue(devpki.Request{CommonName: clientCN, OrganizationalUnit: clientOU, URIs: clientURIs, Client: true, KeyType: kt})
			if err != nil {
				return usageErrorf("client certificate: %v", err)
			}
			files := []devpki.File{
				{Name: "ca.pem", Data: ca.CertPEM, Mode: 0o644},
				{Name: "ca-key.pem", Data: ca.KeyPEM, Mode: 0o600},
				{Name: "server.pem", Data: server.CertPEM, Mode: 0o644},
				{Name: "server-key.pem", Data: server.KeyPEM, Mode: 0o600},
				{Name: "client.pem", Data: client.CertPEM, Mode: 0o644},
				{Name: "client-key.pem", Data: client.KeyPEM, Mode: 0o600},
			}
			if err := devpki.WriteFiles(out, files, force); err != nil {
				return failuref("%v", err)
			}
			fmt.Fprintf(s.out, "wrote a development CA, server and client certificates (%s) to %s\n", kt, out)
			fmt.Fprintf(s.out, "  server: %v\n  client: CN=%s OU=%v URI=%v\n", hosts, clientCN, clientOU, clientURIs)
			fmt.Fprintf(s.out, "try: pqtls tunnel server --listen 127.0.0.1:8443 --target 127.0.0.1:8080 --cert %s --key %s\n",
				filepath.Join(out, "server.pem"), filepath.Join(out, "server-key.pem"))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "directory to write the files into (created if missing)")
	f.StringSliceVar(&hosts, "host", []string{"localhost", "127.0.0.1", "::1"}, "server DNS names and IP addresses (repeatable or comma-separated)")
	f.StringSliceVar(&serverURIs, "server-uri", nil, "server URI SANs, e.g. a SPIFFE ID")
	f.StringVar(&clientCN, "client-cn", "pqtls-client", "client certificate common name")
	f.StringSliceVar(&clientOU, "client-ou", nil, "client certificate organizational units")
	f.StringSliceVar(&clientURIs, "client-uri", []string{"spiffe://example.org/client"}, "client URI SANs (SPIFFE IDs)")
	f.StringVar(&keyType, "key-type", "ecdsa-p256", "key type: ecdsa-p256, rsa-2048, ed25519, or ml-dsa-44, ml-dsa-65, ml-dsa-87 (Go 1.27+ builds)")
	f.BoolVar(&force, "force", false, "overwrite existing files")
	return cmd
}

// parseCertKeyType is the one place --key-type is parsed: trimmed,
// case-insensitive, and an ML-DSA type in a build without crypto/mldsa is a
// usage error (exit 2) before any file is written.
func parseCertKeyType(s string) (devpki.KeyType, error) {
	kt, err := devpki.ParseKeyType(s)
	if err != nil {
		return "", usageErrorf("--key-type: %v", err)
	}
	if !kt.Supported() {
		return "", usageErrorf("--key-type %s %v (this one is built with %s): rebuild it with Go 1.27+ or use --key-type ecdsa-p256",
			kt, devpki.ErrNeedsGo127, runtime.Version())
	}
	return kt, nil
}

func firstOr(list []string, def string) string {
	if len(list) > 0 && list[0] != "" {
		return list[0]
	}
	return def
}

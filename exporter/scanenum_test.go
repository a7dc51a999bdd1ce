package exporter

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/pqtls/pqtls/scan"
)

// scanEnumerate is the Enumerator the tests use: scan's engine, as
// 'pqtls exporter' wires it (cmd/pqtls/exporter.go, scanEnumerator; the
// exporter package itself may not import scan).
func scanEnumerate(ctx context.Context, r EnumRequest) (EnumResult, error) {
	t := scan.Target{Input: net.JoinHostPort(r.Host, strconv.Itoa(r.Port)), Source: "exporter", Host: r.Host, IP: r.IP.String(),
		Port: r.Port, ServerName: r.ServerName, StartTLS: scan.ProtoNone}
	res, err := scan.ScanOne(ctx, t, scan.Options{Enumerate: true, Groups: r.Groups, ServerName: r.ServerName, RootCAs: r.RootCAs,
		ClientCert: r.ClientCert, ALPN: r.ALPN, StartTLS: r.StartTLS, Retries: -1, Timeout: r.Timeout, DialContext: r.DialContext, Logger: r.Logger})
	if err == nil && res.Error != "" {
		err = fmt.Errorf("enumeration: %s (%s)", res.Verdict, res.Reason)
	}
	out := EnumResult{TLS12Curves: res.TLS12Curves, Connections: res.Connections, ProbeErrors: len(res.ProbeErrors),
		Supported: res.SupportedGroups()}
	out.PQAuth.CNSA2 = string(res.CNSA2.Verdict)
	if res.MLDSA != nil {
		out.PQAuth.MLDSACapable = res.MLDSA.Capable
		out.PQAuth.MLDSASchemes = res.MLDSA.Schemes()
	}
	return out, err
}

package pqtls_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/pqtls/pqtls"
	"github.com/pqtls/pqtls/devpki"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A require-mode HTTPS server and a default client: the handshake is hybrid
// and both sides count it.
func Example() {
	ca, leaf := exampleCA()

	reg := prometheus.NewRegistry()
	metrics, _ := pqtls.NewMetrics(reg)
	obs := &pqtls.Observer{Metrics: metrics}

	serverCfg, err := pqtls.ServerConfig(pqtls.Options{
		Policy: pqtls.Policy{Mode: pqtls.ModeRequire},
		Base:   &tls.Config{Certificates: []tls.Certificate{leaf.TLS()}},
	})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := pqtls.Listen("tcp", "127.0.0.1:0", serverCfg, pqtls.ListenerOptions{Observer: obs})
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello over %s", pqtls.GroupName(r.TLS.CurveID))
	})}
	go srv.Serve(ln)
	defer srv.Close()

	clientCfg, _ := pqtls.ClientConfig(pqtls.Options{Base: &tls.Config{RootCAs: ca.Pool(), ServerName: "api.internal"}})
	dialer := &pqtls.Dialer{Config: clientCfg, Observer: obs}
	client := &http.Client{Transport: dialer.HTTPTransport()}
	fmt.Println(getBody(client, ln.Addr()))
	// Output: hello over X25519MLKEM768
}

// ParsePolicy turns flag or config values into a validated policy; warnings
// say when an explicit setting loses post-quantum protection.
func ExampleParsePolicy() {
	_, warnings, err := pqtls.ParsePolicy("prefer", "x25519,P-256", "")
	fmt.Println(err)
	fmt.Println(warnings[0][:60])

	_, _, err = pqtls.ParsePolicy("require", "X25519MLKEM768,x25519", "")
	fmt.Println(err)
	// Output:
	// <nil>
	// policy prefer with a group list that has no hybrid group: th
	// policy require offers hybrid groups only, but the list has x25519: remove them, or use policy prefer to keep a classical fallback
}

// ParseGroup accepts IANA, OpenSSL and Go names, metric labels and
// codepoints, case-insensitively.
func ExampleParseGroup() {
	for _, name := range []string{"x25519mlkem768", "prime256v1", "0x11ED", "X25519MLKEM786"} {
		g, err := pqtls.ParseGroup(name)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s 0x%04X %s %s\n", g.Name, uint16(g.ID), g.Kind, g.Label)
	}
	// Output:
	// X25519MLKEM768 0x11EC hybrid x25519_mlkem768
	// secp256r1 0x0017 classical secp256r1
	// SecP384r1MLKEM1024 0x11ED hybrid secp384r1_mlkem1024
	// unknown group "X25519MLKEM786": did you mean X25519MLKEM768, SecP256r1MLKEM768, X25519Kyber768Draft00? ('pqtls groups' lists them all)
}

// The one-line path for an HTTPS server: wrap the tls.Config the service
// already has, with the fleet policy from PQTLS_POLICY and an Observer, and
// serve it with net/http as before. The handshake is recorded wherever the
// config is used; HTTPServerErrorLog counts net/http's handshake errors.
func ExampleServerConfig() {
	ca, leaf := exampleCA()
	existing := &tls.Config{Certificates: []tls.Certificate{leaf.TLS()}} // the service's own config

	reg := prometheus.NewRegistry()
	metrics, _ := pqtls.NewMetrics(reg)
	obs := &pqtls.Observer{Metrics: metrics}
	policy, err := pqtls.PolicyFromEnv() // PQTLS_POLICY=require during the rollout's last phase
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := pqtls.ServerConfig(pqtls.Options{Base: existing, Observer: obs, Policy: policy})
	if err != nil {
		log.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &http.Server{TLSConfig: cfg, ErrorLog: obs.HTTPServerErrorLog(nil), ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s over %s", r.Proto, pqtls.GroupName(r.TLS.CurveID))
		})}
	go srv.ServeTLS(ln, "", "")
	defer srv.Close()

	client := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "api.internal"}}}
	fmt.Println(getBody(client, ln.Addr()))
	n, _ := testutil.GatherAndCount(reg, pqtls.MetricGroupTotal)
	fmt.Println("series:", n)
	// Output:
	// HTTP/2.0 over X25519MLKEM768
	// series: 1
}

// The HTTP client side: HTTPTransport is http.DefaultTransport (proxy from
// the environment, its timeouts) with pqtls's policy, metrics and HTTP/2.
func ExampleDialer_HTTPTransport() {
	ca, leaf := exampleCA()
	srvCfg, _ := pqtls.ServerConfig(pqtls.Options{Base: &tls.Config{Certificates: []tls.Certificate{leaf.TLS()}}})
	ln, _ := pqtls.Listen("tcp", "127.0.0.1:0", srvCfg, pqtls.ListenerOptions{})
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s over %s", r.Proto, pqtls.GroupName(r.TLS.CurveID))
	})}
	go srv.Serve(ln)
	defer srv.Close()

	reg := prometheus.NewRegistry()
	metrics, _ := pqtls.NewMetrics(reg)
	cfg, err := pqtls.ClientConfig(pqtls.Options{Base: &tls.Config{RootCAs: ca.Pool(), ServerName: "api.internal"}, Policy: pqtls.Policy{Mode: pqtls.ModeRequire}})
	if err != nil {
		log.Fatal(err)
	}
	d := &pqtls.Dialer{Config: cfg, Observer: &pqtls.Observer{Metrics: metrics}}
	client := &http.Client{Transport: d.HTTPTransport(), Timeout: 10 * time.Second}
	fmt.Println(getBody(client, ln.Addr()))
	// Output: HTTP/2.0 over X25519MLKEM768
}

// exampleCA is the examples' development CA and its server certificate for
// api.internal.
func exampleCA() (*devpki.CA, *devpki.Cert) {
	ca, _ := devpki.NewCA("example CA", devpki.ECDSAP256)
	leaf, _ := ca.Issue(devpki.Request{CommonName: "api.internal", Hosts: []string{"api.internal"}, Server: true})
	return ca, leaf
}

// getBody returns the body of https://addr/ fetched with client.
func getBody(client *http.Client, addr net.Addr) string {
	resp, err := client.Get("https://" + addr.String() + "/")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

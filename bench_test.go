package pqtls

import (
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/rand"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/pqtls/pqtls/internal/testpeer"
	"github.com/prometheus/client_golang/prometheus"
)

// benchGroups are the groups Go negotiates, in DESIGN order.
var benchGroups = []tls.CurveID{tls.X25519, tls.CurveP256, tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024}

// BenchmarkHandshakeGroup measures a full TLS 1.3 handshake (both sides, one
// process, ECDSA P-256 certificate) over loopback TCP, per group.
func BenchmarkHandshakeGroup(b *testing.B) {
	cert, pool := selfSigned(b)
	for _, id := range benchGroups {
		b.Run(GroupLabel(id), func(b *testing.B) {
			srv := &tls.Config{Certificates: []tls.Certificate{cert}, CurvePreferences: []tls.CurveID{id}, MinVersion: tls.VersionTLS13}
			cli := &tls.Config{RootCAs: pool, ServerName: "localhost", CurvePreferences: []tls.CurveID{id}, SessionTicketsDisabled: true}
			ln := bareServer(b, srv)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				dialOnce(b, ln.Addr().String(), cli)
			}
		})
	}
}

// BenchmarkKeyExchange measures the key-exchange work alone per side:
// client = key generation + (after the ServerHello) decapsulation / ECDH;
// server = encapsulation / ECDH against the client's share.
func BenchmarkKeyExchange(b *testing.B) {
	type kex struct {
		name           string
		client, server func(b *testing.B)
	}
	// ECDH costs the same on both sides: a key generation and an ECDH.
	ecdhSides := func(c ecdh.Curve) (func(*testing.B), func(*testing.B)) {
		peer, _ := c.GenerateKey(rand.Reader)
		side := benchLoop(func() {
			k, _ := c.GenerateKey(rand.Reader)
			_, _ = k.ECDH(peer.PublicKey())
		})
		return side, side
	}
	x25519c, x25519s := ecdhSides(ecdh.X25519())
	p256c, p256s := ecdhSides(ecdh.P256())
	mlkem768c, mlkem768s := mlkemSides(mlkem.GenerateKey768, mlkem.NewEncapsulationKey768)
	mlkem1024c, mlkem1024s := mlkemSides(mlkem.GenerateKey1024, mlkem.NewEncapsulationKey1024)
	p384c, p384s := ecdhSides(ecdh.P384())
	both := func(fs ...func(*testing.B)) func(*testing.B) {
		return func(b *testing.B) {
			for _, f := range fs {
				f(b)
			}
		}
	}
	for _, k := range []kex{
		{"x25519", x25519c, x25519s},
		{"secp256r1", p256c, p256s},
		{"x25519_mlkem768", both(mlkem768c, x25519c), both(mlkem768s, x25519s)},
		{"secp256r1_mlkem768", both(mlkem768c, p256c), both(mlkem768s, p256s)},
		{"secp384r1_mlkem1024", both(mlkem1024c, p384c), both(mlkem1024s, p384s)},
	} {
		b.Run(k.name+"/client", k.client)
		b.Run(k.name+"/server", k.server)
	}
}

// benchLoop is a benchmark that runs op b.N times.
func benchLoop(op func()) func(*testing.B) {
	return func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			op()
		}
	}
}

// mlkemSides returns the ML-KEM work of each side, for ML-KEM-768 or -1024:
// the client generates a key and decapsulates the server's ciphertext, the
// server parses the client's key and encapsulates.
func mlkemSides[DK interface {
	EncapsulationKey() EK
	Decapsulate([]byte) ([]byte, error)
}, EK interface {
	Bytes() []byte
	Encapsulate() ([]byte, []byte)
}](generate func() (DK, error), parse func([]byte) (EK, error)) (client, server func(*testing.B)) {
	dk, _ := generate()
	_, ct := dk.EncapsulationKey().Encapsulate()
	client = benchLoop(func() {
		k, _ := generate()
		_ = k.EncapsulationKey().Bytes()
		_, _ = dk.Decapsulate(ct)
	})
	server = benchLoop(func() {
		ek, _ := parse(dk.EncapsulationKey().Bytes())
		_, _ = ek.Encapsulate()
	})
	return client, server
}

// BenchmarkInstrumentationOverhead compares, in one run, a bare crypto/tls
// server with a pqtls Listener (handshake goroutine, deadline, metrics,
// policy hook) serving the same X25519MLKEM768 handshake to the same client.
func BenchmarkInstrumentationOverhead(b *testing.B) {
	cert, pool := selfSigned(b)
	cli := &tls.Config{RootCAs: pool, ServerName: "localhost", SessionTicketsDisabled: true}
	base := &tls.Config{Certificates: []tls.Certificate{cert}}
	b.Run("bare", func(b *testing.B) {
		ln := bareServer(b, base.Clone())
		b.ResetTimer()
		cpu := processCPU()
		for i := 0; i < b.N; i++ {
			dialOnce(b, ln.Addr().String(), cli)
		}
		reportCPU(b, cpu)
	})
	for _, mode := range []Mode{ModePrefer, ModeRequire} {
		b.Run("pqtls-"+string(mode), func(b *testing.B) {
			m, _ := NewMetrics(prometheus.NewRegistry())
			cfg, err := ServerConfig(Options{Policy: Policy{Mode: mode}, Base: base})
			if err != nil {
				b.Fatal(err)
			}
			ln, err := Listen("tcp", "127.0.0.1:0", cfg, ListenerOptions{Observer: &Observer{Metrics: m}})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { ln.Close() })
			testpeer.Serve(b, ln, 0, drain)
			b.ResetTimer()
			cpu := processCPU()
			for i := 0; i < b.N; i++ {
				dialOnce(b, ln.Addr().String(), cli)
			}
			reportCPU(b, cpu)
		})
	}
}

// processCPU returns the CPU time (user+system) this process has used. Wall
// time on a shared 2-core machine is noisy; CPU per handshake is the stable
// measure of what instrumentation adds.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
}

// bareServer is the reference: crypto/tls with nothing added, handshaking
// in a goroutine per connection as net/http does.
func bareServer(b *testing.B, cfg *tls.Config) net.Listener {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		b.Fatal(err)
	}
	testpeer.Serve(b, ln, 0, func(c net.Conn) {
		if err := c.(*tls.Conn).Handshake(); err == nil {
			_, _ = io.Copy(io.Discard, c)
		}
	})
	return ln
}

// drain is the handler of the pqtls servers: the handshake already ran in
// the Listener.
func drain(c net.Conn) { _, _ = io.Copy(io.Discard, c) }

// dialOnce runs one full handshake and waits for the server's session
// tickets to be read, so both sides' work is inside the measurement.
func dialOnce(b *testing.B, addr string, cfg *tls.Config) {
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	c := tls.Client(raw, cfg)
	if err := c.Handshake(); err != nil {
		b.Fatal(err)
	}
	_ = c.Close()
}

// BenchmarkObserverRecord isolates what instrumentation adds to each
// handshake: metrics (group counter, duration histogram) from a
// ConnectionState, without and with a JSON log line.
func BenchmarkObserverRecord(b *testing.B) {
	cs := tls.ConnectionState{Version: tls.VersionTLS13, CurveID: tls.X25519MLKEM768, CipherSuite: tls.TLS_AES_128_GCM_SHA256, ServerName: "api.internal"}
	peer := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	m, _ := NewMetrics(prometheus.NewRegistry())
	b.Run("metrics", func(b *testing.B) {
		o := &Observer{Metrics: m}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			o.Record(RoleServer, peer, cs, 900*time.Microsecond, nil)
		}
	})
	b.Run("metrics+log", func(b *testing.B) {
		o := &Observer{Metrics: m, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			o.Record(RoleServer, peer, cs, 900*time.Microsecond, nil)
		}
	})
}

// BenchmarkHookPath compares, in one run, bare crypto/tls on both sides with
// the same handshake through configurations built by ServerConfig and
// ClientConfig with an Observer (the one-line path: hooks, per-connection
// config, metrics on both sides). docs/PERFORMANCE.md has the figures.
func BenchmarkHookPath(b *testing.B) {
	cert, pool := selfSigned(b)
	srvBase := &tls.Config{Certificates: []tls.Certificate{cert}}
	cliBase := &tls.Config{RootCAs: pool, ServerName: "localhost", SessionTicketsDisabled: true}
	b.Run("impl=bare", func(b *testing.B) {
		ln := bareServer(b, srvBase.Clone())
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			dialOnce(b, ln.Addr().String(), cliBase)
		}
	})
	b.Run("impl=hooks", func(b *testing.B) {
		m, _ := NewMetrics(prometheus.NewRegistry())
		obs := &Observer{Metrics: m}
		srv, err := ServerConfig(Options{Base: srvBase, Observer: obs})
		if err != nil {
			b.Fatal(err)
		}
		cli, err := ClientConfig(Options{Base: cliBase, Observer: obs})
		if err != nil {
			b.Fatal(err)
		}
		ln := bareServer(b, srv)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			dialOnce(b, ln.Addr().String(), cli)
		}
	})
}

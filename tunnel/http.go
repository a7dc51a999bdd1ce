package tunnel

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pqtls/pqtls/internal/httpserve"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// startHTTP serves /metrics, /healthz and /readyz through internal/httpserve:
// header, read, write and idle timeouts, 16 KiB headers, and a connection
// cap (min(256, RLIMIT_NOFILE/4)) so that a flood of idle connections on
// this unauthenticated port cannot take the descriptors the data plane needs.
// Connections over the cap are closed at accept and counted in
// pqtls_http_connections_rejected_total{server="tunnel"}.
func (t *Tunnel) startHTTP(addr string, reg prometheus.Registerer, g prometheus.Gatherer) error {
	rejected, err := httpserve.NewRejectedCounter(reg, "tunnel")
	if err != nil {
		return fmt.Errorf("register metrics-port counter: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics listener %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	if g != nil {
		mux.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-t.closing:
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
		default:
			fmt.Fprintln(w, "ok")
		}
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		problems := t.Ready()
		if len(problems) > 0 {
			http.Error(w, strings.Join(problems, "\n"), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	t.metricsLn = ln
	t.httpSrv = httpserve.Serve(ln, mux, httpserve.Options{Rejected: rejected, Logger: t.log})
	return nil
}

// Ready checks every listener: certificates loaded and not expired, and
// for server mode the local target reachable (the dials run in parallel,
// 1 s each). It returns one line per problem; none means ready.
//
// A client-mode listener's target is a remote server: it is not dialed.
// Each probe would otherwise be a half-open connection on the remote tunnel
// (a handshake error in its logs and metrics every probe period), and a
// remote outage would take every client pod out of its Service, which
// cannot help: the remote side's health is its own /readyz.
func (t *Tunnel) Ready() []string {
	select {
	case <-t.closing:
		return []string{"shutting down"}
	default:
	}
	problems := make([][]string, len(t.listeners))
	var wg sync.WaitGroup
	for i, l := range t.listeners {
		mat := l.material.Load()
		if mat == nil || mat.config == nil {
			problems[i] = append(problems[i], fmt.Sprintf("%s: no TLS material loaded", l.cfg.Name))
			continue
		}
		if !mat.notAfter.IsZero() && time.Now().After(mat.notAfter) {
			problems[i] = append(problems[i], fmt.Sprintf("%s: certificate %s expired %s", l.cfg.Name, l.cfg.Cert, mat.notAfter.Format(time.RFC3339)))
		}
		if l.src != nil { // Workload API: the current SVID, which rotates
			if svid, err := l.src.GetX509SVID(); err != nil {
				problems[i] = append(problems[i], fmt.Sprintf("%s: no X.509-SVID from the Workload API: %v", l.cfg.Name, err))
			} else if na := svid.Certificates[0].NotAfter; time.Now().After(na) {
				problems[i] = append(problems[i], fmt.Sprintf("%s: X.509-SVID %s expired %s (is the SPIRE agent rotating it?)", l.cfg.Name, svid.ID, na.Format(time.RFC3339)))
			}
		}
		if l.cfg.Mode == ModeClient {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			network, addr, _ := splitAddr(l.cfg.Target)
			c, err := net.DialTimeout(network, addr, time.Second)
			if err != nil {
				problems[i] = append(problems[i], fmt.Sprintf("%s: target %s unreachable: %v", l.cfg.Name, l.cfg.Target, err))
				return
			}
			_ = c.Close()
		}()
	}
	wg.Wait()
	return slices.Concat(problems...)
}

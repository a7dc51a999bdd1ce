package tunnel

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (t *Tunnel) startHTTP(addr string, g prometheus.Gatherer) error {
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
	t.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = t.httpSrv.Serve(ln) }()
	return nil
}

// Ready checks every listener: certificates loaded and not expired, target
// reachable. It returns one line per problem; none means ready.
func (t *Tunnel) Ready() []string {
	var problems []string
	select {
	case <-t.closing:
		return []string{"shutting down"}
	default:
	}
	for _, l := range t.listeners {
		mat := l.material.Load()
		if mat == nil || mat.config == nil {
			problems = append(problems, fmt.Sprintf("%s: no TLS material loaded", l.cfg.Name))
			continue
		}
		if !mat.notAfter.IsZero() && time.Now().After(mat.notAfter) {
			problems = append(problems, fmt.Sprintf("%s: certificate %s expired %s", l.cfg.Name, l.cfg.Cert, mat.notAfter.Format(time.RFC3339)))
		}
		network, addr, _ := splitAddr(l.cfg.Target)
		c, err := net.DialTimeout(network, addr, time.Second)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: target %s unreachable: %v", l.cfg.Name, l.cfg.Target, err))
			continue
		}
		_ = c.Close()
	}
	return problems
}

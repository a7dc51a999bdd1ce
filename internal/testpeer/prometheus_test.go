package testpeer

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestInteropPrometheus(t *testing.T) {
	out, ok := Promtool(t, "check", "rules", "testdata/rules.yml")
	if !ok || !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool check rules: %v %s", ok, out)
	}
	if out, ok := Promtool(t, "check", "rules", "testdata/bad-rules.yml"); ok {
		t.Errorf("promtool accepted a broken rule file: %s", out)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# TYPE pqtls_test_value gauge\npqtls_test_value{group=\"x25519_mlkem768\"} 7\n")
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })

	p := Prometheus(t, PrometheusOptions{Targets: []string{ln.Addr().String()}, RuleFiles: []string{"testdata/rules.yml"}})
	up := p.WaitForSeries(t, `up{job="test"} == 1`, 0)
	if len(up) != 1 || up[0].Value != 1 || up[0].Metric["instance"] != ln.Addr().String() {
		t.Errorf("up: %+v", up)
	}
	v := p.WaitForSeries(t, `job:pqtls_test_value:sum`, 0)
	if v[0].Value != 7 || v[0].Metric["job"] != "test" {
		t.Errorf("recording rule: %+v", v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.Query(ctx, "sum(rate(x[5m])"); err == nil || !strings.Contains(err.Error(), "bad_data") {
		t.Errorf("bad PromQL: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		alerts, err := p.Alerts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(alerts) == 1 && alerts[0].Labels["alertname"] == "TestValueHigh" && alerts[0].State == "firing" {
			if alerts[0].Annotations["summary"] != "test value is 7" {
				t.Errorf("annotation %q", alerts[0].Annotations["summary"])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alert not firing: %+v", alerts)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

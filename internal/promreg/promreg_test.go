package promreg

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func counter(help string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_total", Help: help}, []string{"l"})
}

// A second registration of an equal collector returns the first one, so
// both users count into the registered series.
func TestRegisterSharesEqualCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := Register(reg, counter("h"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Register(reg, counter("h"))
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("the second Register returned its own, unregistered collector")
	}
	b.WithLabelValues("v").Inc()
	if got := testutil.ToFloat64(a.WithLabelValues("v")); got != 1 {
		t.Fatalf("shared counter = %v, want 1", got)
	}
}

// A different metric under the same name, or the same metric as another Go
// type, is an error.
func TestRegisterRefusesConflicts(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := Register(reg, counter("h")); err != nil {
		t.Fatal(err)
	}
	if _, err := Register(reg, counter("other help")); err == nil {
		t.Error("a metric with the same name and another help was accepted")
	}
	var c prometheus.Collector = counter("h")
	if got, err := Register(reg, c); err != nil || got == nil {
		// Collector is an interface every collector satisfies: the
		// existing one is returned.
		t.Errorf("Register as Collector: %v %v", got, err)
	}
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "x_total", Help: "h"}, []string{"l"})
	if _, err := Register(reg, g); err == nil {
		t.Error("a gauge under a counter's name was accepted")
	}
}

func TestEach(t *testing.T) {
	reg := prometheus.NewRegistry()
	first := counter("h")
	if err := Each(reg, &first); err != nil {
		t.Fatal(err)
	}
	second, third := counter("h"), prometheus.NewCounterVec(prometheus.CounterOpts{Name: "y_total", Help: "h"}, []string{"l"})
	if err := Each(reg, &second, &third); err != nil {
		t.Fatal(err)
	}
	if second != first {
		t.Error("Each did not replace the duplicate with the registered collector")
	}
	bad := counter("other help")
	if err := Each(reg, &bad); err == nil {
		t.Error("Each accepted a conflicting collector")
	}
}

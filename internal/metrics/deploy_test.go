package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestDashboardChartsEverySeries checks that deploy/grafana-dashboard.json
// is valid JSON and that its queries use every series the Collector
// describes.
func TestDashboardChartsEverySeries(t *testing.T) {
	b, err := os.ReadFile("../../deploy/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("not valid JSON: %v", err)
	}
	var exprs strings.Builder
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs.WriteString(tg.Expr + "\n")
		}
	}
	ch := make(chan *prometheus.Desc, 64)
	NewCollector(func() Snapshot { return Snapshot{} }).Describe(ch)
	close(ch)
	name := regexp.MustCompile(`fqName: "([^"]+)"`)
	n := 0
	for d := range ch {
		m := name.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("no name in %s", d)
		}
		n++
		if !strings.Contains(exprs.String(), m[1]) {
			t.Errorf("the dashboard does not chart %s", m[1])
		}
	}
	if n < 9 {
		t.Fatalf("only %d series described", n)
	}
}

// TestPrometheusConfigAdvice checks that the example commands in
// deploy/prometheus.yml follow the README's advice: metrics on loopback or a
// private interface, never on every interface, and a password for a server
// that listens beyond loopback.
func TestPrometheusConfigAdvice(t *testing.T) {
	b, err := os.ReadFile("../../deploy/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, "data-cluster --") {
			continue
		}
		n++
		if m := regexp.MustCompile(`--metrics-addr (\S+)`).FindStringSubmatch(line); m == nil ||
			strings.HasPrefix(m[1], "0.0.0.0:") || strings.HasPrefix(m[1], ":") || strings.HasPrefix(m[1], "[::]:") {
			t.Errorf("%q: want --metrics-addr on loopback or a private address", strings.TrimSpace(line))
		}
		if !strings.Contains(line, "--addr 127.0.0.1:") && !strings.Contains(line, "DATA_CLUSTER_REQUIREPASS=") {
			t.Errorf("%q: a server listening beyond loopback needs DATA_CLUSTER_REQUIREPASS", strings.TrimSpace(line))
		}
	}
	if n == 0 {
		t.Fatal("no example command in deploy/prometheus.yml")
	}
}

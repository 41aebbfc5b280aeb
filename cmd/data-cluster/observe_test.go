package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/testutil"
)

func TestObsFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--metrics-addr", "nohostport"}, nil, `invalid value "nohostport" for --metrics-addr`},
		{[]string{"--slowlog-log-slower-than", "-2"}, nil, "invalid value -2 for --slowlog-log-slower-than"},
		{[]string{"--slowlog-log-slower-than", "soon"}, nil, `invalid value "soon" for flag -slowlog-log-slower-than`},
		{[]string{"--slowlog-max-len", "-1"}, nil, "invalid value -1 for --slowlog-max-len"},
		{[]string{"--slowlog-max-len", "2000000"}, nil, "invalid value 2000000 for --slowlog-max-len"},
		{[]string{"--log-level", "loud"}, nil, `invalid value "loud" for --log-level`},
		{[]string{"--latency-monitor-threshold", "-1"}, nil, "invalid value -1 for --latency-monitor-threshold"},
		{[]string{"--latency-tracking-info-percentiles", "50 101"}, nil, `invalid value "50 101" for --latency-tracking-info-percentiles`},
		{nil, map[string]string{"DATA_CLUSTER_LATENCY_TRACKING_INFO_PERCENTILES": "fifty"}, `invalid value "fifty" for DATA_CLUSTER_LATENCY_TRACKING_INFO_PERCENTILES`},
		{[]string{"--log-format", "xml"}, nil, `invalid value "xml" for --log-format`},
		{nil, map[string]string{"DATA_CLUSTER_LOG_FORMAT": "yaml"}, `invalid value "yaml" for DATA_CLUSTER_LOG_FORMAT`},
		{nil, map[string]string{"DATA_CLUSTER_SLOWLOG_MAX_LEN": "lots"}, `invalid value "lots" for DATA_CLUSTER_SLOWLOG_MAX_LEN`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var stdout, stderr testutil.SyncBuffer
			if code := run(context.Background(), tt.args, &stdout, &stderr); code != exitUsage {
				t.Fatalf("exit status: got %d, want %d (stderr %q)", code, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("stderr %q does not say %q", stderr.String(), tt.want)
			}
		})
	}
}

func TestHelpListsObsFlags(t *testing.T) {
	var stdout, stderr testutil.SyncBuffer
	run(context.Background(), []string{"--help"}, &stdout, &stderr)
	for _, f := range []string{"-metrics-addr", "-slowlog-log-slower-than", "(default 10000)", "-slowlog-max-len",
		"(default 128)", "-log-level", `(default "info")`, "-log-format", `(default "text")`} {
		if !strings.Contains(stderr.String(), f) {
			t.Errorf("help does not mention %q:\n%s", f, stderr.String())
		}
	}
}

func TestMetricsAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stdout, stderr testutil.SyncBuffer
	code := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--metrics-addr", ln.Addr().String()}, &stdout, &stderr)
	if code != exitError {
		t.Fatalf("exit status: got %d, want %d", code, exitError)
	}
	if want := "cannot listen on " + ln.Addr().String() + " for metrics"; !strings.Contains(stderr.String(), want) {
		t.Fatalf("stderr %q does not say %q", stderr.String(), want)
	}
}

// logLines parses JSON log lines.
func logLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// TestRunMetricsAndJSONLogs runs the server with a metrics address and JSON
// logs, finds the metrics address in the log, scrapes it, and stops.
func TestRunMetricsAndJSONLogs(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr testutil.SyncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0",
			"--log-format", "json", "--log-level", "debug"}, &stdout, &stderr)
	}()
	var metricsAddr string
	for i := 0; metricsAddr == "" || !strings.HasSuffix(stdout.String(), "\n"); i++ {
		if i == 1000 {
			t.Fatalf("not started; stderr %q", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
		for _, l := range logLines(t, stderr.String()) {
			if l["msg"] == "metrics listening" {
				metricsAddr, _ = l["addr"].(string)
			}
		}
	}
	for _, tt := range []struct{ path, want string }{
		{"/metrics", "datacluster_connected_clients 0"},
		{"/metrics", "go_goroutines"},
		{"/healthz", "ok"},
		{"/debug/pprof/", "goroutine"},
	} {
		res, err := http.Get("http://" + metricsAddr + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), tt.want) {
			t.Errorf("%s: status %d, body lacks %q", tt.path, res.StatusCode, tt.want)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit status %d, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
	var msgs []string
	for _, l := range logLines(t, stderr.String()) {
		if l["level"] == nil || l["time"] == nil {
			t.Errorf("log line without level or time: %v", l)
		}
		msgs = append(msgs, l["msg"].(string))
	}
	if got := strings.Join(msgs, "|"); !strings.Contains(got, "server started") || !strings.HasSuffix(got, "server stopped") {
		t.Fatalf("log messages: %s", got)
	}
	if _, err := net.DialTimeout("tcp", metricsAddr, time.Second); err == nil {
		t.Fatal("the metrics address still accepts after the server stopped")
	}
}

// TestLogLevel checks that --log-level warn leaves out the info lines.
func TestLogLevel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr testutil.SyncBuffer
	done := make(chan int)
	go func() { done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--log-level", "WARN"}, &stdout, &stderr) }()
	for i := 0; !strings.HasSuffix(stdout.String(), "\n"); i++ {
		if i == 1000 {
			t.Fatalf("not started; stderr %q", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit status %d", code)
	}
	if s := stderr.String(); s != "" {
		t.Fatalf("stderr at level warn: got %q, want nothing", s)
	}
}

package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/testutil"
)

// startServer runs the server in process on 127.0.0.1:0 and returns its
// address; the test's cleanup stops it.
func startServer(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr testutil.SyncBuffer
	done := make(chan int)
	go func() { done <- run(ctx, []string{"--addr", "127.0.0.1:0"}, &stdout, &stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
	})
	for range 1000 {
		if banner := stdout.String(); strings.HasSuffix(banner, "\n") {
			return strings.Fields(banner)[3]
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no banner; stderr %q", stderr.String())
	return ""
}

// benchReport is the part of `bench --json` the test reads.
type benchReport struct {
	Protocol          string           `json:"protocol"`
	Clients           int              `json:"clients"`
	Pipeline          int              `json:"pipeline"`
	Requests          int64            `json:"requests"`
	Reads             int64            `json:"reads"`
	Writes            int64            `json:"writes"`
	DurationSeconds   float64          `json:"duration_seconds"`
	RequestsPerSecond float64          `json:"requests_per_second"`
	Errors            int64            `json:"errors"`
	ErrorKinds        map[string]int64 `json:"error_kinds"`
	Keyspace          int64            `json:"keyspace"`
	ValueSize         int              `json:"value_size"`
	ReadPercent       int              `json:"read_percent"`
	Latency           struct {
		P50, P90, P99, P999, Max int64
	} `json:"latency_us"`
}

// TestBench runs `data-cluster bench --json` against the server over both
// protocols.
func TestBench(t *testing.T) {
	addr := startServer(t)
	for _, proto := range []string{"resp", "line"} {
		t.Run(proto, func(t *testing.T) {
			var stdout, stderr testutil.SyncBuffer
			code := run(context.Background(), []string{"bench", "--addr", addr, "--protocol", proto,
				"--requests", "2000", "--clients", "4", "--pipeline", "8", "--keyspace", "500", "--json"}, &stdout, &stderr)
			if code != exitOK {
				t.Fatalf("exit status %d; stderr %q", code, stderr.String())
			}
			if stderr.String() != "" {
				t.Errorf("stderr: got %q, want nothing (not a terminal)", stderr.String())
			}
			var r benchReport
			if err := json.Unmarshal([]byte(stdout.String()), &r); err != nil {
				t.Fatalf("%v in %q", err, stdout.String())
			}
			if r.Protocol != proto || r.Clients != 4 || r.Pipeline != 8 || r.Keyspace != 500 || r.ValueSize != 16 || r.ReadPercent != 50 {
				t.Errorf("settings: got %+v", r)
			}
			if r.Requests != 2000 || r.Reads+r.Writes != 2000 || r.Errors != 0 || len(r.ErrorKinds) != 0 {
				t.Errorf("got %d requests (%d GET, %d SET), %d errors %v; want 2000, no errors",
					r.Requests, r.Reads, r.Writes, r.Errors, r.ErrorKinds)
			}
			if r.RequestsPerSecond <= 0 || r.DurationSeconds <= 0 {
				t.Errorf("got %v requests/s in %vs", r.RequestsPerSecond, r.DurationSeconds)
			}
			l := r.Latency
			if !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
				t.Errorf("latencies out of order: %+v", l)
			}
		})
	}
}

// TestBenchText checks the report for people.
func TestBenchText(t *testing.T) {
	addr := startServer(t)
	var stdout, stderr testutil.SyncBuffer
	code := run(context.Background(), []string{"bench", "--addr", addr, "--requests", "100", "--clients", "2",
		"--sequential", "--read-percent", "0", "--value-size", "3", "--seed", "5"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit status %d; stderr %q", code, stderr.String())
	}
	for _, want := range []string{"resp " + addr + ", 100 requests", "2 clients, pipeline 1, 0% GET, 3-byte values",
		"(sequential), seed 5", "100 in ", "(0 GET, 100 SET, 0 GET misses)", "requests/s", "p50 "} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("report does not say %q:\n%s", want, stdout.String())
		}
	}
}

func TestBenchFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--clients", "0"}, exitUsage, "invalid value 0 for --clients"},
		{[]string{"--pipeline", "-1"}, exitUsage, "--pipeline"},
		{[]string{"--requests", "0"}, exitUsage, "--requests"},
		{[]string{"--requests", "0", "--duration", "1s", "--addr", "x"}, exitUsage, "--addr"},
		{[]string{"--duration", "soon"}, exitUsage, `invalid value "soon" for flag -duration`},
		{[]string{"--duration", "-1s"}, exitUsage, "--duration"},
		{[]string{"--keyspace", "0"}, exitUsage, "--keyspace"},
		{[]string{"--value-size", "0"}, exitUsage, "--value-size"},
		{[]string{"--protocol", "line", "--value-size", "70000"}, exitUsage, "the line protocol takes values up to"},
		{[]string{"--read-percent", "101"}, exitUsage, "--read-percent"},
		{[]string{"--protocol", "http"}, exitUsage, `invalid value "http" for --protocol`},
		{[]string{"--seed", "-1"}, exitUsage, "-seed"},
		{[]string{"--nosuchflag"}, exitUsage, "flag provided but not defined"},
		{[]string{"extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"--addr", "127.0.0.1:1"}, exitError, "cannot connect to 127.0.0.1:1"},
		{[]string{"--help"}, exitOK, "Usage: data-cluster bench"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Setenv("DATA_CLUSTER_ADDR", "256.0.0.1:1") // the server's variables do not apply
			var stdout, stderr testutil.SyncBuffer
			code := run(context.Background(), append([]string{"bench"}, tt.args...), &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit status: got %d, want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("stderr %q does not say %q", stderr.String(), tt.want)
			}
			if stdout.String() != "" {
				t.Fatalf("stdout: got %q, want nothing", stdout.String())
			}
		})
	}
}

func TestBenchHelpListsEveryFlag(t *testing.T) {
	var stdout, stderr testutil.SyncBuffer
	run(context.Background(), []string{"bench", "--help"}, &stdout, &stderr)
	for _, f := range []string{"-addr", "127.0.0.1:8080", "-protocol", `(default "resp")`, "-clients", "(default 50)",
		"-pipeline", "(default 1)", "-requests", "(default 100000)", "-duration", "-keyspace", "(default 1000000)",
		"-value-size", "(default 16)", "-read-percent", "(default 50)", "-sequential", "-seed", "-json",
		"environment variables do not apply"} {
		if !strings.Contains(stderr.String(), f) {
			t.Errorf("help does not mention %q:\n%s", f, stderr.String())
		}
	}
	var serverHelp testutil.SyncBuffer
	run(context.Background(), []string{"--help"}, &stdout, &serverHelp)
	if !strings.Contains(serverHelp.String(), "data-cluster bench [flags]") {
		t.Errorf("the server's help does not mention bench:\n%s", serverHelp.String())
	}
}

package metrics

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

func TestHandler(t *testing.T) {
	snap := Snapshot{
		Bounds: []float64{0.001, 0.01},
		Commands: []Command{
			{Name: "get", Calls: 5, Failed: 1, Rejected: 2, Seconds: 0.5, Buckets: []uint64{3, 1, 1}},
		},
		BusyRouter: 7, BusyShard: 8,
		Shards:              []Shard{{Keys: 10, Expires: 2, Queue: 1, Busy: 8}, {Keys: 20}},
		ConnectedClients:    3,
		ConnectionsReceived: 9, RejectedConnections: 1,
		ExpiredKeys: 4, EvictedKeys: 0, KeyspaceHits: 11, KeyspaceMisses: 12,
	}
	var down atomic.Bool
	h := Handler(NewCollector(func() Snapshot { return snap }), func() error {
		if down.Load() {
			return errors.New("shutting down")
		}
		return nil
	})
	srv := httptest.NewServer(h)
	defer srv.Close()

	code, body := get(t, srv.URL+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: status %d", code)
	}
	for _, want := range []string{
		`datacluster_commands_total{command="get"} 5`,
		`datacluster_commands_failed_total{command="get"} 1`,
		`datacluster_commands_rejected_total{command="get"} 2`,
		`datacluster_command_duration_seconds_bucket{command="get",le="0.001"} 3`,
		`datacluster_command_duration_seconds_bucket{command="get",le="0.01"} 4`,
		`datacluster_command_duration_seconds_bucket{command="get",le="+Inf"} 5`,
		`datacluster_command_duration_seconds_sum{command="get"} 0.5`,
		`datacluster_command_duration_seconds_count{command="get"} 5`,
		`datacluster_busy_total{stage="router"} 7`,
		`datacluster_busy_total{stage="shard"} 8`,
		`datacluster_shard_busy_total{shard="0"} 8`,
		`datacluster_keys{shard="0"} 10`,
		`datacluster_keys{shard="1"} 20`,
		`datacluster_expires{shard="0"} 2`,
		`datacluster_shard_queue_depth{shard="0"} 1`,
		`datacluster_connected_clients 3`,
		`datacluster_connections_received_total 9`,
		`datacluster_rejected_connections_total 1`,
		`datacluster_expired_keys_total 4`,
		`datacluster_evicted_keys_total 0`,
		`datacluster_keyspace_hits_total 11`,
		`datacluster_keyspace_misses_total 12`,
		"# TYPE datacluster_command_duration_seconds histogram",
		"# TYPE datacluster_keys gauge",
		"# TYPE datacluster_commands_total counter",
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	tests := []struct {
		path string
		down bool
		code int
		want string
	}{
		{"/healthz", false, http.StatusOK, "ok\n"},
		{"/healthz", true, http.StatusServiceUnavailable, "shutting down\n"},
		{"/debug/pprof/", false, http.StatusOK, "goroutine"},
		{"/debug/pprof/cmdline", false, http.StatusOK, ""},
		{"/debug/pprof/goroutine?debug=1", false, http.StatusOK, "goroutine profile"},
	}
	for _, tt := range tests {
		down.Store(tt.down)
		code, body := get(t, srv.URL+tt.path)
		if code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s: got %d %q, want %d and %q", tt.path, code, body, tt.code, tt.want)
		}
	}
}

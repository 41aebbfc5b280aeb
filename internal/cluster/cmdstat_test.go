package cluster

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestServerCommandStats checks SLOWLOG, LATENCY, INFO commandstats,
// errorstats and latencystats and their CONFIG parameters on a cluster
// node: the node's replicas time the commands they run, a read served here
// names this node's client, the node counts what it answers itself and the
// errors it answers, the bounds are the node's own, and CONFIG RESETSTAT
// restarts the counts.
func TestServerCommandStats(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	cfg := defaultSettings().ServerConfig
	cfg.SlowlogSlowerThan = 0
	a := serveNode(t, tn, 0, cfg)
	b := serveNode(t, tn, 1, defaultSettings().ServerConfig)
	ctx := context.Background()
	ra := redis.NewClient(&redis.Options{Addr: a, Protocol: 2, PoolSize: 1, ClientName: "timed"})
	defer ra.Close()
	rb := redis.NewClient(&redis.Options{Addr: b, Protocol: 2})
	defer rb.Close()

	// Every node has a replica of every group: node a applies the write
	// whichever node leads its group. READONLY reads are served here.
	if err := ra.Set(ctx, "sl:k", "v1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := ra.Do(ctx, "READONLY").Err(); err != nil {
		t.Fatal(err)
	}
	var local string
	eventually(t, "node a to read its write", func() bool {
		return ra.Get(ctx, "sl:k").Val() == "v1"
	})
	info, err := ra.Do(ctx, "CLIENT", "INFO").Text()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(info) {
		if v, ok := strings.CutPrefix(f, "addr="); ok {
			local = v
		}
	}
	if local == "" {
		t.Fatalf("no addr in CLIENT INFO: %q", info)
	}

	// A function, run here by a READONLY connection, shows as the client
	// sent it, not as the command its node made of it.
	lib := "#!lua name=sl\nredis.register_function{function_name='ro', callback=function(keys, args) return 7 end, flags={'no-writes'}}"
	if err := ra.Do(ctx, "FUNCTION", "LOAD", lib).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := ra.Do(ctx, "FCALL_RO", "ro", 1, "sl:k").Int(); err != nil || v != 7 {
		t.Fatalf("FCALL_RO: %v %v", v, err)
	}

	entries := slowEntries(t, ra)
	var set, get, fcall bool
	for _, e := range entries {
		switch strings.ToUpper(strings.Join(e.Args, " ")) {
		case "SET SL:K V1":
			set = true
		case "FCALL_RO RO 1 SL:K":
			fcall = true
			if e.ClientAddr != local || e.ClientName != "timed" {
				t.Errorf("FCALL_RO's entry names client %q %q, want %q %q", e.ClientAddr, e.ClientName, local, "timed")
			}
		case "GET SL:K":
			get = true
			if e.ClientAddr != local || e.ClientName != "timed" {
				t.Errorf("GET's entry names client %q %q, want %q %q", e.ClientAddr, e.ClientName, local, "timed")
			}
		}
	}
	if !set || !get || !fcall {
		t.Fatalf("slow log with threshold 0 lacks the SET (%v), the GET (%v) or the FCALL_RO (%v): %+v", set, get, fcall, entries)
	}
	if n := rb.SlowLogGet(ctx, -1).Val(); len(n) != 0 {
		t.Errorf("node b, threshold 10000 µs: %d entries, want 0", len(n))
	}

	// The node counts what it answers itself, refusals and errors too.
	ra.Ping(ctx)
	if err := ra.MSet(ctx, "sl:a", "1", "sl:b", "2").Err(); err == nil || !strings.HasPrefix(err.Error(), "CROSSSLOT") {
		t.Fatalf("MSET across slots: %v", err)
	}
	if err := ra.Do(ctx, "NOSUCH").Err(); err == nil {
		t.Fatal("an unknown command answered")
	}
	if err := ra.Do(ctx, "DBSIZE", "x").Err(); err == nil {
		t.Fatal("DBSIZE x answered")
	}
	stats := ra.Info(ctx, "commandstats", "errorstats", "stats").Val()
	for _, want := range []string{"cmdstat_set:calls=", "cmdstat_get:calls=", "cmdstat_fcall_ro:calls=1,", "cmdstat_ping:calls=1,",
		"cmdstat_mset:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0", "errorstat_CROSSSLOT:count=1", "errorstat_ERR:count=2",
		"total_error_replies:3"} {
		if !strings.Contains(stats, want) {
			t.Errorf("INFO commandstats errorstats stats lacks %q:\n%s", want, stats)
		}
	}
	if def := ra.Info(ctx).Val(); strings.Contains(def, "cmdstat_") {
		t.Errorf("INFO without sections shows commandstats, as Redis does not:\n%s", def)
	}
	if err := ra.Do(ctx, "CONFIG", "RESETSTAT").Err(); err != nil {
		t.Fatal(err)
	}
	if s := ra.Info(ctx, "commandstats", "errorstats", "stats").Val(); strings.Contains(s, "cmdstat_set") || strings.Contains(s, "errorstat_") || !strings.Contains(s, "total_error_replies:0") {
		t.Errorf("INFO commandstats errorstats stats after CONFIG RESETSTAT:\n%s", s)
	}

	// The bounds: slowlog-max-len keeps the newest, -1 logs nothing.
	if v := ra.ConfigGet(ctx, "slowlog-*").Val(); v["slowlog-log-slower-than"] != "0" || v["slowlog-max-len"] != "128" {
		t.Errorf("CONFIG GET slowlog-*: %v", v)
	}
	if err := ra.ConfigSet(ctx, "slowlog-max-len", "2").Err(); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if err := ra.Get(ctx, fmt.Sprintf("sl:%d", i)).Err(); err != redis.Nil {
			t.Fatalf("GET sl:%d: %v", i, err)
		}
	}
	if got := slowEntries(t, ra); len(got) != 2 || !strings.EqualFold(strings.Join(got[0].Args, " "), "GET sl:3") {
		t.Errorf("slowlog-max-len 2: got %+v, want the last two GETs", got)
	}
	if err := ra.Do(ctx, "SLOWLOG", "RESET").Err(); err != nil {
		t.Fatal(err)
	}
	if err := ra.ConfigSet(ctx, "slowlog-log-slower-than", "-1").Err(); err != nil {
		t.Fatal(err)
	}
	ra.Get(ctx, "sl:k")
	// As in Redis: the RESET is logged (threshold 0), the CONFIG SET that
	// turned the log off and what came after are not.
	if got := slowEntries(t, ra); len(got) != 1 || !strings.EqualFold(strings.Join(got[0].Args, " "), "SLOWLOG RESET") {
		t.Errorf("slow log after RESET, then threshold -1: %+v, want SLOWLOG RESET alone", got)
	}

	// LATENCY and INFO latencystats: a script that runs for milliseconds,
	// read-only on a READONLY connection so that node a runs it, is a
	// "command" event once the threshold is 1 ms.
	if err := ra.ConfigSet(ctx, "latency-monitor-threshold", "1").Err(); err != nil {
		t.Fatal(err)
	}
	if err := ra.Do(ctx, "EVAL_RO", "local n = 0 for i = 1, 300000 do n = n + 1 end return n", 1, "sl:k").Err(); err != nil {
		t.Fatal(err)
	}
	latest, err := ra.Do(ctx, "LATENCY", "LATEST").Slice()
	if err != nil || len(latest) != 1 || latest[0].([]any)[0] != "command" {
		t.Errorf("LATENCY LATEST after a long script: %v %v", latest, err)
	}
	if ls := ra.Info(ctx, "latencystats").Val(); !strings.Contains(ls, "latency_percentiles_usec_eval_ro:p50=") || !strings.Contains(ls, "latency_percentiles_usec_get:p50=") {
		t.Errorf("INFO latencystats:\n%s", ls)
	}
	if h, err := ra.Do(ctx, "LATENCY", "HISTOGRAM", "get").Slice(); err != nil || len(h) != 2 || h[0] != "get" {
		t.Errorf("LATENCY HISTOGRAM get: %v %v", h, err)
	}
	if err := ra.ConfigSet(ctx, "latency-tracking", "no").Err(); err != nil {
		t.Fatal(err)
	}
	if ls := ra.Info(ctx, "latencystats").Val(); strings.Contains(ls, "latency_percentiles") {
		t.Errorf("INFO latencystats with latency-tracking no:\n%s", ls)
	}
	if v := rb.ConfigGet(ctx, "latency-*").Val(); v["latency-monitor-threshold"] != "0" || v["latency-tracking"] != "yes" || v["latency-tracking-info-percentiles"] != "50 99 99.9" {
		t.Errorf("node b, CONFIG GET latency-*: %v", v)
	}
	if latest := rb.Do(ctx, "LATENCY", "LATEST").Val(); len(latest.([]any)) != 0 {
		t.Errorf("node b, threshold 0: LATENCY LATEST %v", latest)
	}

	errs := []struct {
		args []any
		want string
	}{
		{[]any{"SLOWLOG", "GET", "-2"}, "ERR count should be greater than or equal to -1"},
		{[]any{"SLOWLOG", "LEN", "x"}, "ERR wrong number of arguments for 'slowlog|len' command"},
		{[]any{"CONFIG", "SET", "slowlog-log-slower-than", "-2"}, "ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument must be between -1 and 9223372036854775807 inclusive"},
	}
	for _, e := range errs {
		if err := ra.Do(ctx, e.args...).Err(); err == nil || err.Error() != e.want {
			t.Errorf("%v: got %v, want %q", e.args, err, e.want)
		}
	}
}

// slowEntries returns every entry of the node's slow log, newest first.
func slowEntries(t *testing.T, c *redis.Client) []redis.SlowLog {
	t.Helper()
	got, err := c.SlowLogGet(context.Background(), -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// WAIT is counted where a node's client sends it, without the time it
// blocks, as on a single server and in Redis.
func TestServerWaitCounted(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	rc := redis.NewClient(&redis.Options{Addr: serveNode(t, tn, 0, defaultSettings().ServerConfig), Protocol: 2, PoolSize: 1})
	defer rc.Close()
	ctx := context.Background()
	if err := rc.Set(ctx, "w:k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// More copies than the group has: WAIT answers at its timeout.
	if n, err := rc.Do(ctx, "WAIT", 5, 300).Int(); err != nil || n != 2 {
		t.Fatalf("WAIT 5 300: %d, %v; want the 2 other replicas", n, err)
	}
	info, err := rc.Info(ctx, "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`cmdstat_wait:calls=(\d+),usec=(\d+),`).FindStringSubmatch(info)
	if m == nil || m[1] != "1" {
		t.Fatalf("WAIT not counted once: %q", info)
	}
	// A wait counted in would be 300,000 µs or more.
	if usec, _ := strconv.Atoi(m[2]); usec >= 300_000 {
		t.Fatalf("WAIT counted with its wait: %s µs", m[2])
	}
}

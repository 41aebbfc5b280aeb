package server

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/testutil"
)

// memoryStatsKeys are MEMORY STATS's fields in redis-server 7.0.15's order;
// db.0 holds memoryStatsDBKeys.
var (
	memoryStatsKeys = []string{"peak.allocated", "total.allocated", "startup.allocated", "replication.backlog",
		"clients.slaves", "clients.normal", "cluster.links", "aof.buffer", "lua.caches", "functions.caches", "db.0",
		"overhead.total", "keys.count", "keys.bytes-per-key", "dataset.bytes", "dataset.percentage", "peak.percentage",
		"allocator.allocated", "allocator.active", "allocator.resident", "allocator-fragmentation.ratio",
		"allocator-fragmentation.bytes", "allocator-rss.ratio", "allocator-rss.bytes", "rss-overhead.ratio",
		"rss-overhead.bytes", "fragmentation", "fragmentation.bytes"}
	memoryStatsDBKeys = []string{"overhead.hashtable.main", "overhead.hashtable.expires", "overhead.hashtable.slot-to-keys"}
	// memoryStatsFloats are the fields Redis writes as doubles.
	memoryStatsFloats = map[string]bool{"dataset.percentage": true, "peak.percentage": true,
		"allocator-fragmentation.ratio": true, "allocator-rss.ratio": true, "rss-overhead.ratio": true, "fragmentation": true}
)

// memoryRedisCases are replies recorded from redis-server 7.0.15.
var memoryRedisCases = []struct {
	args []string
	want string
}{
	{[]string{"MEMORY", "HELP"}, "*14\r\n+MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+DOCTOR\r\n+    Return memory problems reports.\r\n+MALLOC-STATS\r\n+    Return internal statistics report from the memory allocator.\r\n+PURGE\r\n+    Attempt to purge dirty pages for reclamation by the allocator.\r\n+STATS\r\n+    Return information about the memory usage of the server.\r\n+USAGE <key> [SAMPLES <count>]\r\n+    Return memory in bytes used by <key> and its value. Nested values are\r\n+    sampled up to <count> times (default: 5, 0 means sample all).\r\n+HELP\r\n+    Prints this help.\r\n"},
	{[]string{"MEMORY", "DOCTOR"}, "$268\r\nHi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n\r\n"},
	{[]string{"MEMORY", "PURGE"}, "+OK\r\n"},
	{[]string{"MEMORY", "STATS", "x"}, "-ERR wrong number of arguments for 'memory|stats' command\r\n"},
	{[]string{"MEMORY", "DOCTOR", "x"}, "-ERR wrong number of arguments for 'memory|doctor' command\r\n"},
	{[]string{"MEMORY", "PURGE", "x"}, "-ERR wrong number of arguments for 'memory|purge' command\r\n"},
	{[]string{"MEMORY", "MALLOC-STATS", "x"}, "-ERR wrong number of arguments for 'memory|malloc-stats' command\r\n"},
	{[]string{"MULTI"}, "+OK\r\n"},
	{[]string{"MEMORY", "STATS"}, "-ERR Command not allowed inside a transaction\r\n"}, // Redis queues it
	{[]string{"DISCARD"}, "+OK\r\n"},
}

func TestMemoryRedisReplies(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	for i, tc := range memoryRedisCases {
		if got := c.raw(tc.args...); got != tc.want {
			t.Errorf("%d %q: got %q, want %q", i, tc.args, got, tc.want)
		}
	}
}

func TestMemoryStats(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	for i := range 100 {
		c.raw("SET", "k"+strconv.Itoa(i), strings.Repeat("v", 100))
	}
	// The shards publish what their keys use at their expiry cycles, which
	// may have run in the middle of the SETs. A key on each shard that
	// expires at once, removed by that shard's next cycle, tells when
	// every shard has published with all of its keys: a cycle publishes
	// after it expires.
	r := ts.Router().Ring()
	for shard := range r.Shards() {
		for i := 0; ; i++ {
			if k := "gone" + strconv.Itoa(i); r.LookupString(k) == shard {
				c.raw("SET", k, "x", "PX", "1")
				break
			}
		}
	}
	testutil.Await(t, 10*time.Second, func() bool {
		return infoFields(c.call("INFO", "stats").(string))["expired_keys"] == strconv.Itoa(r.Shards())
	}, func() string { return "the keys set to expire at once on each shard were not expired" })
	st := c.call("MEMORY", "STATS").([]any)
	if len(st) != 2*len(memoryStatsKeys) {
		t.Fatalf("got %d elements, want %d", len(st), 2*len(memoryStatsKeys))
	}
	vals := map[string]string{}
	for i, k := range memoryStatsKeys {
		if st[2*i] != k {
			t.Fatalf("field %d: got %v, want %s", i, st[2*i], k)
		}
		if k == "db.0" {
			db := st[2*i+1].([]any)
			for j, dk := range memoryStatsDBKeys {
				if db[2*j] != dk {
					t.Fatalf("db.0 field %d: got %v, want %s", j, db[2*j], dk)
				}
			}
			continue
		}
		v := st[2*i+1].(string)
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			t.Fatalf("%s: %q is not a number", k, v)
		}
		if !memoryStatsFloats[k] && strings.ContainsAny(v, ".e") {
			t.Fatalf("%s: %q is not an integer", k, v)
		}
		vals[k] = v
	}
	used := infoFields(c.call("INFO", "memory").(string))["used_memory"]
	if vals["keys.count"] != "100" || vals["total.allocated"] != used {
		t.Errorf("keys.count %s, total.allocated %s; want 100 and used_memory %s", vals["keys.count"], vals["total.allocated"], used)
	}
	total, _ := strconv.ParseInt(vals["total.allocated"], 10, 64)
	perKey, _ := strconv.ParseInt(vals["keys.bytes-per-key"], 10, 64)
	if perKey != total/100 || perKey < 100 {
		t.Errorf("keys.bytes-per-key: got %d, want %d/100 and at least the value's 100 bytes", perKey, total)
	}
	// RESP3: a map, with doubles.
	c.raw("HELLO", "3")
	raw := c.raw("MEMORY", "STATS")
	if !strings.HasPrefix(raw, "%28\r\n") || !strings.Contains(raw, "$18\r\ndataset.percentage\r\n,") {
		t.Errorf("RESP3 MEMORY STATS: %q", raw[:min(len(raw), 200)])
	}
	if got := c.raw("MEMORY", "MALLOC-STATS"); !strings.HasPrefix(got, "=") || !strings.Contains(got, "heap.alloc: ") {
		t.Errorf("MALLOC-STATS: %q", got)
	}
}

// TestMemoryUsageEveryType checks that MEMORY USAGE answers a size for a
// key of every type, and nil for a missing one.
func TestMemoryUsageEveryType(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	for _, cmd := range [][]string{
		{"SET", "string", "v"}, {"HSET", "hash", "f", "v"}, {"SADD", "set", "m"}, {"ZADD", "zset", "1", "m"},
		{"RPUSH", "list", "e"}, {"XADD", "stream", "*", "f", "v"}, {"PFADD", "hll", "a", "b"},
		{"GEOADD", "geo", "13.36", "38.11", "palermo"}, {"SETBIT", "bits", "100", "1"},
	} {
		c.call(cmd...)
		n, err := strconv.Atoi(c.call("MEMORY", "USAGE", cmd[1]).(string))
		if err != nil || n <= len(cmd[1]) {
			t.Errorf("MEMORY USAGE %s: got %d (%v)", cmd[1], n, err)
		}
	}
	if got := c.raw("MEMORY", "USAGE", "missing"); got != "$-1\r\n" {
		t.Errorf("missing key: got %q", got)
	}
}

package server

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/data-cluster/data-cluster/internal/keyspace"
)

const (
	evictMax  = 512 << 10 // maxmemory of the eviction tests, over 2 shards
	evictSize = 500       // bytes per value
)

func startEvicting(t *testing.T, p keyspace.Policy) (*testServer, *redis.Client) {
	ts := start(t, func(c *Config) {
		c.Router.Shards = 2
		c.MaxMemory = evictMax
		c.MaxMemoryPolicy = p
	})
	return ts, newClient(t, ts, nil)
}

// infoField returns one field of INFO.
func infoField(t *testing.T, rc *redis.Client, section, name string) int64 {
	t.Helper()
	info, err := rc.Info(context.Background(), section).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("INFO %s: %q", name, v)
			}
			return n
		}
	}
	t.Fatalf("INFO %s has no %s", section, name)
	return 0
}

// waitInfo polls INFO, which the shards refresh every expiry cycle, until
// ok accepts the field's value.
func waitInfo(t *testing.T, rc *redis.Client, section, name string, ok func(int64) bool) int64 {
	t.Helper()
	var v int64
	for range 200 {
		if v = infoField(t, rc, section, name); ok(v) {
			return v
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("INFO %s stayed at %d", name, v)
	return v
}

// fill writes n keys named prefix0…, ttl 0 for none, in pipelines of 100,
// calling between after each pipeline. It returns the errors of the writes.
func fill(t *testing.T, rc *redis.Client, prefix string, n int, ttl time.Duration, between func()) []error {
	t.Helper()
	ctx := context.Background()
	v := strings.Repeat("v", evictSize)
	var errs []error
	for i := 0; i < n; i += 100 {
		p := rc.Pipeline()
		for j := i; j < min(i+100, n); j++ {
			p.Set(ctx, prefix+strconv.Itoa(j), v, ttl)
		}
		cmds, _ := p.Exec(ctx)
		for _, c := range cmds {
			if err := c.Err(); err != nil {
				errs = append(errs, err)
			}
		}
		if between != nil {
			between()
		}
	}
	return errs
}

func TestMaxmemoryNoEviction(t *testing.T) {
	ts, rc := startEvicting(t, keyspace.NoEviction)
	ctx := context.Background()
	errs := fill(t, rc, "k", 3000, 0, nil)
	if len(errs) == 0 {
		t.Fatal("no write was refused over maxmemory")
	}
	const oom = "OOM command not allowed when used memory > 'maxmemory'."
	if errs[0].Error() != oom {
		t.Fatalf("error: got %q, want %q", errs[0], oom)
	}
	// Reads and deletes still work; the line protocol gets the same error.
	if err := rc.Get(ctx, "k0").Err(); err != nil {
		t.Fatalf("GET over maxmemory: %v", err)
	}
	c := ts.dial(t)
	if got := c.do("SET linekey v"); got != oom {
		t.Fatalf("line SET over maxmemory: got %q", got)
	}
	// A transaction that writes is refused as a whole.
	r := ts.dial(t)
	r.send(respCmd("MULTI") + respCmd("DEL", "k1") + respCmd("SET", "k1", "x") + respCmd("EXEC"))
	r.expect("+OK\r\n+QUEUED\r\n+QUEUED\r\n-EXECABORT Transaction discarded because of: " + oom + "\r\n")
	if n, _ := rc.Exists(ctx, "k1").Result(); n != 1 {
		t.Fatal("the refused transaction ran in part")
	}
	if got := infoField(t, rc, "stats", "evicted_keys"); got != 0 {
		t.Fatalf("evicted_keys: got %d, want 0", got)
	}
	keys, _ := rc.Keys(ctx, "k*").Result()
	if _, err := rc.Del(ctx, keys...).Result(); err != nil {
		t.Fatalf("DEL over maxmemory: %v", err)
	}
	if err := rc.Set(ctx, "again", "v", 0).Err(); err != nil {
		t.Fatalf("SET after deleting: %v", err)
	}
	if got := c.do("SET linekey v"); got != "OK" {
		t.Fatalf("line SET after deleting: got %q", got)
	}
	served(t, ts, "")
}

func TestMaxmemoryEviction(t *testing.T) {
	for p := keyspace.AllKeysLRU; p <= keyspace.VolatileTTL; p++ {
		t.Run(p.String(), func(t *testing.T) {
			ts, rc := startEvicting(t, p)
			ctx := context.Background()
			const keep = 50 // keys without expiry, which volatile policies keep
			if errs := fill(t, rc, "keep", keep, 0, nil); len(errs) > 0 {
				t.Fatal(errs[0])
			}
			var hot []string
			for i := range 20 {
				hot = append(hot, "hot"+strconv.Itoa(i))
			}
			touch := func() {
				for _, k := range hot {
					rc.Get(ctx, k)
				}
			}
			if errs := fill(t, rc, "hot", len(hot), time.Hour, nil); len(errs) > 0 {
				t.Fatal(errs[0])
			}
			const n = 4000
			if errs := fill(t, rc, "k", n, time.Hour, touch); len(errs) > 0 {
				t.Fatalf("%d writes refused, the first: %v", len(errs), errs[0])
			}
			size, _ := rc.DBSize(ctx).Result()
			if size >= keep+int64(len(hot))+n {
				t.Fatalf("DBSIZE %d: nothing was evicted", size)
			}
			evicted := waitInfo(t, rc, "stats", "evicted_keys", func(v int64) bool { return v > 0 })
			if got := infoField(t, rc, "memory", "maxmemory"); got != evictMax {
				t.Errorf("INFO maxmemory: got %d, want %d", got, evictMax)
			}
			used := waitInfo(t, rc, "memory", "used_memory", func(v int64) bool { return v > 0 })
			if used > evictMax+4*evictSize {
				t.Errorf("used_memory %d over maxmemory %d", used, evictMax)
			}
			info, _ := rc.Info(ctx, "memory").Result()
			if !strings.Contains(info, "maxmemory_policy:"+p.String()+"\r\n") {
				t.Errorf("INFO does not report the policy %s", p)
			}
			if strings.HasPrefix(p.String(), "volatile") {
				for i := range keep {
					if n, _ := rc.Exists(ctx, "keep"+strconv.Itoa(i)).Result(); n != 1 {
						t.Fatalf("keep%d, which has no expiry, was evicted", i)
					}
				}
			}
			if p == keyspace.AllKeysLRU || p == keyspace.AllKeysLFU || p == keyspace.VolatileLRU || p == keyspace.VolatileLFU {
				for _, k := range hot {
					if n, _ := rc.Exists(ctx, k).Result(); n != 1 {
						t.Errorf("%s, read between every write, was evicted (%d evicted)", k, evicted)
					}
				}
			}
			served(t, ts, "")
		})
	}
}

func TestMaxmemoryVolatileWithoutVolatileKeys(t *testing.T) {
	ts, rc := startEvicting(t, keyspace.VolatileLRU)
	errs := fill(t, rc, "k", 3000, 0, nil)
	if len(errs) == 0 || !strings.HasPrefix(errs[0].Error(), "OOM ") {
		t.Fatalf("keys without expiry over maxmemory: got %v, want OOM", errs)
	}
	c := ts.dial(t)
	if got := c.do("GET k0"); got != strings.Repeat("v", evictSize) {
		t.Fatalf("GET over maxmemory: got %q", got)
	}
}

func TestMaxmemoryConfig(t *testing.T) {
	ts := start(t, func(c *Config) { c.MaxMemory = 100 << 20; c.MaxMemoryPolicy = keyspace.AllKeysLFU; c.MaxClients = 77 })
	c := ts.dial(t)
	c.send(respCmd("CONFIG", "GET", "maxmemory*") + respCmd("CONFIG", "GET", "maxclients"))
	c.expect(fmt.Sprintf("*6\r\n$9\r\nmaxmemory\r\n$9\r\n%d\r\n$16\r\nmaxmemory-policy\r\n$11\r\nallkeys-lfu\r\n$17\r\nmaxmemory-samples\r\n$1\r\n5\r\n", 100<<20) +
		"*2\r\n$10\r\nmaxclients\r\n$2\r\n77\r\n")
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"max clients", func(c *Config) { c.MaxClients = 0 }},
		{"idle timeout", func(c *Config) { c.IdleTimeout = -1 }},
		{"query buffer", func(c *Config) { c.MaxQueryBuffer = 0 }},
		{"output buffer", func(c *Config) { c.MaxOutputBuffer = 0 }},
		{"max memory", func(c *Config) { c.MaxMemory = -1 }},
		{"policy", func(c *Config) { c.MaxMemoryPolicy = 99 }},
		{"samples", func(c *Config) { c.MaxMemorySamples = 0 }},
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		tt.edit(&cfg)
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: Validate accepted an invalid value", tt.name)
		}
	}
}

package cluster

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/keyspace"
)

// Over --maxmemory the groups' leaders evict through their logs: every
// replica removes the same keys, the nodes get back under the limit, and
// with noeviction (or nothing to evict) writes that need memory are
// refused with Redis's OOM error, a transaction as a whole.
func TestServerMaxmemory(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	ctx := context.Background()
	const limit = 150_000
	var rcs []*redis.Client
	for i := range tn.nodes {
		rc := redis.NewClient(&redis.Options{Addr: serveNode(t, tn, i, ServerConfig{MaxMemory: limit,
			MaxMemoryPolicy: keyspace.AllKeysLRU, MaxMemorySamples: 5}), Protocol: 2})
		defer rc.Close()
		rcs = append(rcs, rc)
	}
	// Each eviction's event is published once, by the node whose replica
	// chose the key, to the subscribers of every node.
	for _, rc := range rcs {
		if err := rc.ConfigSet(ctx, "notify-keyspace-events", "Ee").Err(); err != nil {
			t.Fatal(err)
		}
	}
	sub := rcs[0].Subscribe(ctx, "__keyevent@0__:evicted")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	var events atomic.Int64
	go func() {
		for range sub.Channel() {
			events.Add(1)
		}
	}()
	const written = 2000
	value := strings.Repeat("v", 100)
	for i := range written / 100 {
		pipe := rcs[i%3].Pipeline()
		for j := range 100 {
			pipe.Set(ctx, fmt.Sprintf("key:%04d", i*100+j), value, 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatalf("SETs: %v", err)
		}
	}
	field := func(rc *redis.Client, section, name string) int64 {
		info, err := rc.Info(ctx, section).Result()
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?m)^` + name + `:(\d+)\r?$`).FindStringSubmatch(info)
		if m == nil {
			t.Fatalf("no %s in INFO %s: %q", name, section, info)
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		return n
	}
	eventually(t, "every node within --maxmemory", func() bool {
		for _, rc := range rcs {
			if field(rc, "memory", "used_memory") > limit {
				return false
			}
		}
		return true
	})
	if got := field(rcs[0], "memory", "maxmemory"); got != limit {
		t.Fatalf("INFO maxmemory %d, want %d", got, limit)
	}
	// Every replica holds the same keys (READONLY reads a node's own), and
	// the keys left and those evicted add up to those written.
	var keys []string
	var msg string
	eventually(t, "the replicas to agree", func() bool {
		keys, msg = nil, ""
		for i, rc := range rcs {
			conn := rc.Conn()
			got, err := conn.Pipelined(ctx, func(p redis.Pipeliner) error {
				p.ReadOnly(ctx)
				p.Keys(ctx, "*")
				return nil
			})
			conn.Close()
			if err != nil {
				msg = err.Error()
				return false
			}
			ks := got[1].(*redis.StringSliceCmd).Val()
			slices.Sort(ks)
			if i == 0 {
				keys = ks
			} else if !slices.Equal(ks, keys) {
				msg = fmt.Sprintf("node %d holds %d keys, node 0 %d", i, len(ks), len(keys))
				return false
			}
		}
		return true
	})
	var evicted int64
	for i, rc := range rcs {
		n := field(rc, "stats", "evicted_keys")
		evicted += n
		// /metrics: the same count, by group.
		reg := prometheus.NewRegistry()
		reg.MustRegister(NewCollector(tn.nodes[i]))
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, mf := range mfs {
			if mf.GetName() == "datacluster_evicted_keys_total" {
				for _, m := range mf.GetMetric() {
					sum += m.GetCounter().GetValue()
				}
			}
		}
		if int64(sum) != n {
			t.Fatalf("node %d: datacluster_evicted_keys_total sums to %v, INFO evicted_keys %d", i, sum, n)
		}
	}
	if evicted == 0 || int64(len(keys))+evicted != written {
		t.Fatalf("%d keys left and %d evicted, want some evicted and %d in all (%s)", len(keys), evicted, written, msg)
	}
	eventually(t, fmt.Sprintf("an evicted event for each of the %d keys evicted", evicted), func() bool { return events.Load() >= evicted })
	if got := events.Load(); got != evicted {
		t.Fatalf("%d evicted events, want %d", got, evicted)
	}

	// noeviction over the limit: writes that need memory are refused,
	// the others run.
	for _, rc := range rcs {
		if err := rc.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
			t.Fatal(err)
		}
		if err := rc.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
			t.Fatal(err)
		}
	}
	if got := rcs[1].ConfigGet(ctx, "maxmemory-policy").Val()["maxmemory-policy"]; got != "noeviction" {
		t.Fatalf("CONFIG GET maxmemory-policy %q", got)
	}
	eventually(t, "SET refused with OOM", func() bool {
		err := rcs[2].Set(ctx, "new", "x", 0).Err()
		return err != nil && err.Error() == command.OOMError
	})
	if err := rcs[2].Get(ctx, keys[0]).Err(); err != nil {
		t.Fatalf("GET over the limit: %v", err)
	}
	if n, err := rcs[2].Del(ctx, keys[0]).Result(); err != nil || n != 1 {
		t.Fatalf("DEL over the limit: %d, %v", n, err)
	}
	// Each leader takes the new settings at its next tick.
	var err error
	var tries int
	eventually(t, "EXEC of a SET refused as a whole", func() bool {
		tries++
		_, err = rcs[1].TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Get(ctx, keys[1])
			p.Set(ctx, keys[1], fmt.Sprint("try ", tries), 0)
			return nil
		})
		return err != nil
	})
	if err.Error() != "EXECABORT Transaction discarded because of: "+command.OOMError {
		t.Fatalf("EXEC of a SET over the limit: %v", err)
	}
	if v, err := rcs[0].Get(ctx, keys[1]).Result(); err != nil || v == fmt.Sprint("try ", tries) {
		t.Fatalf("GET of the key the refused EXEC would have set: %q, %v", v, err)
	}
	for _, rc := range rcs {
		if err := rc.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "SET taken again without a limit", func() bool { return rcs[0].Set(ctx, "new", "x", 0).Err() == nil })
	if err := rcs[0].ConfigSet(ctx, "maxmemory-policy", "lru").Err(); err == nil || !strings.Contains(err.Error(), "argument(s) must be one of the following") {
		t.Fatalf("CONFIG SET maxmemory-policy lru: %v", err)
	}
}

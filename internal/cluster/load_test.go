package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/storage/arena"
)

// A node loading a single server's data answers LOADING to key commands
// and refuses changes of shape; Load writes every key, typed values and
// expiry times included, through the groups that own them, and loading
// the same keys again changes nothing.
func TestNodeLoad(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	addr := serveNode(t, tn, 0, ServerConfig{WholeKeyspace: true})
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, MaxRetries: -1})
	defer rc.Close()
	node := tn.nodes[0]

	src := arena.New()
	const keys = 3000
	for i := range keys {
		src.Set(fmt.Appendf(nil, "k:%d", i), fmt.Appendf(nil, "v%d", i), 0)
	}
	src.Set([]byte("ttl"), []byte("soon gone"), 4102444800000) // 2100-01-01
	h := object.NewHash()
	for i := range 300 {
		h.Set(fmt.Appendf(nil, "f%d", i), fmt.Appendf(nil, "%d", i))
	}
	src.SetObject([]byte("hash"), h, 0)

	node.SetLoading(true)
	if err := rc.Get(ctx, "k:1").Err(); err == nil || !strings.HasPrefix(err.Error(), "LOADING ") {
		t.Fatalf("GET while loading: %v, want LOADING", err)
	}
	// As Redis: PING too, but not what a loading server may answer.
	if err := rc.Ping(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "LOADING ") {
		t.Fatalf("PING while loading: %v, want LOADING", err)
	}
	if info, err := rc.ClusterInfo(ctx).Result(); err != nil || !strings.Contains(info, "cluster_state:ok") {
		t.Fatalf("CLUSTER INFO while loading: %q, %v", info, err)
	}
	if err := rc.Do(ctx, "CLUSTER", "SETSHARDS", "5").Err(); err == nil || !strings.HasPrefix(err.Error(), "LOADING ") {
		t.Fatalf("CLUSTER SETSHARDS while loading: %v, want LOADING", err)
	}
	if _, err := node.Admit("n9", "p9:1"); !errors.Is(err, ErrLoading) {
		t.Fatalf("admitting a node while loading: %v, want ErrLoading", err)
	}
	for range 2 {
		n, err := node.Load(ctx, src)
		if err != nil || n != keys+2 {
			t.Fatalf("Load: %d keys, %v; want %d", n, err, keys+2)
		}
	}
	node.SetLoading(false)

	if n, err := rc.DBSize(ctx).Result(); err != nil || n != keys+2 {
		t.Fatalf("DBSIZE after loading twice: %d, %v; want %d", n, err, keys+2)
	}
	for i := 0; i < keys; i += 97 {
		if v, err := rc.Get(ctx, fmt.Sprintf("k:%d", i)).Result(); err != nil || v != fmt.Sprintf("v%d", i) {
			t.Fatalf("k:%d: %q, %v", i, v, err)
		}
	}
	if at, err := rc.ExpireTime(ctx, "ttl").Result(); err != nil || at.Seconds() != 4102444800 {
		t.Fatalf("EXPIRETIME ttl: %v, %v", at, err)
	}
	if n, err := rc.HLen(ctx, "hash").Result(); err != nil || n != 300 {
		t.Fatalf("HLEN hash: %d, %v", n, err)
	}
	if v, err := rc.HGet(ctx, "hash", "f299").Result(); err != nil || v != "299" {
		t.Fatalf("HGET hash f299: %q, %v", v, err)
	}
	// Every key is in the group its slot belongs to.
	tb := node.Table()
	for g := range len(tb.Groups()) {
		ch := make(chan result, 1)
		node.Do(g, &Request{Cmds: [][][]byte{{[]byte("KEYS"), []byte("*")}}, Proto: 2, Mode: Read,
			Done: func(reply []byte, _ []int, err error) { ch <- result{string(reply), err} }})
		r := <-ch
		ks, _, ok := parseBulkArray([]byte(r.s))
		if r.err != nil || !ok {
			t.Fatalf("keys of group %d: %q, %v", g, r.s, r.err)
		}
		for _, k := range ks {
			if tb.GroupOfKey(k) != g {
				t.Fatalf("key %s in group %d, its slot is group %d's", k, g, tb.GroupOfKey(k))
			}
		}
	}
}

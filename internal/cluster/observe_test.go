package cluster

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestServerObserve checks what a node answers of MEMORY STATS, MEMORY
// DOCTOR, COMMAND DOCS and COMMAND GETKEYSANDFLAGS: the node's own figures,
// and the same COMMAND entries as a single server.
func TestServerObserve(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	addr := serveNode(t, tn, 1, ServerConfig{})
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	defer rc.Close()
	pipe := rc.Pipeline()
	for i := range 20 {
		pipe.Set(ctx, fmt.Sprintf("key:%02d", i), i, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := rc.Do(ctx, "MEMORY", "STATS").Slice()
	if err != nil || len(st) != 56 || st[0] != "peak.allocated" {
		t.Fatalf("MEMORY STATS: got %d elements (%v), want Redis's 28 fields", len(st), err)
	}
	fields := map[string]any{}
	for i := 0; i+1 < len(st); i += 2 {
		fields[st[i].(string)] = st[i+1]
	}
	if fields["keys.count"] != int64(20) || fields["total.allocated"].(int64) <= 0 {
		t.Errorf("MEMORY STATS: keys.count %v, total.allocated %v; want 20 and some bytes", fields["keys.count"], fields["total.allocated"])
	}
	if s, err := rc.Do(ctx, "MEMORY", "DOCTOR").Text(); err != nil || len(s) < 50 {
		t.Errorf("MEMORY DOCTOR: %q %v", s, err)
	}
	if err := rc.Do(ctx, "MEMORY", "STATS", "x").Err(); err == nil || err.Error() != "ERR wrong number of arguments for 'memory|stats' command" {
		t.Errorf("MEMORY STATS x: got %v", err)
	}
	if n, err := rc.Do(ctx, "MEMORY", "USAGE", "key:01").Int(); err != nil || n <= 0 {
		t.Errorf("MEMORY USAGE: got %d %v", n, err)
	}
	docs, err := rc.Do(ctx, "COMMAND", "DOCS", "get").Slice()
	if err != nil || len(docs) != 2 || docs[0] != "get" {
		t.Fatalf("COMMAND DOCS get: %v %v", docs, err)
	}
	kf, err := rc.Do(ctx, "COMMAND", "GETKEYSANDFLAGS", "SET", "k", "v").Slice()
	if err != nil || fmt.Sprint(kf) != "[[k [OW update]]]" {
		t.Errorf("COMMAND GETKEYSANDFLAGS SET k v: got %v %v", kf, err)
	}
}

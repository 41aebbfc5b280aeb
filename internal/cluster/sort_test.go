package cluster

import (
	"context"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestServerSort checks SORT through a cluster node: patterns of the
// sorted key's slot work, others are refused as Redis Cluster refuses
// them, and a STORE destination of another slot is CROSSSLOT.
func TestServerSort(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	addr := serveNode(t, tn, 1, ServerConfig{})
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	defer rc.Close()

	if err := rc.RPush(ctx, "{u}l", "a", "b", "c").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc.MSet(ctx, "{u}w_a", 3, "{u}w_b", 1, "{u}w_c", 2, "{u}o_b", "B").Err(); err != nil {
		t.Fatal(err)
	}
	got, err := rc.Do(ctx, "sort", "{u}l", "by", "{u}w_*", "get", "#", "get", "{u}o_*").Slice()
	if want := []any{"b", "B", "c", nil, "a", nil}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("SORT BY {u}w_*: got %v, %v, want %v", got, err, want)
	}
	if n, err := rc.Do(ctx, "sort", "{u}l", "alpha", "desc", "store", "{u}d").Int(); err != nil || n != 3 {
		t.Fatalf("SORT STORE: got %d, %v, want 3", n, err)
	}
	if l, err := rc.LRange(ctx, "{u}d", 0, -1).Result(); err != nil || !slices.Equal(l, []string{"c", "b", "a"}) {
		t.Fatalf("stored list: got %v, %v", l, err)
	}
	for _, tt := range []struct {
		args []any
		want string
	}{
		{[]any{"sort", "{u}l", "store", "d"}, "CROSSSLOT Keys in request don't hash to the same slot"},
		{[]any{"sort", "{u}l", "by", "w_*"}, "ERR BY option of SORT denied in Cluster mode when keys formed by the pattern may be in different slots."},
		{[]any{"sort_ro", "{u}l", "get", "{v}o_*"}, "ERR GET option of SORT denied in Cluster mode when keys formed by the pattern may be in different slots."},
		{[]any{"sort_ro", "{u}l", "store", "{u}d"}, "ERR syntax error"},
	} {
		if err := rc.Do(ctx, tt.args...).Err(); err == nil || err.Error() != tt.want {
			t.Errorf("%v: got %v, want %q", tt.args, err, tt.want)
		}
	}

	// A user who may not read every key is refused BY and GET patterns,
	// as on a single server.
	if err := rc.Do(ctx, "acl", "setuser", "limited", "on", "nopass", "~{u}*", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	lc := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, Username: "limited", Password: "x"})
	defer lc.Close()
	if err := lc.Do(ctx, "sort", "{u}l", "by", "{u}w_*").Err(); err == nil || err.Error() != "ERR BY option of SORT denied due to insufficient ACL permissions." {
		t.Errorf("SORT BY for a limited user: got %v", err)
	}
	if got, err := lc.Do(ctx, "sort", "{u}l", "alpha").Slice(); err != nil || !slices.Equal(got, []any{"a", "b", "c"}) {
		t.Errorf("SORT ALPHA for a limited user: got %v, %v", got, err)
	}
}

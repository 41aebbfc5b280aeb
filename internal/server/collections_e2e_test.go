package server

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/data-cluster/data-cluster/internal/object"
)

// TestCollectionsGoRedis drives hashes and sets through go-redis against a
// real server of several shards, in both protocol versions.
func TestCollectionsGoRedis(t *testing.T) {
	ts := start(t, nil)
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		rc := newClient(t, ts, func(o *redis.Options) { o.Protocol = proto })
		rc.FlushAll(ctx)
		if n, err := rc.HSet(ctx, "user:1", "name", "ada", "age", "36").Result(); err != nil || n != 2 {
			t.Fatalf("RESP%d HSET: %d %v", proto, n, err)
		}
		all, err := rc.HGetAll(ctx, "user:1").Result()
		if err != nil || all["name"] != "ada" || all["age"] != "36" || len(all) != 2 {
			t.Fatalf("RESP%d HGETALL: %v %v", proto, all, err)
		}
		if n, err := rc.HIncrBy(ctx, "user:1", "age", 1).Result(); err != nil || n != 37 {
			t.Fatalf("RESP%d HINCRBY: %d %v", proto, n, err)
		}
		if f, err := rc.HIncrByFloat(ctx, "user:1", "score", 2.5).Result(); err != nil || f != 2.5 {
			t.Fatalf("RESP%d HINCRBYFLOAT: %v %v", proto, f, err)
		}
		kv, err := rc.HRandFieldWithValues(ctx, "user:1", 10).Result()
		if err != nil || len(kv) != 3 {
			t.Fatalf("RESP%d HRANDFIELD WITHVALUES: %v %v", proto, kv, err)
		}
		if _, err := rc.Get(ctx, "user:1").Result(); err == nil || !strings.HasPrefix(err.Error(), "WRONGTYPE ") {
			t.Fatalf("RESP%d GET of a hash: %v, want WRONGTYPE", proto, err)
		}
		if typ, _ := rc.Type(ctx, "user:1").Result(); typ != "hash" {
			t.Fatalf("RESP%d TYPE: %q", proto, typ)
		}

		// Sets on keys of different shards: SMOVE and the STORE commands
		// are atomic across them.
		rc.SAdd(ctx, "tags:a", "go", "redis", "raft")
		rc.SAdd(ctx, "tags:b", "go", "c")
		inter, err := rc.SInter(ctx, "tags:a", "tags:b").Result()
		if err != nil || !slices.Equal(inter, []string{"go"}) {
			t.Fatalf("RESP%d SINTER: %v %v", proto, inter, err)
		}
		if n, err := rc.SUnionStore(ctx, "tags:all", "tags:a", "tags:b").Result(); err != nil || n != 4 {
			t.Fatalf("RESP%d SUNIONSTORE: %d %v", proto, n, err)
		}
		if ok, err := rc.SMove(ctx, "tags:a", "tags:c", "raft").Result(); err != nil || !ok {
			t.Fatalf("RESP%d SMOVE: %v %v", proto, ok, err)
		}
		if n, err := rc.SInterCard(ctx, 0, "tags:all", "tags:c").Result(); err != nil || n != 1 {
			t.Fatalf("RESP%d SINTERCARD: %d %v", proto, n, err)
		}
		members, err := rc.SMembers(ctx, "tags:all").Result()
		slices.Sort(members)
		if err != nil || !slices.Equal(members, []string{"c", "go", "raft", "redis"}) {
			t.Fatalf("RESP%d SMEMBERS: %v %v", proto, members, err)
		}
		popped, err := rc.SPopN(ctx, "tags:all", 2).Result()
		if err != nil || len(popped) != 2 {
			t.Fatalf("RESP%d SPOP 2: %v %v", proto, popped, err)
		}
		if n, _ := rc.SCard(ctx, "tags:all").Result(); n != 2 {
			t.Fatalf("RESP%d SCARD after SPOP: %d", proto, n)
		}
		var keys []string
		iter := rc.Scan(ctx, 0, "*", 100).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if iter.Err() != nil {
			t.Fatal(iter.Err())
		}
		sets, _, err := rc.ScanType(ctx, 0, "*", 1000, "set").Result()
		if err != nil || len(sets) > len(keys) {
			t.Fatalf("RESP%d SCAN TYPE set: %v %v", proto, sets, err)
		}
	}
}

// TestCollectionLimitsConfig checks CONFIG GET and SET of the collection
// limits, with the ziplist aliases, and that encodings follow them.
func TestCollectionLimitsConfig(t *testing.T) {
	old := object.CurrentLimits()
	t.Cleanup(func() { object.SetLimits(old) })
	ts := start(t, nil)
	ctx := context.Background()
	rc := newClient(t, ts, nil)
	cfg, err := rc.ConfigGet(ctx, "*-max-*").Result()
	if err != nil || cfg["hash-max-listpack-entries"] != "128" || cfg["hash-max-ziplist-value"] != "64" || cfg["set-max-intset-entries"] != "512" {
		t.Fatalf("CONFIG GET: %v %v", cfg, err)
	}
	if err := rc.ConfigSet(ctx, "hash-max-ziplist-entries", "2").Err(); err != nil {
		t.Fatal(err)
	}
	if v, _ := rc.ConfigGet(ctx, "hash-max-listpack-entries").Result(); v["hash-max-listpack-entries"] != "2" {
		t.Fatalf("CONFIG GET after SET of the alias: %v", v)
	}
	rc.HSet(ctx, "h", "a", "1", "b", "2")
	if enc, _ := rc.ObjectEncoding(ctx, "h").Result(); enc != "listpack" {
		t.Fatalf("OBJECT ENCODING of 2 fields: %q", enc)
	}
	rc.HSet(ctx, "h", "c", "3")
	if enc, _ := rc.ObjectEncoding(ctx, "h").Result(); enc != "hashtable" {
		t.Fatalf("OBJECT ENCODING of 3 fields: %q", enc)
	}
	for _, bad := range [][2]string{{"set-max-intset-entries", "x"}, {"set-max-listpack-value", "-1"}} {
		if err := rc.ConfigSet(ctx, bad[0], bad[1]).Err(); err == nil || !strings.Contains(err.Error(), "CONFIG SET failed (possibly related to argument '"+bad[0]+"')") {
			t.Errorf("CONFIG SET %s %s: %v", bad[0], bad[1], err)
		}
	}
	rc.ConfigSet(ctx, "set-max-intset-entries", "3")
	rc.SAdd(ctx, "s", "1", "2", "3")
	if enc, _ := rc.ObjectEncoding(ctx, "s").Result(); enc != "intset" {
		t.Fatalf("OBJECT ENCODING of 3 integers: %q", enc)
	}
	rc.SAdd(ctx, "s", "4")
	if enc, _ := rc.ObjectEncoding(ctx, "s").Result(); enc != "hashtable" {
		t.Fatalf("OBJECT ENCODING of 4 integers: %q", enc)
	}
}

// TestLineGetOfCollection checks the line protocol's answer to GET of a key
// that holds a hash.
func TestLineGetOfCollection(t *testing.T) {
	ts := start(t, nil)
	rc := newClient(t, ts, nil)
	rc.HSet(context.Background(), "h", "f", "v")
	c := ts.dial(t)
	if got := c.do("GET h"); got != "ERR wrong type" {
		t.Fatalf("GET h: got %q, want ERR wrong type", got)
	}
	if got := c.do("LIST"); got != "h" {
		t.Fatalf("LIST: got %q, want h", got)
	}
}

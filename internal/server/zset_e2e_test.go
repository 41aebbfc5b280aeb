package server

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/data-cluster/data-cluster/internal/object"
)

// TestSortedSetsGoRedis drives sorted sets through go-redis against a real
// server of several shards, in both protocol versions: scores come back as
// go-redis parses them from bulk strings (RESP2) and doubles (RESP3), and
// the multi-key commands cross shards.
func TestSortedSetsGoRedis(t *testing.T) {
	ts := start(t, nil)
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		rc := newClient(t, ts, func(o *redis.Options) { o.Protocol = proto })
		rc.FlushAll(ctx)
		n, err := rc.ZAdd(ctx, "board:a", redis.Z{Score: 1.5, Member: "ada"}, redis.Z{Score: 3, Member: "bob"}, redis.Z{Score: -2, Member: "cy"}).Result()
		if err != nil || n != 3 {
			t.Fatalf("RESP%d ZADD: %d %v", proto, n, err)
		}
		if f, err := rc.ZIncrBy(ctx, "board:a", 0.25, "ada").Result(); err != nil || f != 1.75 {
			t.Fatalf("RESP%d ZINCRBY: %v %v", proto, f, err)
		}
		zs, err := rc.ZRangeWithScores(ctx, "board:a", 0, -1).Result()
		want := []redis.Z{{Score: -2, Member: "cy"}, {Score: 1.75, Member: "ada"}, {Score: 3, Member: "bob"}}
		if err != nil || !slices.Equal(zs, want) {
			t.Fatalf("RESP%d ZRANGE WITHSCORES: %v %v", proto, zs, err)
		}
		rank, err := rc.ZRankWithScore(ctx, "board:a", "bob").Result()
		if err != nil || rank.Rank != 2 || rank.Score != 3 {
			t.Fatalf("RESP%d ZRANK WITHSCORE: %v %v", proto, rank, err)
		}
		if s, err := rc.ZScore(ctx, "board:a", "cy").Result(); err != nil || s != -2 {
			t.Fatalf("RESP%d ZSCORE: %v %v", proto, s, err)
		}
		byScore, err := rc.ZRangeArgs(ctx, redis.ZRangeArgs{Key: "board:a", Start: "+inf", Stop: "(-2", ByScore: true, Rev: true}).Result()
		if err != nil || !slices.Equal(byScore, []string{"bob", "ada"}) {
			t.Fatalf("RESP%d ZRANGE BYSCORE REV: %v %v", proto, byScore, err)
		}
		rc.ZAdd(ctx, "board:b", redis.Z{Score: 10, Member: "bob"}, redis.Z{Score: 1, Member: "dee"})
		rc.SAdd(ctx, "board:set", "dee", "eve")
		if n, err := rc.ZUnionStore(ctx, "board:all", &redis.ZStore{Keys: []string{"board:a", "board:b", "board:set"}, Weights: []float64{1, 2, 1}}).Result(); err != nil || n != 5 {
			t.Fatalf("RESP%d ZUNIONSTORE: %d %v", proto, n, err)
		}
		all, err := rc.ZRangeWithScores(ctx, "board:all", 0, -1).Result()
		want = []redis.Z{{Score: -2, Member: "cy"}, {Score: 1, Member: "eve"}, {Score: 1.75, Member: "ada"}, {Score: 3, Member: "dee"}, {Score: 23, Member: "bob"}}
		if err != nil || !slices.Equal(all, want) {
			t.Fatalf("RESP%d ZUNIONSTORE result: %v %v", proto, all, err)
		}
		inter, err := rc.ZInterWithScores(ctx, &redis.ZStore{Keys: []string{"board:a", "board:b"}, Aggregate: "MAX"}).Result()
		if err != nil || !slices.Equal(inter, []redis.Z{{Score: 10, Member: "bob"}}) {
			t.Fatalf("RESP%d ZINTER AGGREGATE MAX: %v %v", proto, inter, err)
		}
		popped, err := rc.ZPopMin(ctx, "board:all", 2).Result()
		if err != nil || !slices.Equal(popped, []redis.Z{{Score: -2, Member: "cy"}, {Score: 1, Member: "eve"}}) {
			t.Fatalf("RESP%d ZPOPMIN 2: %v %v", proto, popped, err)
		}
		key, mpopped, err := rc.ZMPop(ctx, "max", 1, "board:none", "board:all").Result()
		if err != nil || key != "board:all" || !slices.Equal(mpopped, []redis.Z{{Score: 23, Member: "bob"}}) {
			t.Fatalf("RESP%d ZMPOP: %q %v %v", proto, key, mpopped, err)
		}
		if typ, _ := rc.Type(ctx, "board:all").Result(); typ != "zset" {
			t.Fatalf("RESP%d TYPE: %q", proto, typ)
		}
		if _, err := rc.ZAdd(ctx, "board:set", redis.Z{Score: 1, Member: "x"}).Result(); err == nil || !strings.HasPrefix(err.Error(), "WRONGTYPE ") {
			t.Fatalf("RESP%d ZADD to a set: %v, want WRONGTYPE", proto, err)
		}
		if err := rc.ZAdd(ctx, "board:a", redis.Z{Score: 1, Member: "x"}).Err(); err != nil {
			t.Fatal(err)
		}
		zsets, _, err := rc.ScanType(ctx, 0, "*", 1000, "zset").Result()
		if err != nil || len(zsets) == 0 {
			t.Fatalf("RESP%d SCAN TYPE zset: %v %v", proto, zsets, err)
		}
	}
}

// TestZSetLimitsConfig checks CONFIG GET and SET of the sorted set limits,
// with the ziplist aliases, and that encodings follow them.
func TestZSetLimitsConfig(t *testing.T) {
	old := object.CurrentLimits()
	t.Cleanup(func() { object.SetLimits(old) })
	ts := start(t, nil)
	ctx := context.Background()
	rc := newClient(t, ts, nil)
	cfg, err := rc.ConfigGet(ctx, "zset-*").Result()
	if err != nil || cfg["zset-max-listpack-entries"] != "128" || cfg["zset-max-ziplist-value"] != "64" {
		t.Fatalf("CONFIG GET: %v %v", cfg, err)
	}
	if err := rc.ConfigSet(ctx, "zset-max-ziplist-entries", "2").Err(); err != nil {
		t.Fatal(err)
	}
	if v, _ := rc.ConfigGet(ctx, "zset-max-listpack-entries").Result(); v["zset-max-listpack-entries"] != "2" {
		t.Fatalf("CONFIG GET after SET of the alias: %v", v)
	}
	rc.ZAdd(ctx, "z", redis.Z{Score: 1, Member: "a"}, redis.Z{Score: 2, Member: "b"})
	if enc, _ := rc.ObjectEncoding(ctx, "z").Result(); enc != "listpack" {
		t.Fatalf("OBJECT ENCODING of 2 members: %q", enc)
	}
	rc.ZAdd(ctx, "z", redis.Z{Score: 3, Member: "c"})
	if enc, _ := rc.ObjectEncoding(ctx, "z").Result(); enc != "skiplist" {
		t.Fatalf("OBJECT ENCODING of 3 members: %q", enc)
	}
	if err := rc.ConfigSet(ctx, "zset-max-listpack-value", "-1").Err(); err == nil {
		t.Error("CONFIG SET zset-max-listpack-value -1: no error")
	}
}

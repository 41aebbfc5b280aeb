package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/data-cluster/data-cluster/internal/object"
)

// TestListsGoRedis drives lists through go-redis against a real server of
// several shards, in both protocol versions: a queue filled and drained
// from both ends, the commands that search and change the middle, and
// LMOVE, RPOPLPUSH and LMPOP between keys of different shards.
func TestListsGoRedis(t *testing.T) {
	ts := start(t, nil)
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		rc := newClient(t, ts, func(o *redis.Options) { o.Protocol = proto })
		rc.FlushAll(ctx)
		if n, err := rc.RPush(ctx, "jobs", "j1", "j2", "j3").Result(); err != nil || n != 3 {
			t.Fatalf("RESP%d RPUSH: %d %v", proto, n, err)
		}
		if n, err := rc.LPush(ctx, "jobs", "j0").Result(); err != nil || n != 4 {
			t.Fatalf("RESP%d LPUSH: %d %v", proto, n, err)
		}
		if n, err := rc.LPushX(ctx, "nojobs", "x").Result(); err != nil || n != 0 {
			t.Fatalf("RESP%d LPUSHX of a missing key: %d %v", proto, n, err)
		}
		if got, err := rc.LRange(ctx, "jobs", 0, -1).Result(); err != nil || !slices.Equal(got, []string{"j0", "j1", "j2", "j3"}) {
			t.Fatalf("RESP%d LRANGE: %q %v", proto, got, err)
		}
		if got, err := rc.LPop(ctx, "jobs").Result(); err != nil || got != "j0" {
			t.Fatalf("RESP%d LPOP: %q %v", proto, got, err)
		}
		if got, err := rc.RPopCount(ctx, "jobs", 2).Result(); err != nil || !slices.Equal(got, []string{"j3", "j2"}) {
			t.Fatalf("RESP%d RPOP 2: %q %v", proto, got, err)
		}
		if _, err := rc.LPop(ctx, "nosuch").Result(); err != redis.Nil {
			t.Fatalf("RESP%d LPOP of a missing key: %v, want redis.Nil", proto, err)
		}
		rc.RPush(ctx, "l", "a", "b", "c", "b")
		if n, err := rc.LInsertBefore(ctx, "l", "c", "B").Result(); err != nil || n != 5 {
			t.Fatalf("RESP%d LINSERT: %d %v", proto, n, err)
		}
		if err := rc.LSet(ctx, "l", -1, "z").Err(); err != nil {
			t.Fatalf("RESP%d LSET: %v", proto, err)
		}
		if err := rc.LSet(ctx, "l", 99, "z").Err(); err == nil || err.Error() != "ERR index out of range" {
			t.Fatalf("RESP%d LSET out of range: %v", proto, err)
		}
		if got, err := rc.LIndex(ctx, "l", 1).Result(); err != nil || got != "b" {
			t.Fatalf("RESP%d LINDEX: %q %v", proto, got, err)
		}
		if pos, err := rc.LPos(ctx, "l", "z", redis.LPosArgs{Rank: -1}).Result(); err != nil || pos != 4 {
			t.Fatalf("RESP%d LPOS: %d %v", proto, pos, err)
		}
		if pos, err := rc.LPosCount(ctx, "l", "b", 0, redis.LPosArgs{}).Result(); err != nil || !slices.Equal(pos, []int64{1}) {
			t.Fatalf("RESP%d LPOS COUNT: %v %v", proto, pos, err)
		}
		if n, err := rc.LRem(ctx, "l", 0, "b").Result(); err != nil || n != 1 {
			t.Fatalf("RESP%d LREM: %d %v", proto, n, err)
		}
		if err := rc.LTrim(ctx, "l", 0, 2).Err(); err != nil {
			t.Fatalf("RESP%d LTRIM: %v", proto, err)
		}
		if got, _ := rc.LRange(ctx, "l", 0, -1).Result(); !slices.Equal(got, []string{"a", "B", "c"}) {
			t.Fatalf("RESP%d after LREM and LTRIM: %q", proto, got)
		}
		// Keys in different shards.
		if got, err := rc.LMove(ctx, "l", "other", "LEFT", "RIGHT").Result(); err != nil || got != "a" {
			t.Fatalf("RESP%d LMOVE: %q %v", proto, got, err)
		}
		if got, err := rc.Do(ctx, "rpoplpush", "l", "other").Text(); err != nil || got != "c" {
			t.Fatalf("RESP%d RPOPLPUSH: %q %v", proto, got, err)
		}
		key, popped, err := rc.LMPop(ctx, "right", 5, "none", "other", "l").Result()
		if err != nil || key != "other" || !slices.Equal(popped, []string{"a", "c"}) {
			t.Fatalf("RESP%d LMPOP: %q %q %v", proto, key, popped, err)
		}
		if n, _ := rc.Exists(ctx, "other").Result(); n != 0 {
			t.Fatalf("RESP%d an emptied list exists", proto)
		}
		if typ, _ := rc.Type(ctx, "l").Result(); typ != "list" {
			t.Fatalf("RESP%d TYPE: %q", proto, typ)
		}
		rc.Set(ctx, "str", "v", 0)
		if _, err := rc.RPush(ctx, "str", "x").Result(); err == nil || !strings.HasPrefix(err.Error(), "WRONGTYPE ") {
			t.Fatalf("RESP%d RPUSH to a string: %v, want WRONGTYPE", proto, err)
		}
		var lists []string
		it := rc.ScanType(ctx, 0, "*", 1000, "list").Iterator()
		for it.Next(ctx) {
			lists = append(lists, it.Val())
		}
		slices.Sort(lists)
		if err := it.Err(); err != nil || !slices.Equal(lists, []string{"jobs", "l"}) {
			t.Fatalf("RESP%d SCAN TYPE list: %q %v", proto, lists, err)
		}
		if n, err := rc.MemoryUsage(ctx, "l").Result(); err != nil || n <= 0 {
			t.Fatalf("RESP%d MEMORY USAGE: %d %v", proto, n, err)
		}
	}
}

// TestListLimitsConfig checks CONFIG GET and SET of list-max-listpack-size,
// its ziplist alias and list-compress-depth, with Redis's ranges, and that
// the encoding follows the size.
func TestListLimitsConfig(t *testing.T) {
	old := object.CurrentLimits()
	t.Cleanup(func() { object.SetLimits(old) })
	ts := start(t, nil)
	ctx := context.Background()
	rc := newClient(t, ts, nil)
	cfg, err := rc.ConfigGet(ctx, "list-*").Result()
	if err != nil || cfg["list-max-listpack-size"] != "-2" || cfg["list-max-ziplist-size"] != "-2" || cfg["list-compress-depth"] != "0" {
		t.Fatalf("CONFIG GET: %v %v", cfg, err)
	}
	if err := rc.ConfigSet(ctx, "list-max-ziplist-size", "3").Err(); err != nil {
		t.Fatal(err)
	}
	if v, _ := rc.ConfigGet(ctx, "list-max-listpack-size").Result(); v["list-max-listpack-size"] != "3" {
		t.Fatalf("CONFIG GET after SET of the alias: %v", v)
	}
	rc.RPush(ctx, "l", "a", "b", "c")
	if enc, _ := rc.ObjectEncoding(ctx, "l").Result(); enc != "listpack" {
		t.Fatalf("OBJECT ENCODING of 3 elements: %q", enc)
	}
	rc.RPush(ctx, "l", "d")
	if enc, _ := rc.ObjectEncoding(ctx, "l").Result(); enc != "quicklist" {
		t.Fatalf("OBJECT ENCODING of 4 elements: %q", enc)
	}
	if err := rc.ConfigSet(ctx, "list-compress-depth", "2").Err(); err != nil {
		t.Errorf("CONFIG SET list-compress-depth 2: %v", err)
	}
	for _, bad := range [][3]string{
		{"list-compress-depth", "-1", "must be between 0 and 2147483647 inclusive"},
		{"list-max-listpack-size", "99999999999", "must be between -2147483648 and 2147483647 inclusive"},
		{"list-max-listpack-size", "x", "couldn't be parsed into an integer"},
	} {
		err := rc.ConfigSet(ctx, bad[0], bad[1]).Err()
		want := "ERR CONFIG SET failed (possibly related to argument '" + bad[0] + "') - argument " + bad[2]
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("CONFIG SET %s %s: got %v, want %s", bad[0], bad[1], err, want)
		}
	}
}

// TestListsPersist restarts a server with lists on disk: a big list (in
// parts), one changed by every kind of command, and one renamed, come back
// as they were.
func TestListsPersist(t *testing.T) {
	dir := t.TempDir()
	ts := startPersistent(t, dir, 3, nil)
	ctx := context.Background()
	rc := newClient(t, ts, nil)
	var big []any
	for i := range 20000 {
		big = append(big, fmt.Sprintf("element:%d", i))
	}
	rc.RPush(ctx, "big", big...)
	rc.RPush(ctx, "l", "a", "b", "c", "d", "e")
	rc.LPush(ctx, "l", "z")
	rc.LPop(ctx, "l")
	rc.RPopCount(ctx, "l", 1)
	rc.LSet(ctx, "l", 1, "B")
	rc.LInsertAfter(ctx, "l", "c", "C")
	rc.LRem(ctx, "l", 1, "a")
	rc.LTrim(ctx, "l", 0, 2)
	rc.LMove(ctx, "big", "l", "left", "right")
	rc.RPush(ctx, "old", "x")
	rc.Rename(ctx, "old", "renamed")
	rc.Expire(ctx, "renamed", time.Hour)
	if err := rc.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	rc.RPush(ctx, "big", "after-save")
	ts.stop(t)

	ts = startPersistent(t, dir, 3, nil)
	rc = newClient(t, ts, nil)
	if got, _ := rc.LRange(ctx, "l", 0, -1).Result(); !slices.Equal(got, []string{"B", "c", "C", "element:0"}) {
		t.Errorf("l after restart: %q", got)
	}
	if n, _ := rc.LLen(ctx, "big").Result(); n != 20000 {
		t.Errorf("LLEN big after restart: %d", n)
	}
	if got, _ := rc.LIndex(ctx, "big", -1).Result(); got != "after-save" {
		t.Errorf("LINDEX big -1 after restart: %q", got)
	}
	if got, _ := rc.LIndex(ctx, "big", 0).Result(); got != "element:1" {
		t.Errorf("LINDEX big 0 after restart: %q", got)
	}
	if ttl, _ := rc.TTL(ctx, "renamed").Result(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("TTL renamed: %v", ttl)
	}
}

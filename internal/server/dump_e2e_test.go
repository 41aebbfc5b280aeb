package server

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestRestorePersists restores values of every type (streams with consumer
// groups among them) — payloads redis-server
// 7.0 dumped and collections large enough to be logged in several records
// — changes some of them after, restarts the server on the same directory
// (from the log alone, and from a snapshot), and checks that every key
// dumps as it did before the restart.
func TestRestorePersists(t *testing.T) {
	for _, save := range []bool{false, true} {
		t.Run(fmt.Sprintf("save=%v", save), func(t *testing.T) {
			dir := t.TempDir()
			ts := startPersistent(t, dir, 3, nil)
			ctx := context.Background()
			rc := newClient(t, ts, nil)
			for _, name := range []string{"s-long", "h-lp", "h-ht", "st-int", "st-htint", "z-lp", "z-sl", "l-big", "l-plain", "x-groups", "x-big", "x-empty"} {
				b, err := os.ReadFile("../rdb/testdata/redis-7.0/" + name + ".hex")
				if err != nil {
					t.Fatal(err)
				}
				p, err := hex.DecodeString(strings.TrimSpace(string(b)))
				if err != nil {
					t.Fatal(err)
				}
				if err := rc.Restore(ctx, name, time.Hour, string(p)).Err(); err != nil {
					t.Fatalf("RESTORE %s: %v", name, err)
				}
			}
			// Collections of more than 256 KiB, made here and restored
			// under other keys.
			var elems []any
			for i := range 30000 {
				elems = append(elems, fmt.Sprintf("member-%06d", i), fmt.Sprint(i))
			}
			rc.HSet(ctx, "bighash", elems...)
			rc.SAdd(ctx, "bigset", elems...)
			rc.RPush(ctx, "biglist", elems...)
			pipe := rc.Pipeline()
			for i := range 20000 {
				pipe.XAdd(ctx, &redis.XAddArgs{Stream: "bigstream", ID: fmt.Sprintf("%d-1", i+1), Values: []any{"member", fmt.Sprintf("member-%06d", i), "n", i}})
			}
			pipe.XGroupCreate(ctx, "bigstream", "g", "0")
			pipe.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{"bigstream", ">"}, Count: 3000, Block: -1})
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"bighash", "bigset", "biglist", "bigstream"} {
				p, err := rc.Dump(ctx, k).Result()
				if err != nil {
					t.Fatal(err)
				}
				if err := rc.Restore(ctx, k+":restored", 0, p).Err(); err != nil {
					t.Fatalf("RESTORE %s: %v", k, err)
				}
				rc.Del(ctx, k)
			}
			// Changes logged after the restored values.
			rc.LPush(ctx, "l-big", "head")
			rc.RPop(ctx, "biglist:restored")
			rc.HSet(ctx, "h-ht", "new", "field")
			rc.ZAdd(ctx, "z-sl")
			rc.SRem(ctx, "st-htint", "1000")
			rc.XAdd(ctx, &redis.XAddArgs{Stream: "x-groups", ID: "8-0", Values: []any{"job", "8"}})
			rc.XAck(ctx, "x-groups", "g1", "2-0")
			rc.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "new", Streams: []string{"x-empty", ">"}, Block: -1})
			rc.XAdd(ctx, &redis.XAddArgs{Stream: "x-empty", ID: "1-0", Values: []any{"f", "v"}})
			rc.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "new", Streams: []string{"x-empty", ">"}, Block: -1})
			if save {
				if err := rc.Save(ctx).Err(); err != nil {
					t.Fatal(err)
				}
				rc.RPush(ctx, "l-big", "tail")
			}
			keys, err := rc.Keys(ctx, "*").Result()
			if err != nil || len(keys) != 16 {
				t.Fatalf("KEYS: got %d keys %q, %v; want 16", len(keys), keys, err)
			}
			before := map[string]string{}
			for _, k := range keys {
				before[k] = rc.Dump(ctx, k).Val()
			}
			ts.stop(t)

			ts = startPersistent(t, dir, 3, nil)
			rc = newClient(t, ts, nil)
			if n := rc.DBSize(ctx).Val(); n != int64(len(before)) {
				t.Errorf("DBSIZE: got %d, want %d", n, len(before))
			}
			for k, want := range before {
				if got := rc.Dump(ctx, k).Val(); got != want {
					t.Errorf("%s: DUMP after the restart differs (%d bytes, want %d)", k, len(got), len(want))
				}
			}
			if ttl := rc.TTL(ctx, "z-sl").Val(); ttl <= 0 || ttl > time.Hour {
				t.Errorf("TTL z-sl: got %v, want up to an hour", ttl)
			}
			if got := rc.LIndex(ctx, "l-big", 0).Val(); got != "head" {
				t.Errorf("LINDEX l-big 0: got %q, want head", got)
			}
			if got := rc.XPending(ctx, "x-groups", "g1").Val(); got == nil || got.Count != 3 || got.Lower != "3-0" {
				t.Errorf("XPENDING x-groups g1: got %+v, want 3 from 3-0", got)
			}
			if got := rc.XPending(ctx, "bigstream:restored", "g").Val(); got == nil || got.Count != 3000 {
				t.Errorf("XPENDING bigstream:restored g: got %+v, want 3000", got)
			}
			if got := rc.XPending(ctx, "x-empty", "g").Val(); got == nil || got.Count != 1 || got.Consumers["new"] != 1 {
				t.Errorf("XPENDING x-empty g: got %+v, want 1 of new", got)
			}
			if got := rc.LLen(ctx, "biglist:restored").Val(); got != 59999 {
				t.Errorf("LLEN biglist:restored: got %d, want 59999", got)
			}
		})
	}
}

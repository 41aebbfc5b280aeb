package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestScriptAtomicCounters runs 10 clients, each incrementing two keys of
// different shards 1000 times from a script that reads both first; the
// totals must be exact and the two keys always equal.
func TestScriptAtomicCounters(t *testing.T) {
	ts := start(t, nil)
	const body = "local a = tonumber(redis.call('get', KEYS[1]) or '0'); local b = tonumber(redis.call('get', KEYS[2]) or '0'); if a ~= b then return redis.error_reply('TORN') end; redis.call('set', KEYS[1], a + 1); redis.call('set', KEYS[2], b + 1); return a + 1"
	// Two keys that live on different shards.
	r := ts.Router().Ring()
	k1, k2 := "a", ""
	for i := 0; k2 == ""; i++ {
		if k := "b" + strings.Repeat("x", i); r.Lookup([]byte(k)) != r.Lookup([]byte(k1)) {
			k2 = k
		}
	}
	var wg sync.WaitGroup
	for range 10 {
		c := ts.dial(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				c.send(respCmd("EVAL", body, "2", k1, k2))
				s, err := readRESP(c.rd)
				if err != nil || s[0] != ':' {
					t.Errorf("got %q, %v", s, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	c := ts.dial(t)
	if got := c.raw("MGET", k1, k2); got != "*2\r\n$5\r\n10000\r\n$5\r\n10000\r\n" {
		t.Fatalf("got %q, want both 10000", got)
	}
}

func TestScriptUndeclaredKey(t *testing.T) {
	ts := start(t, nil)
	r := ts.Router().Ring()
	other := ""
	for i := 0; other == ""; i++ {
		if k := "o" + strings.Repeat("x", i); r.Lookup([]byte(k)) != r.Lookup([]byte("k")) {
			other = k
		}
	}
	c := ts.dial(t)
	got := c.raw("EVAL", "return redis.call('get', ARGV[1])", "1", "k", other)
	if !strings.HasPrefix(got, "-"+errUndeclared) {
		t.Fatalf("got %q", got)
	}
	// With no keys declared every shard is held.
	if got := c.raw("EVAL", "redis.call('set', ARGV[1], 'x') return redis.call('get', ARGV[1])", "0", other); got != "$1\r\nx\r\n" {
		t.Fatalf("got %q", got)
	}
	// EVALSHA of a loaded script, and inside MULTI.
	sha := c.raw("SCRIPT", "LOAD", "return redis.call('incr', KEYS[1])")
	sha = strings.Split(sha, "\r\n")[1]
	c.raw("MULTI")
	c.raw("EVALSHA", sha, "1", "n")
	c.raw("EVALSHA", sha, "1", "n")
	if got := c.raw("EXEC"); got != "*2\r\n:1\r\n:2\r\n" {
		t.Fatalf("got %q", got)
	}
	if got := c.raw("SCRIPT", "EXISTS", sha, "nope"); got != "*2\r\n:1\r\n:0\r\n" {
		t.Fatalf("got %q", got)
	}
	c.raw("SCRIPT", "FLUSH")
	if got := c.raw("EVALSHA", sha, "1", "n"); got != "-NOSCRIPT No matching script. Please use EVAL.\r\n" {
		t.Fatalf("got %q", got)
	}
}

// TestScriptWritesPersist runs scripts that write keys of several shards,
// restarts the server on its data dir, and finds every write.
func TestScriptWritesPersist(t *testing.T) {
	dir := t.TempDir()
	ts := startPersistent(t, dir, 3, nil)
	ctx := context.Background()
	rc := newClient(t, ts, nil)
	script := `redis.call('set', KEYS[1], ARGV[1]); redis.call('rpush', KEYS[2], ARGV[1]); redis.call('hincrby', KEYS[3], 'n', 1); return 1`
	for i := range 50 {
		if err := rc.Eval(ctx, script, []string{fmt.Sprint("s", i%5), "list", "h"}, fmt.Sprint("v", i)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	rc.Close()
	ts.stop(t)
	ts = startPersistent(t, dir, 3, nil)
	rc = newClient(t, ts, nil)
	defer rc.Close()
	for i := range 5 {
		if v, err := rc.Get(ctx, fmt.Sprint("s", i)).Result(); err != nil || v != fmt.Sprint("v", 45+i) {
			t.Fatalf("s%d after the restart: %q %v", i, v, err)
		}
	}
	if n, err := rc.LLen(ctx, "list").Result(); err != nil || n != 50 {
		t.Fatalf("list after the restart: %d %v", n, err)
	}
	if v, err := rc.HGet(ctx, "h", "n").Result(); err != nil || v != "50" {
		t.Fatalf("h after the restart: %q %v", v, err)
	}
}

// TestScriptPublish checks that a message a script publishes reaches the
// subscribers, from a script run on its key's shard and from one holding
// every shard.
func TestScriptPublish(t *testing.T) {
	ts := start(t, nil)
	sub, pub := ts.dial(t), ts.dial(t)
	sub.send(respCmd("SUBSCRIBE", "news") + respCmd("SSUBSCRIBE", "orders"))
	sub.expect("*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n*3\r\n$10\r\nssubscribe\r\n$6\r\norders\r\n:1\r\n")
	pub.send(respCmd("EVAL", "return {redis.call('publish', 'news', ARGV[1]), redis.call('spublish', 'orders', ARGV[2])}", "1", "k", "one", "two") +
		respCmd("EVAL", "return redis.call('publish', 'news', 'three')", "0"))
	pub.expect("*2\r\n:1\r\n:1\r\n:1\r\n")
	sub.expect(msg("message", "news", "one") + msg("smessage", "orders", "two") + msg("message", "news", "three"))
}

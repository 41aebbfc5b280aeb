package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// bulks encodes strs as RESP bulk strings, one after the other.
func bulks(strs ...string) string {
	var out string
	for _, s := range strs {
		out += "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n"
	}
	return out
}

// TestListBlockErrors checks the replies of the blocking list commands
// that never block, byte for byte against Redis 7.0.
func TestListBlockErrors(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	c.send(respCmd("SET", "str", "x") + respCmd("RPUSH", "l", "a"))
	c.expect("+OK\r\n:1\r\n")
	const wrong = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"BLPOP", "k", "-1"}, "-ERR timeout is negative\r\n"},
		{[]string{"BRPOP", "k", "abc"}, "-ERR timeout is not a float or out of range\r\n"},
		{[]string{"BLPOP", "str", "0"}, wrong},
		{[]string{"BRPOP", "nokey", "str", "l", "0"}, wrong},
		{[]string{"BLPOP", "str", "-1"}, "-ERR timeout is negative\r\n"},
		{[]string{"BLPOP", "k"}, "-ERR wrong number of arguments for 'blpop' command\r\n"},
		{[]string{"BLMPOP", "abc", "0", "k", "LEFT"}, "-ERR numkeys should be greater than 0\r\n"},
		{[]string{"BLMPOP", "abc", "1", "k", "UP"}, "-ERR syntax error\r\n"},
		{[]string{"BLMPOP", "-1", "1", "k", "LEFT"}, "-ERR timeout is negative\r\n"},
		{[]string{"BLMPOP", "0", "5", "k", "LEFT"}, "-ERR syntax error\r\n"},
		{[]string{"BLMPOP", "0", "1", "k", "RIGHT", "COUNT", "0"}, "-ERR count should be greater than 0\r\n"},
		{[]string{"BLMPOP", "0", "1", "str", "LEFT"}, wrong},
		{[]string{"BLMPOP", "0", "1", "k"}, "-ERR wrong number of arguments for 'blmpop' command\r\n"},
		{[]string{"BLMOVE", "k", "d", "UP", "LEFT", "abc"}, "-ERR syntax error\r\n"},
		{[]string{"BLMOVE", "k", "d", "LEFT", "DOWN", "0"}, "-ERR syntax error\r\n"},
		{[]string{"BLMOVE", "k", "d", "LEFT", "RIGHT", "-1"}, "-ERR timeout is negative\r\n"},
		{[]string{"BLMOVE", "str", "d", "LEFT", "RIGHT", "0"}, wrong},
		{[]string{"BLMOVE", "l", "str", "LEFT", "RIGHT", "0"}, wrong},
		{[]string{"BLMOVE", "k", "d", "LEFT", "RIGHT"}, "-ERR wrong number of arguments for 'blmove' command\r\n"},
		{[]string{"BRPOPLPUSH", "k", "d", "x"}, "-ERR timeout is not a float or out of range\r\n"},
		{[]string{"BRPOPLPUSH", "str", "d", "0"}, wrong},
		{[]string{"BRPOPLPUSH", "l", "str", "0"}, wrong},
		{[]string{"LLEN", "l"}, ":1\r\n"},
	} {
		c.send(respCmd(tc.args...))
		c.expect(tc.want)
	}
	if ts.blocked.Load() != 0 {
		t.Fatalf("blocked clients: got %d, want 0", ts.blocked.Load())
	}
}

// TestListBlockServedAtOnce checks the replies of blocking list commands
// that find elements, and of their timeouts, in both protocols.
func TestListBlockServedAtOnce(t *testing.T) {
	ts := start(t, func(c *Config) { c.Router.Shards = 4 })
	c := ts.dial(t)
	c.send(respCmd("RPUSH", "l", "a", "b", "c", "d", "e", "f"))
	c.expect(":6\r\n")
	c.send(respCmd("BLPOP", "none", "l", "0"))
	c.expect("*2\r\n" + bulks("l", "a"))
	c.send(respCmd("BRPOP", "l", "0"))
	c.expect("*2\r\n" + bulks("l", "f"))
	c.send(respCmd("BLMPOP", "0", "2", "none", "l", "RIGHT", "COUNT", "2"))
	c.expect("*2\r\n$1\r\nl\r\n*2\r\n" + bulks("e", "d"))
	c.send(respCmd("BLMOVE", "l", "other", "LEFT", "RIGHT", "0"))
	c.expect(bulks("b"))
	c.send(respCmd("BRPOPLPUSH", "l", "other", "0") + respCmd("LRANGE", "other", "0", "-1"))
	c.expect(bulks("c") + "*2\r\n" + bulks("c", "b"))
	c.send(respCmd("BLMOVE", "other", "other", "LEFT", "RIGHT", "0") + respCmd("LRANGE", "other", "0", "-1"))
	c.expect(bulks("c") + "*2\r\n" + bulks("b", "c"))
	for _, cmd := range [][]string{
		{"BLPOP", "none", "0.01"},
		{"BRPOP", "none", "none2", "0.01"},
		{"BLMPOP", "0.01", "1", "none", "LEFT"},
		{"BLMOVE", "none", "other", "LEFT", "LEFT", "0.01"},
		{"BRPOPLPUSH", "none", "other", "0.01"},
	} {
		c.send(respCmd(cmd...))
		c.expect("*-1\r\n")
	}
	c.hello3()
	c.send(respCmd("BLPOP", "other", "0") + respCmd("BRPOP", "none", "0.01") + respCmd("BLMOVE", "none", "x", "LEFT", "LEFT", "0.01"))
	c.expect("*2\r\n" + bulks("other", "b") + "_\r\n_\r\n")
	waitBlocked(t, ts, 0)
}

// TestListBlockFIFO parks clients in each blocking list command on one key
// and checks that pushes serve them oldest first, a BLMOVE's push serving
// the clients waiting on its destination.
func TestListBlockFIFO(t *testing.T) {
	ts := start(t, func(c *Config) { c.Router.Shards = 4 })
	ks := keysOnShards(ts, "f", 2)
	q, same, other := ks[0][0], ks[0][1], ks[1][0]
	var ws []*client
	ws = append(ws, parkIn(t, ts, 1, "BLPOP", q, "0")...)
	ws = append(ws, parkIn(t, ts, 1, "BRPOP", "nothing", q, "0")...)
	ws = append(ws, parkIn(t, ts, 1, "BLMPOP", "0", "1", q, "LEFT", "COUNT", "2")...)
	ws = append(ws, parkIn(t, ts, 1, "BLMOVE", q, same, "LEFT", "RIGHT", "0")...)
	ws = append(ws, parkIn(t, ts, 1, "BRPOPLPUSH", same, other, "0")...)
	ws = append(ws, parkIn(t, ts, 1, "BLPOP", other, "0")...)
	c := ts.dial(t)
	c.send(respCmd("RPUSH", q, "a", "b", "c", "d", "e", "f") + respCmd("LLEN", q))
	c.expect(":6\r\n")
	for i, want := range []string{
		"*2\r\n" + bulks(q, "a"),
		"*2\r\n" + bulks(q, "f"),
		"*2\r\n" + bulks(q) + "*2\r\n" + bulks("b", "c"),
		bulks("d"),
		bulks("d"),
		"*2\r\n" + bulks(other, "d"),
	} {
		ws[i].expect(want)
	}
	c.expect(":1\r\n") // e is left
	waitBlocked(t, ts, 0)
}

// TestListBlockMulti checks that a push inside MULTI/EXEC serves waiters
// only once EXEC has run, and that the blocking list commands inside
// MULTI answer at once.
func TestListBlockMulti(t *testing.T) {
	ts := start(t, nil)
	waiter := parkIn(t, ts, 1, "BLPOP", "m", "0")[0]
	c := ts.dial(t)
	c.send(respCmd("MULTI") + respCmd("RPUSH", "m", "a") + respCmd("RPUSH", "m", "b") +
		respCmd("LLEN", "m") + respCmd("EXEC"))
	c.expect("+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n:1\r\n:2\r\n:2\r\n")
	waiter.expect("*2\r\n" + bulks("m", "a"))

	c.send(respCmd("MULTI") + respCmd("BLPOP", "m", "0") + respCmd("BRPOP", "none", "0") +
		respCmd("BLMPOP", "0", "1", "none", "LEFT") + respCmd("BLMOVE", "none", "d", "LEFT", "LEFT", "0") +
		respCmd("BRPOPLPUSH", "none", "d", "0") + respCmd("BLPOP", "none", "-1") + respCmd("EXEC"))
	c.expect("+OK\r\n" + "+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n" +
		"*6\r\n*2\r\n" + bulks("m", "b") + "*-1\r\n*-1\r\n$-1\r\n$-1\r\n-ERR timeout is negative\r\n")
	waitBlocked(t, ts, 0)
}

// TestListBlockCancel checks that a disconnected waiter is forgotten and
// that CLIENT UNBLOCK ends a list wait.
func TestListBlockCancel(t *testing.T) {
	ts := start(t, nil)
	ws := parkIn(t, ts, 2, "BLMOVE", "d", "dst", "LEFT", "LEFT", "0")
	ws[0].nc.Close()
	waitBlocked(t, ts, 1)
	c := ts.dial(t)
	c.send(respCmd("RPUSH", "d", "a", "b"))
	c.expect(":2\r\n")
	ws[1].expect(bulks("a"))
	c.send(respCmd("LRANGE", "d", "0", "-1") + respCmd("LRANGE", "dst", "0", "-1"))
	c.expect("*1\r\n" + bulks("b") + "*1\r\n" + bulks("a"))

	b := ts.dial(t)
	id := b.clientID()
	b.send(respCmd("BRPOP", "u", "0"))
	waitBlocked(t, ts, 1)
	c.send(respCmd("CLIENT", "UNBLOCK", id, "ERROR"))
	c.expect(":1\r\n")
	b.expect("-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n")
	waitBlocked(t, ts, 0)
}

// TestListBlockPersists checks that the pops and moves of served waiters
// are logged: after a restart they are done and the rest is there.
func TestListBlockPersists(t *testing.T) {
	dir := t.TempDir()
	ts := startPersistent(t, dir, 2, nil)
	ks := keysOnShards(ts, "p", 1)
	src, dst := ks[0][0], ks[1][0]
	pop := parkIn(t, ts, 1, "BLPOP", src, "0")[0]
	mv := parkIn(t, ts, 1, "BLMOVE", src, dst, "RIGHT", "LEFT", "0")[0]
	c := ts.dial(t)
	c.send(respCmd("RPUSH", src, "a", "b", "c"))
	c.expect(":3\r\n")
	pop.expect("*2\r\n" + bulks(src, "a"))
	mv.expect(bulks("c"))
	ts.stop(t)

	ts = startPersistent(t, dir, 2, nil)
	rc := newClient(t, ts, nil)
	ctx := context.Background()
	for key, want := range map[string][]string{src: {"b"}, dst: {"c"}} {
		got, err := rc.LRange(ctx, key, 0, -1).Result()
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("%s after restart: got %q %v, want %q", key, got, err, want)
		}
	}
}

// TestListBlockAcrossShards parks BLPOP clients on keys of several shards,
// and BLMOVE clients moving from those keys to keys of other shards, and
// pushes to all of them at once from several clients: every client is
// served exactly once, and every element pushed is popped once or is in
// one list. The schedule is random, seeded.
func TestListBlockAcrossShards(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	ts := start(t, func(c *Config) { c.Router.Shards = 4 })
	ctx := context.Background()
	shardKeys := keysOnShards(ts, "lk", 2)
	var keys, dests []string
	for _, ks := range shardKeys {
		keys = append(keys, ks[0])
		dests = append(dests, ks[1])
	}
	const clients, rounds = 12, 3
	for round := range rounds {
		got := make([][]string, clients)
		var wg sync.WaitGroup
		for i := range clients {
			var args []any
			if i%3 == 2 {
				// A move to a destination on another shard, or the same.
				args = []any{"BLMOVE", keys[rng.IntN(len(keys))], dests[rng.IntN(len(dests))], "LEFT", "RIGHT", 0}
			} else {
				args = []any{"BLPOP"}
				for _, s := range rng.Perm(len(keys))[:3] {
					args = append(args, keys[s])
				}
				args = append(args, 0)
			}
			rc := newClient(t, ts, func(o *redis.Options) { o.Protocol = 2 })
			wg.Go(func() {
				v, err := rc.Do(ctx, args...).Result()
				if err != nil {
					t.Errorf("seed %d round %d client %d: %v", seed, round, i, err)
					return
				}
				switch v := v.(type) {
				case string:
					got[i] = []string{args[2].(string), v}
				case []any:
					got[i] = []string{v[0].(string), v[1].(string)}
				}
			})
		}
		waitBlocked(t, ts, clients)
		const pushers, per = 4, clients/4 + 1
		pushAll(t, ts, rng, seed, pushers, len(keys), func(pipe redis.Pipeliner, p, ki int) {
			for j := range per {
				pipe.RPush(ctx, keys[ki], fmt.Sprintf("r%d-p%d-k%d-%d", round, p, ki, j))
			}
		})
		wg.Wait()
		waitBlocked(t, ts, 0)
		rc := newClient(t, ts, nil)
		count := map[string]int{}
		for _, k := range append(keys, dests...) {
			l, err := rc.LRange(ctx, k, 0, -1).Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range l {
				count[e]++
			}
			rc.Del(ctx, k)
		}
		for i, v := range got {
			if len(v) != 2 {
				t.Fatalf("seed %d round %d client %d: got %q, want key and element", seed, round, i, v)
			}
			if i%3 == 2 {
				// The element is in its destination, counted there.
				if count[v[1]] != 1 {
					t.Fatalf("seed %d round %d: moved %s found %d times, want once", seed, round, v[1], count[v[1]])
				}
				continue
			}
			count[v[1]]++
		}
		if pushed := pushers * per * len(keys); len(count) != pushed {
			t.Fatalf("seed %d round %d: %d distinct elements popped or left, want %d pushed", seed, round, len(count), pushed)
		}
		for e, n := range count {
			if n != 1 {
				t.Fatalf("seed %d round %d: element %s seen %d times, want once", seed, round, e, n)
			}
		}
	}
}

// TestListBlockServedLarge serves blocked clients large values, whose
// replies are sent from the waiter's buffer rather than copied, with
// commands pipelined after the blocking one: every reply arrives whole and
// in order, round after round.
func TestListBlockServedLarge(t *testing.T) {
	ts := start(t, func(c *Config) { c.Router.Shards = 4 })
	c, p := ts.dial(t), ts.dial(t)
	for i := range 8 {
		v := strings.Repeat(string(rune('a'+i)), 40<<10+i)
		big := strings.Repeat(string(rune('A'+i)), 20<<10)
		p.send(respCmd("SET", "big", big))
		p.expect("+OK\r\n")
		c.send(respCmd("BLPOP", "l", "0") + respCmd("GET", "big") + respCmd("ECHO", "after"))
		waitBlocked(t, ts, 1)
		p.send(respCmd("RPUSH", "l", v))
		p.expect(":1\r\n")
		c.expect("*2\r\n" + bulks("l", v) + bulks(big) + bulks("after"))
	}
}

package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/data-cluster/data-cluster/internal/testutil"
)

// waitBlocked waits until ts counts n blocked clients: a client is counted
// once its waiter is parked in the shards, so a write after this serves it.
func waitBlocked(t *testing.T, ts *testServer, n int64) {
	t.Helper()
	testutil.Await(t, 10*time.Second, func() bool { return ts.blocked.Load() == n },
		func() string { return fmt.Sprintf("blocked clients stayed at %d, want %d", ts.blocked.Load(), n) })
}

// parkClients parks n clients one after the other in BZPOPMIN key 0.
func parkClients(t *testing.T, ts *testServer, key string, n int) []*client {
	t.Helper()
	return parkIn(t, ts, n, "BZPOPMIN", key, "0")
}

// parkIn parks n new clients one after the other in the blocking command
// args, on top of those already blocked.
func parkIn(t *testing.T, ts *testServer, n int, args ...string) []*client {
	t.Helper()
	var waiters []*client
	base := ts.blocked.Load()
	for i := range n {
		c := ts.dial(t)
		c.send(respCmd(args...))
		waiters = append(waiters, c)
		waitBlocked(t, ts, base+int64(i+1))
	}
	return waiters
}

// serveInOrder adds members m0, m1, … scored 0, 1, … to key in one ZADD
// from c, and checks that waiters get them in that order.
func serveInOrder(t *testing.T, c *client, key string, waiters []*client) {
	t.Helper()
	args := []string{"ZADD", key}
	for i := range waiters {
		args = append(args, strconv.Itoa(i), "m"+strconv.Itoa(i))
	}
	c.send(respCmd(args...))
	c.expect(":" + strconv.Itoa(len(waiters)) + "\r\n")
	for i, w := range waiters {
		m, score := "m"+strconv.Itoa(i), strconv.Itoa(i)
		w.expect(fmt.Sprintf("*3\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(key), key, len(m), m, len(score), score))
	}
}

// clientID returns the id CLIENT ID gives c.
func (c *client) clientID() string {
	c.t.Helper()
	c.send(respCmd("CLIENT", "ID"))
	return strings.TrimSuffix(strings.TrimPrefix(c.line(), ":"), "\r")
}

// hello3 switches c to RESP3 and reads HELLO's reply, which ends with an
// empty array of modules.
func (c *client) hello3() {
	c.t.Helper()
	c.send(respCmd("HELLO", "3"))
	for c.line() != "*0\r" {
	}
}

// TestBlockErrors checks the replies that never block, byte for byte
// against Redis 7.0.
func TestBlockErrors(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	c.send(respCmd("SET", "str", "x"))
	c.expect("+OK\r\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"BZPOPMIN", "k", "-1"}, "-ERR timeout is negative\r\n"},
		{[]string{"BZPOPMIN", "k", "abc"}, "-ERR timeout is not a float or out of range\r\n"},
		{[]string{"BZPOPMIN", "k", "nan"}, "-ERR timeout is not a float or out of range\r\n"},
		{[]string{"BZPOPMIN", "k", " 1"}, "-ERR timeout is not a float or out of range\r\n"},
		{[]string{"BZPOPMAX", "k", "inf"}, "-ERR timeout is negative\r\n"},
		{[]string{"BZPOPMAX", "k", "1e16"}, "-ERR timeout is negative\r\n"},
		{[]string{"BZPOPMIN", "str", "0"}, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
		{[]string{"BZPOPMIN", "nokey", "str", "0"}, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
		{[]string{"BZPOPMIN", "k"}, "-ERR wrong number of arguments for 'bzpopmin' command\r\n"},
		{[]string{"BZMPOP", "abc", "0", "k", "MIN"}, "-ERR numkeys should be greater than 0\r\n"},
		{[]string{"BZMPOP", "abc", "1", "k", "FOO"}, "-ERR syntax error\r\n"},
		{[]string{"BZMPOP", "-1", "1", "k", "MIN"}, "-ERR timeout is negative\r\n"},
		{[]string{"BZMPOP", "0", "5", "k", "MIN"}, "-ERR syntax error\r\n"},
		{[]string{"BZMPOP", "0", "1", "k", "MIN", "COUNT", "0"}, "-ERR count should be greater than 0\r\n"},
		{[]string{"BZMPOP", "0", "1", "str", "MIN"}, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
		{[]string{"CLIENT", "UNBLOCK", "abc"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"CLIENT", "UNBLOCK", "99999", "foo"}, "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n"},
		{[]string{"CLIENT", "UNBLOCK", "99999"}, ":0\r\n"},
		{[]string{"CLIENT", "UNBLOCK", "1", "ERROR"}, ":0\r\n"},
	} {
		c.send(respCmd(tc.args...))
		c.expect(tc.want)
	}
	if ts.blocked.Load() != 0 {
		t.Fatalf("blocked clients: got %d, want 0", ts.blocked.Load())
	}
}

// TestBlockServedAtOnce checks the replies of blocking commands that find
// members, in both protocols.
func TestBlockServedAtOnce(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	c.send(respCmd("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"))
	c.expect(":4\r\n")
	c.send(respCmd("BZPOPMIN", "none", "z", "0"))
	c.expect("*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n")
	c.send(respCmd("BZPOPMAX", "z", "0"))
	c.expect("*3\r\n$1\r\nz\r\n$1\r\nd\r\n$1\r\n4\r\n")
	c.send(respCmd("BZMPOP", "0", "2", "none", "z", "MAX", "COUNT", "5"))
	c.expect("*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n")
	c.hello3()
	c.send(respCmd("ZADD", "z", "1.5", "a"))
	c.expect(":1\r\n")
	c.send(respCmd("BZPOPMIN", "z", "0"))
	c.expect("*3\r\n$1\r\nz\r\n$1\r\na\r\n,1.5\r\n")
	c.send(respCmd("BZPOPMIN", "z", "0.01"))
	c.expect("_\r\n")
}

// TestBlockFIFO parks clients one after the other on one key and checks
// that one write of as many members serves them oldest first.
func TestBlockFIFO(t *testing.T) {
	ts := start(t, nil)
	waiters := parkClients(t, ts, "q", 5)
	serveInOrder(t, ts.dial(t), "q", waiters)
	waitBlocked(t, ts, 0)
}

// TestBlockTimeout checks that a short timeout answers a nil array, in
// RESP2 and RESP3, and that a client's pipelined commands wait behind its
// blocked one.
func TestBlockTimeout(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	start := time.Now()
	c.send(respCmd("BZPOPMIN", "k1", "k2", "0.05") + respCmd("PING"))
	c.expect("*-1\r\n+PONG\r\n")
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("timed out after %v, want at least 50ms", d)
	}
	c.send(respCmd("BZMPOP", "0.02", "1", "k1", "MIN"))
	c.expect("*-1\r\n")
	c.hello3()
	c.send(respCmd("BZPOPMAX", "k1", "0.02"))
	c.expect("_\r\n")
	waitBlocked(t, ts, 0)
}

// TestBlockPipelined checks that the commands a blocked client sends
// meanwhile are answered after its blocking command, in order.
func TestBlockPipelined(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	c.send(respCmd("SET", "a", "1") + respCmd("BZPOPMIN", "p", "0") + respCmd("GET", "a"))
	c.expect("+OK\r\n")
	waitBlocked(t, ts, 1)
	c.send(respCmd("INCR", "a"))
	w := ts.dial(t)
	w.send(respCmd("ZADD", "p", "7", "x"))
	w.expect(":1\r\n")
	c.expect("*3\r\n$1\r\np\r\n$1\r\nx\r\n$1\r\n7\r\n$1\r\n1\r\n:2\r\n")
}

// TestBlockAcrossShards parks clients on keys of several shards and pushes
// to all of them at once from several clients: every client is served
// exactly once, and every member pushed is either popped once or still
// there. The schedule is random, seeded.
func TestBlockAcrossShards(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	ts := start(t, func(c *Config) { c.Router.Shards = 4 })
	ctx := context.Background()
	shardKeys := keysOnShards(ts, "bk", 2)
	var keys []string
	for _, ks := range shardKeys {
		keys = append(keys, ks...)
	}
	const clients, rounds = 12, 3
	for round := range rounds {
		// Each client waits on 3 keys of different shards, in a random order.
		got := make([][]string, clients)
		var wg sync.WaitGroup
		for i := range clients {
			perm := rng.Perm(len(shardKeys))[:3]
			var args []any
			args = append(args, "BZPOPMIN")
			for _, s := range perm {
				args = append(args, shardKeys[s][rng.IntN(2)])
			}
			args = append(args, 0)
			rc := newClient(t, ts, func(o *redis.Options) { o.Protocol = 2 })
			wg.Go(func() {
				v, err := rc.Do(ctx, args...).StringSlice()
				if err != nil {
					t.Errorf("seed %d round %d client %d: %v", seed, round, i, err)
					return
				}
				got[i] = v
			})
		}
		waitBlocked(t, ts, clients)
		// Pushers each add unique members to every key at once.
		pushers := 4
		per := clients/pushers + 1
		pushAll(t, ts, rng, seed, pushers, len(keys), func(pipe redis.Pipeliner, p, ki int) {
			for j := range per {
				pipe.ZAdd(ctx, keys[ki], redis.Z{Score: float64(j), Member: fmt.Sprintf("r%d-p%d-k%d-%d", round, p, ki, j)})
			}
		})
		wg.Wait()
		waitBlocked(t, ts, 0)
		rc := newClient(t, ts, nil)
		seen := map[string]bool{}
		for i, v := range got {
			if len(v) != 3 {
				t.Fatalf("seed %d round %d client %d: got %q, want key, member, score", seed, round, i, v)
			}
			if seen[v[1]] {
				t.Fatalf("seed %d round %d: member %s popped twice", seed, round, v[1])
			}
			seen[v[1]] = true
			if s, err := rc.ZScore(ctx, v[0], v[1]).Result(); err != redis.Nil {
				t.Fatalf("seed %d round %d: popped %s still in %s (score %v, %v)", seed, round, v[1], v[0], s, err)
			}
		}
		left := 0
		for _, k := range keys {
			n, err := rc.ZCard(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			left += int(n)
			rc.Del(ctx, k)
		}
		if pushed := pushers * per * len(keys); left+clients != pushed {
			t.Fatalf("seed %d round %d: %d popped + %d left, want %d pushed", seed, round, clients, left, pushed)
		}
	}
}

// pushAll runs pushers clients at once, each calling push for every key
// number below keys, in a random order of its own, in one pipeline, and
// waits for them.
func pushAll(t *testing.T, ts *testServer, rng *rand.Rand, seed uint64, pushers, keys int, push func(pipe redis.Pipeliner, p, ki int)) {
	t.Helper()
	var pw sync.WaitGroup
	for p := range pushers {
		rc := newClient(t, ts, nil)
		order := rng.Perm(keys)
		pw.Go(func() {
			pipe := rc.Pipeline()
			for _, ki := range order {
				push(pipe, p, ki)
			}
			if _, err := pipe.Exec(context.Background()); err != nil {
				t.Errorf("seed %d: push: %v", seed, err)
			}
		})
	}
	pw.Wait()
}

// TestBlockMulti checks that a write inside MULTI/EXEC serves waiters only
// once EXEC has run, and that a blocking command inside MULTI does not
// block.
func TestBlockMulti(t *testing.T) {
	ts := start(t, nil)
	waiter := parkClients(t, ts, "m", 1)[0]
	c := ts.dial(t)
	c.send(respCmd("MULTI") + respCmd("ZADD", "m", "1", "a") + respCmd("ZADD", "m", "2", "b") +
		respCmd("ZCARD", "m") + respCmd("EXEC"))
	c.expect("+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n:1\r\n:1\r\n:2\r\n")
	waiter.expect("*3\r\n$1\r\nm\r\n$1\r\na\r\n$1\r\n1\r\n")

	// A transaction that leaves the key empty serves no one.
	waiter.send(respCmd("BZPOPMIN", "e", "0"))
	waitBlocked(t, ts, 1)
	c.send(respCmd("MULTI") + respCmd("ZADD", "e", "1", "a") + respCmd("ZREM", "e", "a") + respCmd("EXEC"))
	c.expect("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n:1\r\n")
	// The shard serves after the transaction; a command on it after
	// EXEC's reply runs once it has.
	c.send(respCmd("ZCARD", "e"))
	c.expect(":0\r\n")
	if n := ts.blocked.Load(); n != 1 {
		t.Fatalf("blocked clients after an EXEC that left the key empty: got %d, want 1", n)
	}
	c.send(respCmd("ZADD", "e", "5", "z"))
	c.expect(":1\r\n")
	waiter.expect("*3\r\n$1\r\ne\r\n$1\r\nz\r\n$1\r\n5\r\n")

	// Inside MULTI a blocking command answers at once.
	c.send(respCmd("MULTI") + respCmd("BZPOPMIN", "m", "0") + respCmd("BZPOPMIN", "none", "0") +
		respCmd("BZMPOP", "0", "1", "none", "MIN") + respCmd("BZPOPMIN", "none", "-1") + respCmd("EXEC"))
	c.expect("+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n" +
		"*4\r\n*3\r\n$1\r\nm\r\n$1\r\nb\r\n$1\r\n2\r\n*-1\r\n*-1\r\n-ERR timeout is negative\r\n")
	waitBlocked(t, ts, 0)
}

// TestBlockDisconnect checks that a waiter whose client went away is
// forgotten: the next member goes to the client behind it, or stays.
func TestBlockDisconnect(t *testing.T) {
	ts := start(t, nil)
	ws := parkClients(t, ts, "d", 2)
	gone, next := ws[0], ws[1]
	gone.nc.Close()
	waitBlocked(t, ts, 1)
	c := ts.dial(t)
	c.send(respCmd("ZADD", "d", "1", "a", "2", "b"))
	c.expect(":2\r\n")
	next.expect("*3\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\n1\r\n")

	alone := ts.dial(t)
	alone.send(respCmd("BZPOPMIN", "d2", "0"))
	waitBlocked(t, ts, 1)
	alone.nc.Close()
	waitBlocked(t, ts, 0)
	c.send(respCmd("ZADD", "d2", "1", "a") + respCmd("ZCARD", "d2") + respCmd("ZCARD", "d"))
	c.expect(":1\r\n:1\r\n:1\r\n")
}

// TestBlockClientUnblockAndKill checks CLIENT UNBLOCK in both forms and
// CLIENT KILL on a blocked client.
func TestBlockClientUnblockAndKill(t *testing.T) {
	ts := start(t, nil)
	admin := ts.dial(t)
	for _, tc := range []struct{ reason, want string }{
		{"", "*-1\r\n"},
		{"TIMEOUT", "*-1\r\n"},
		{"ERROR", "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"},
	} {
		b := ts.dial(t)
		id := b.clientID()
		b.send(respCmd("BZMPOP", "0", "2", "u1", "u2", "MIN"))
		waitBlocked(t, ts, 1)
		admin.send(respCmd("CLIENT", "LIST", "ID", id))
		admin.line() // the bulk string's length
		if l := admin.line(); !strings.Contains(l, " flags=b ") || !strings.Contains(l, " cmd=bzmpop ") {
			t.Fatalf("CLIENT LIST of a blocked client: got %q, want flags=b and cmd=bzmpop", l)
		}
		admin.line() // the bulk string's end
		args := []string{"CLIENT", "UNBLOCK", id}
		if tc.reason != "" {
			args = append(args, tc.reason)
		}
		admin.send(respCmd(args...))
		admin.expect(":1\r\n")
		b.expect(tc.want)
		admin.send(respCmd(args...))
		admin.expect(":0\r\n")
		// The client is served as usual afterwards.
		b.send(respCmd("PING"))
		b.expect("+PONG\r\n")
	}
	waitBlocked(t, ts, 0)

	victim := ts.dial(t)
	id := victim.clientID()
	victim.send(respCmd("BZPOPMIN", "kk", "0"))
	waitBlocked(t, ts, 1)
	admin.send(respCmd("CLIENT", "KILL", "ID", id))
	admin.expect(":1\r\n")
	victim.expectClosed()
	waitBlocked(t, ts, 0)
	admin.send(respCmd("ZADD", "kk", "1", "a") + respCmd("ZCARD", "kk"))
	admin.expect(":1\r\n:1\r\n")
}

// TestBlockShutdown checks that shutting down closes blocked clients at
// once, whatever their timeout.
func TestBlockShutdown(t *testing.T) {
	ts := start(t, nil)
	var cs []*client
	for i := range 3 {
		c := ts.dial(t)
		c.send(respCmd("BZPOPMIN", "s"+strconv.Itoa(i), "0"))
		cs = append(cs, c)
	}
	waitBlocked(t, ts, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with blocked clients: %v", err)
	}
	for _, c := range cs {
		c.expectClosed()
	}
}

// TestBlockHoldsNoCapacity parks more clients than the router admits
// commands at once, and checks that other clients are still served and
// that one write serves them all.
func TestBlockHoldsNoCapacity(t *testing.T) {
	ts := start(t, func(c *Config) {
		c.Router.RouterQueue = 4
		c.Router.ShardQueue = 4
	})
	const n = 20
	waiters := parkClients(t, ts, "cap", n)
	if got := ts.Router().InFlight(); got != 0 {
		t.Fatalf("router in flight with %d parked clients: got %d, want 0", n, got)
	}
	c := ts.dial(t)
	for i := range 10 {
		c.send(respCmd("SET", "k"+strconv.Itoa(i), "v") + respCmd("GET", "k"+strconv.Itoa(i)))
		c.expect("+OK\r\n$1\r\nv\r\n")
	}
	serveInOrder(t, c, "cap", waiters)
}

// TestBlockWrongTypeWaits checks Redis 7.0's behaviour for a key that
// becomes another type while clients wait on it: they wait on.
func TestBlockWrongTypeWaits(t *testing.T) {
	ts := start(t, nil)
	waiter := ts.dial(t)
	waiter.send(respCmd("BZPOPMIN", "w", "0"))
	waitBlocked(t, ts, 1)
	c := ts.dial(t)
	c.send(respCmd("SET", "w", "x") + respCmd("GET", "w"))
	c.expect("+OK\r\n$1\r\nx\r\n")
	if n := ts.blocked.Load(); n != 1 {
		t.Fatalf("blocked clients after the key became a string: got %d, want 1", n)
	}
	c.send(respCmd("DEL", "w") + respCmd("ZADD", "w", "3", "c"))
	c.expect(":1\r\n:1\r\n")
	waiter.expect("*3\r\n$1\r\nw\r\n$1\r\nc\r\n$1\r\n3\r\n")
}

// TestBlockPopPersists checks that a member popped for a waiter is logged
// as ZPOPMIN's would be: after a restart it is gone and the rest is there.
func TestBlockPopPersists(t *testing.T) {
	dir := t.TempDir()
	ts := startPersistent(t, dir, 2, nil)
	waiter := ts.dial(t)
	waiter.send(respCmd("BZPOPMIN", "pz", "0"))
	waitBlocked(t, ts, 1)
	c := ts.dial(t)
	c.send(respCmd("ZADD", "pz", "1", "a", "2", "b"))
	c.expect(":2\r\n")
	waiter.expect("*3\r\n$2\r\npz\r\n$1\r\na\r\n$1\r\n1\r\n")
	ts.stop(t)

	ts = startPersistent(t, dir, 2, nil)
	rc := newClient(t, ts, nil)
	got, err := rc.ZRange(context.Background(), "pz", 0, -1).Result()
	if err != nil || len(got) != 1 || got[0] != "b" {
		t.Fatalf("after restart: got %q %v, want [b]", got, err)
	}
}

// TestBlockIdleTimeout checks that --timeout does not close a blocked
// client, as in Redis, and applies again once it is answered.
func TestBlockIdleTimeout(t *testing.T) {
	ts := start(t, func(c *Config) { c.IdleTimeout = 100 * time.Millisecond })
	c := ts.dial(t)
	c.send(respCmd("BZPOPMIN", "idle", "0.3"))
	c.expect("*-1\r\n")
	c.send(respCmd("PING"))
	c.expect("+PONG\r\n")
	c.expectClosed()
}

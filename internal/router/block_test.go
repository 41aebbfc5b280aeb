package router

import (
	"strconv"
	"testing"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/shard"
)

// blockOut runs w's command through p as a connection does and returns
// whether it parked, and the reply when it did not.
func blockOut(p *Pipeline, w *shard.Waiter) (bool, string) {
	parked := p.Block(w)
	out := outString(p)
	p.Out().Reset()
	return parked, out
}

// TestBlockMoveAcrossShards checks a BLMOVE whose destination lives on
// another shard than its source: the source's shard wakes the waiter
// instead of serving it, and the retry holding both shards moves exactly
// one element, also when more were pushed, or parks again when another
// client took them first.
func TestBlockMoveAcrossShards(t *testing.T) {
	r := newRouter(t, func(c *Config) { c.Shards = 2 })
	src, dst := keyOn(t, r, 0, "src"), keyOn(t, r, 1, "dst")
	p, q := r.NewPipeline(busy), r.NewPipeline(busy)
	a := args("blmove", src, dst, "LEFT", "RIGHT", "0")
	w := shard.NewWaiter(command.Redis.Lookup(a[0]), a)
	if len(w.Watch) != 1 || string(w.Watch[0]) != src {
		t.Fatalf("watch: got %q, want [%s]", w.Watch, src)
	}
	woken := func() {
		t.Helper()
		b := wait(t, w.Reply.Done, "the wake-up")
		if got := string(b.W.Bytes()); got != "" || w.State() != shard.Woken {
			t.Fatalf("wake-up: got %q in state %d, want no reply in state %d", got, w.State(), shard.Woken)
		}
		w.Rewait()
	}
	if parked, out := blockOut(p, w); !parked {
		t.Fatalf("BLMOVE on an empty source: got %q, want parked", out)
	}
	// A push wakes it; a second one comes before the retry.
	if got := do(q, command.Redis, "rpush", src, "a"); got != ":1\r\n" {
		t.Fatalf("RPUSH: got %q", got)
	}
	woken()
	if got := do(q, command.Redis, "rpush", src, "b"); got != ":2\r\n" {
		t.Fatalf("RPUSH: got %q", got)
	}
	if parked, out := blockOut(p, w); parked || out != "$1\r\na\r\n" {
		t.Fatalf("retry: got %q (parked %v), want a", out, parked)
	}
	for _, tc := range []struct{ key, want string }{{src, "*1\r\n$1\r\nb\r\n"}, {dst, "*1\r\n$1\r\na\r\n"}} {
		if got := do(q, command.Redis, "lrange", tc.key, "0", "-1"); got != tc.want {
			t.Fatalf("LRANGE %s: got %q, want %q", tc.key, got, tc.want)
		}
	}

	// Woken, but another client pops the element first: it parks again,
	// and the next push is moved.
	do(q, command.Redis, "del", src, dst)
	w = shard.NewWaiter(w.Spec, a)
	if parked, out := blockOut(p, w); !parked {
		t.Fatalf("BLMOVE on an empty source: got %q, want parked", out)
	}
	do(q, command.Redis, "rpush", src, "c")
	woken()
	if got := do(q, command.Redis, "lpop", src); got != "$1\r\nc\r\n" {
		t.Fatalf("LPOP: got %q, want c", got)
	}
	if parked, out := blockOut(p, w); !parked {
		t.Fatalf("retry on an emptied source: got %q, want parked", out)
	}
	do(q, command.Redis, "rpush", src, "d")
	woken()
	if parked, out := blockOut(p, w); parked || out != "$1\r\nd\r\n" {
		t.Fatalf("retry: got %q (parked %v), want d", out, parked)
	}
	if got := do(q, command.Redis, "lrange", dst, "0", "-1"); got != "*1\r\n$1\r\nd\r\n" {
		t.Fatalf("LRANGE %s: got %q, want [d]", dst, got)
	}
}

// TestBlockMoveSameShard checks that a BLMOVE whose keys share a shard is
// served by it directly, and that its push serves the clients waiting on
// the destination.
func TestBlockMoveSameShard(t *testing.T) {
	r := newRouter(t, func(c *Config) { c.Shards = 2 })
	src, dst := keyOn(t, r, 1, "src"), keyOn(t, r, 1, "dst")
	p, p2, q := r.NewPipeline(busy), r.NewPipeline(busy), r.NewPipeline(busy)
	a := args("brpoplpush", src, dst, "0")
	w := shard.NewWaiter(command.Redis.Lookup(a[0]), a)
	b := args("blpop", dst, "0")
	w2 := shard.NewWaiter(command.Redis.Lookup(b[0]), b)
	for _, tc := range []struct {
		p *Pipeline
		w *shard.Waiter
	}{{p, w}, {p2, w2}} {
		if parked, out := blockOut(tc.p, tc.w); !parked {
			t.Fatalf("%s: got %q, want parked", tc.w.Args[0], out)
		}
	}
	do(q, command.Redis, "rpush", src, "x", "y")
	for _, tc := range []struct {
		w    *shard.Waiter
		want string
	}{{w, "$1\r\ny\r\n"}, {w2, "*2\r\n$" + strconv.Itoa(len(dst)) + "\r\n" + dst + "\r\n$1\r\ny\r\n"}} {
		b := wait(t, tc.w.Reply.Done, "the reply")
		if got := string(b.W.Bytes()); got != tc.want || tc.w.State() != shard.Served {
			t.Fatalf("%s: got %q in state %d, want %q served", tc.w.Args[0], got, tc.w.State(), tc.want)
		}
	}
	if got := do(q, command.Redis, "lrange", src, "0", "-1") + do(q, command.Redis, "exists", dst); got != "*1\r\n$1\r\nx\r\n:0\r\n" {
		t.Fatalf("after: got %q, want [x] and no destination", got)
	}
}

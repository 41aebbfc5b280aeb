package command

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/ring"
	"github.com/data-cluster/data-cluster/internal/storage/memory"
)

// harness runs commands of the Redis table against a few in-memory shards,
// holding them all as a cross-shard command does, and returns the raw
// replies.
type harness struct {
	t    *testing.T
	dbs  []*keyspace.DB
	ring *ring.Ring
	now  int64
	w    resp.Writer
	ctx  Ctx
}

func newHarness(t *testing.T, shards int) *harness {
	t.Helper()
	r, err := ring.New(shards, 64)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, ring: r, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()}
	for range shards {
		h.dbs = append(h.dbs, keyspace.New(memory.New()))
	}
	return h
}

// proto sets the RESP version of the replies.
func (h *harness) proto(v int) { h.w.SetProto(v) }

// advance moves the clock forward.
func (h *harness) advance(d time.Duration) { h.now += d.Milliseconds() }

// do runs one command and returns its reply as RESP text, applying the
// server's checks for unknown commands and arity first.
func (h *harness) do(args ...string) string {
	h.t.Helper()
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	spec := Redis.Lookup(argv[0])
	if spec == nil {
		return "-ERR unknown command\r\n"
	}
	if spec.Kind == Conn {
		h.t.Fatalf("%s is a connection command", args[0])
	}
	if !spec.ArityOK(len(argv)) {
		return "-ERR wrong number of arguments for '" + spec.Name + "' command\r\n"
	}
	for _, db := range h.dbs {
		db.SetNow(h.now)
	}
	h.w.Reset()
	h.ctx.W = &h.w
	h.ctx.Held(h.dbs, h.ring)
	spec.Run(&h.ctx, argv)
	return string(h.w.Bytes())
}

// serve runs the Serve of a blocking command waiting on key, as its shard
// does after a write to key, and returns its reply: "" when the client
// waits on.
func (h *harness) serve(key string, args ...string) string {
	h.t.Helper()
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	spec := Redis.Lookup(argv[0])
	if spec == nil || spec.Block == nil {
		h.t.Fatalf("%s is not a blocking command", args[0])
	}
	for _, db := range h.dbs {
		db.SetNow(h.now)
	}
	h.w.Reset()
	h.ctx.W = &h.w
	h.ctx.Held(h.dbs, h.ring)
	if !spec.Block.Serve(&h.ctx, argv, []byte(key)) {
		return ""
	}
	return string(h.w.Bytes())
}

// check runs each case in order and compares replies.
func (h *harness) check(cases []step) {
	h.t.Helper()
	for _, c := range cases {
		if got := h.do(c.args...); got != c.want {
			h.t.Errorf("%q: got %q, want %q", c.args, got, c.want)
		}
	}
}

// step is one command and the reply it must get.
type step struct {
	args []string
	want string
}

func TestLineTable(t *testing.T) {
	for name, s := range Line {
		if s.Run == nil || s.Name != name {
			t.Errorf("line command %q: incomplete spec", name)
		}
	}
}

func TestRedisTable(t *testing.T) {
	for name, s := range Redis {
		if s.Name != name {
			t.Errorf("%q: name %q", name, s.Name)
		}
		if s.Kind != Conn && s.Run == nil {
			t.Errorf("%q: no handler", name)
		}
		if s.Kind == Cursor && s.Shard == nil {
			t.Errorf("%q: cursor command without Shard", name)
		}
		if s.Arity == 0 {
			t.Errorf("%q: arity 0", name)
		}
	}
}

// noPanic runs n commands of specs with up to maxArgs arguments drawn from
// words, calling every, when not nil, before each 500th: each must reply,
// never panic. seed is reported on failure.
func (h *harness) noPanic(r *rand.Rand, seed uint64, specs []*Spec, words []string, n, maxArgs int, every func()) {
	h.t.Helper()
	for i := range n {
		if every != nil && i%500 == 0 {
			every()
		}
		spec := specs[r.IntN(len(specs))]
		args := []string{spec.Name}
		for range r.IntN(maxArgs + 1) {
			args = append(args, words[r.IntN(len(words))])
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					h.t.Fatalf("seed %d command %d %q: panic %v", seed, i, args, p)
				}
			}()
			if got := h.do(args...); got == "" {
				h.t.Fatalf("seed %d command %d %q: no reply", seed, i, args)
			}
		}()
	}
}

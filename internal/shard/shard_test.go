package shard

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/ring"
	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/storage/arena"
	"github.com/data-cluster/data-cluster/internal/storage/memory"
)

func newShard(t *testing.T, queue int) *Shard {
	t.Helper()
	return newShardOn(t, queue, memory.New())
}

func newShardOn(t *testing.T, queue int, e storage.Engine) *Shard {
	t.Helper()
	r, err := ring.New(1, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.QueueSize = queue
	cfg.ExpireInterval = 10 * time.Millisecond
	s, err := New(0, e, r, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return s
}

func cmd(name string, args ...string) Cmd {
	argv := [][]byte{[]byte(name)}
	for _, a := range args {
		argv = append(argv, []byte(a))
	}
	return Cmd{Spec: command.Line.Lookup([]byte(name)), Args: argv}
}

// send reserves, submits and waits for one batch, returning each reply.
func send(t *testing.T, s *Shard, cmds ...Cmd) []string {
	t.Helper()
	if got := s.Reserve(len(cmds)); got != len(cmds) {
		t.Fatalf("Reserve(%d) = %d", len(cmds), got)
	}
	done := make(chan *Batch, 1)
	b := &Batch{Cmds: cmds, Done: done}
	s.Submit(b)
	<-done
	var out []string
	start := 0
	for _, end := range b.Ends {
		out = append(out, string(b.W.Bytes()[start:end]))
		start = end
	}
	return out
}

func TestShardRunsInOrder(t *testing.T) {
	s := newShard(t, 16)
	got := send(t, s, cmd("SET", "a", "1"), cmd("GET", "a"), cmd("DELETE", "a"), cmd("GET", "a"), cmd("LIST"))
	want := []string{"OK\n", "1\n", "OK\n", "ERR key not found\n", "\n"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("reply %d: got %q, want %q", i, got[i], want[i])
		}
	}
	if s.Keys() != 0 || s.Pending() != 0 {
		t.Fatalf("keys %d pending %d after the batch, want 0 and 0", s.Keys(), s.Pending())
	}
}

func TestReserve(t *testing.T) {
	s := newShard(t, 4)
	tests := []struct{ ask, want int }{{3, 3}, {3, 1}, {1, 0}}
	for _, tt := range tests {
		if got := s.Reserve(tt.ask); got != tt.want {
			t.Fatalf("Reserve(%d) = %d, want %d", tt.ask, got, tt.want)
		}
	}
	s.Unreserve(4)
	if got := s.Reserve(4); got != 4 {
		t.Fatalf("Reserve after Unreserve = %d, want 4", got)
	}
}

func TestHold(t *testing.T) {
	s := newShard(t, 4)
	send(t, s, cmd("SET", "k", "v"))
	done := make(chan *Batch, 1)
	rel := make(chan struct{})
	s.Reserve(1)
	s.Submit(&Batch{Done: done, Release: rel})
	<-done
	// The shard is ours: its keyspace can be used directly.
	if v, ok := s.DB().Get([]byte("k")); !ok || string(v) != "v" {
		t.Fatalf("held keyspace: got %q %v", v, ok)
	}
	// A batch sent meanwhile waits until release.
	s.Reserve(1)
	other := make(chan *Batch, 1)
	s.Submit(&Batch{Cmds: []Cmd{cmd("GET", "k")}, Done: other})
	select {
	case <-other:
		t.Fatal("a batch ran while the shard was held")
	case <-time.After(50 * time.Millisecond):
	}
	rel <- struct{}{}
	if b := <-other; string(b.W.Bytes()) != "v\n" {
		t.Fatalf("got %q after release", b.W.Bytes())
	}
}

// TestGroupKeepsOrder queues batches and hold requests behind a held shard,
// so that the shard finds them all waiting when released: it runs the
// command batches as one group, and a hold request ends the group, so that
// what was queued after it runs only once it is released.
func TestGroupKeepsOrder(t *testing.T) {
	s := newShardOn(t, 16, arena.New())
	hold := func() (chan *Batch, chan struct{}) {
		done := make(chan *Batch, 1)
		rel := make(chan struct{})
		s.Reserve(1)
		s.Submit(&Batch{Done: done, Release: rel})
		return done, rel
	}
	submit := func(done chan *Batch, cmds ...Cmd) *Batch {
		s.Reserve(len(cmds))
		b := &Batch{Cmds: cmds, Done: done}
		s.Submit(b)
		return b
	}
	done1, rel1 := hold()
	<-done1

	replies := make(chan *Batch, 3)
	a := submit(replies, cmd("SET", "k", "1"), cmd("SET", "j", "x"))
	b := submit(replies, cmd("GET", "k"), cmd("SET", "k", "2"), cmd("GET", "nope"))
	done2, rel2 := hold()
	c := submit(replies, cmd("GET", "k"))
	rel1 <- struct{}{}

	for _, want := range []*Batch{a, b} {
		select {
		case got := <-replies:
			if got != want {
				t.Fatal("batches answered out of order")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a queued batch was not answered")
		}
	}
	if got := string(b.W.Bytes()); got != "1\nOK\nERR key not found\n" {
		t.Fatalf("second batch replied %q", got)
	}
	select {
	case <-done2:
	case <-time.After(10 * time.Second):
		t.Fatal("the second hold was not granted")
	}
	select {
	case <-replies:
		t.Fatal("a batch queued after a hold request ran before it was released")
	default:
	}
	if v, ok := s.DB().Get([]byte("k")); !ok || string(v) != "2" {
		t.Fatalf("held keyspace: k = %q %v, want 2", v, ok)
	}
	s.DB().Set([]byte("k"), []byte("3"), storage.NoExpiry)
	rel2 <- struct{}{}
	select {
	case got := <-replies:
		if got != c || string(c.W.Bytes()) != "3\n" {
			t.Fatalf("last batch replied %q", c.W.Bytes())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the batch after the second hold was not answered")
	}
	if s.Pending() != 0 {
		t.Fatalf("pending %d, want 0", s.Pending())
	}
}

// TestCollectionPrefetch checks that batches whose commands are read ahead
// in collections (command.Spec.Elem) answer as without: members present
// and absent in a set and a hash past their listpack limits, added and
// removed within the batch, and commands on keys of another type or
// absent.
func TestCollectionPrefetch(t *testing.T) {
	s := newShardOn(t, 64, arena.New())
	fill := []Cmd{redisCmd("SET", "str", "v")}
	for i := range 300 {
		m := "m" + strconv.Itoa(i)
		fill = append(fill, redisCmd("SADD", "set", m), redisCmd("HSET", "hash", m, strconv.Itoa(i)))
	}
	for len(fill) > 0 {
		n := min(len(fill), 64)
		send(t, s, fill[:n]...)
		fill = fill[n:]
	}
	got := send(t, s,
		redisCmd("SADD", "set", "m1"), redisCmd("SISMEMBER", "set", "m299"), redisCmd("SISMEMBER", "set", "x"),
		redisCmd("SADD", "set", "new", "m2"), redisCmd("SREM", "set", "m3"), redisCmd("SISMEMBER", "set", "m3"),
		redisCmd("HGET", "hash", "m7"), redisCmd("HSET", "hash", "m7", "seven"), redisCmd("HGET", "hash", "m7"),
		redisCmd("HGET", "hash", "nope"), redisCmd("HDEL", "hash", "m8"), redisCmd("HEXISTS", "hash", "m8"),
		redisCmd("SADD", "str", "m1"), redisCmd("HGET", "set", "m1"), redisCmd("SISMEMBER", "absent", "m1"),
		redisCmd("HMGET", "hash", "m9", "nope"), redisCmd("SADD", "set", "m4"))
	want := []string{
		":0\r\n", ":1\r\n", ":0\r\n",
		":1\r\n", ":1\r\n", ":0\r\n",
		"$1\r\n7\r\n", ":0\r\n", "$5\r\nseven\r\n",
		"$-1\r\n", ":1\r\n", ":0\r\n",
		"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
		"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", ":0\r\n",
		"*2\r\n$1\r\n9\r\n$-1\r\n", ":0\r\n",
	}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("reply %d: got %q, want %q", i, got[i], want[i])
		}
	}
}

// badPrefetch is an engine whose reading ahead panics.
type badPrefetch struct{ *memory.Engine }

func (badPrefetch) Prefetch([][]byte)                   { panic("prefetch") }
func (badPrefetch) PrefetchCollection([]byte, [][]byte) { panic("prefetch") }

// TestPrefetchPanicRecovered checks that a panic while reading ahead leaves
// the shard running the batch as if nothing had been read ahead.
func TestPrefetchPanicRecovered(t *testing.T) {
	s := newShardOn(t, 16, badPrefetch{memory.New()})
	got := send(t, s, cmd("SET", "a", "1"), cmd("GET", "a"), cmd("GET", "b"))
	want := []string{"OK\n", "1\n", "ERR key not found\n"}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Fatalf("replies %q, want %q", got, want)
		}
	}
	got = send(t, s, redisCmd("SADD", "s", "a"), redisCmd("SADD", "s", "a"), redisCmd("SISMEMBER", "s", "a"))
	want = []string{":1\r\n", ":0\r\n", ":1\r\n"}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Fatalf("replies %q, want %q", got, want)
		}
	}
}

// TestPanicRecovered checks that a panicking handler answers with an error
// and the shard goes on.
func TestPanicRecovered(t *testing.T) {
	s := newShard(t, 4)
	boom := &command.Spec{Name: "boom", Run: func(c *command.Ctx, _ [][]byte) {
		c.W.AppendRaw([]byte("partial"))
		panic("boom")
	}}
	got := send(t, s, Cmd{Spec: boom, Args: [][]byte{[]byte("boom")}}, cmd("SET", "a", "1"))
	if want := "-ERR internal error while running 'boom'\r\n"; got[0] != want {
		t.Fatalf("got %q, want %q", got[0], want)
	}
	if got[1] != "OK\n" {
		t.Fatalf("the next command: got %q", got[1])
	}
}

func BenchmarkBatch(b *testing.B) {
	for _, n := range []int{1, 16, 64} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			r, _ := ring.New(1, 1)
			s, _ := New(0, memory.New(), r, DefaultConfig())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go s.Run(ctx)
			cmds := make([]Cmd, n)
			for i := range cmds {
				cmds[i] = cmd("SET", "key"+strconv.Itoa(i), "value")
			}
			done := make(chan *Batch, 1)
			bt := &Batch{Done: done}
			b.ReportAllocs()
			for b.Loop() {
				bt.Reset()
				bt.Cmds = append(bt.Cmds, cmds...)
				s.Reserve(n)
				s.Submit(bt)
				<-done
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/cmd")
		})
	}
}

// serveNow reserves room for b's commands and runs b with TryServe, or
// submits it when TryServe declines; it returns b once it is back, and
// whether it ran on this goroutine.
func serveNow(t *testing.T, s *Shard, b *Batch) (*Batch, bool) {
	t.Helper()
	if got := s.Reserve(len(b.Cmds)); got != len(b.Cmds) {
		t.Fatalf("Reserve(%d) = %d", len(b.Cmds), got)
	}
	now := s.TryServe(b)
	if !now {
		s.Submit(b)
	}
	return <-b.Done, now
}

// A batch runs on its sender's goroutine only while the shard is idle:
// not while a holder has it, not when it runs a script or a blocking
// command; and what it does is what the shard's goroutine would do.
func TestTryServe(t *testing.T) {
	s := newShard(t, 16)
	b := &Batch{Cmds: []Cmd{cmd("SET", "a", "1"), cmd("GET", "a")}, Done: make(chan *Batch, 1)}
	ran := false
	// Each try that finds the shard busy runs through its queue; the next
	// finds it idle once its goroutine is back waiting for the queue.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); runtime.Gosched() {
		b.Reset()
		b.Cmds = append(b.Cmds, cmd("SET", "a", "1"), cmd("GET", "a"))
		if _, ran = serveNow(t, s, b); ran {
			break
		}
	}
	if !ran {
		t.Fatal("an idle shard never ran a batch on its sender's goroutine")
	}
	if got := string(b.W.Bytes()); got != "OK\n1\n" || len(b.Ends) != 2 {
		t.Fatalf("replies %q, ends %v", got, b.Ends)
	}
	if n := s.Pending(); n != 0 {
		t.Fatalf("%d commands still counted pending", n)
	}

	// Held: the batch waits for the release.
	held := make(chan *Batch, 1)
	rel := make(chan struct{})
	s.Reserve(1)
	s.Submit(&Batch{Done: held, Release: rel})
	<-held
	s.Reserve(1)
	b = &Batch{Cmds: []Cmd{cmd("GET", "a")}, Done: make(chan *Batch, 1)}
	if s.TryServe(b) {
		t.Fatal("a batch ran while a holder had the shard")
	}
	s.Submit(b)
	close(rel)
	if got := string((<-b.Done).W.Bytes()); got != "1\n" {
		t.Fatalf("after the release: %q", got)
	}

	// Scripts and blocking commands go through the queue.
	for _, b := range []*Batch{
		{Cmds: []Cmd{cmd("GET", "a")}, Long: true},
		{Cmds: []Cmd{{Spec: command.Redis.Lookup([]byte("blpop")), Args: [][]byte{[]byte("BLPOP"), []byte("l"), []byte("0")}, Wait: &Waiter{}}}},
	} {
		b.Done = make(chan *Batch, 1)
		if s.TryServe(b) {
			t.Fatalf("%q ran on its sender's goroutine", b.Cmds[0].Args[0])
		}
	}
}

// Senders run batches on their own goroutines while others go through
// the queue and the shard's goroutine expires keys: every increment is
// counted once, and the race detector sees one goroutine at a time on
// the keyspace.
func TestTryServeConcurrent(t *testing.T) {
	s := newShardOn(t, 64, arena.New())
	redis := func(args ...string) Cmd {
		argv := make([][]byte, len(args))
		for i, a := range args {
			argv[i] = []byte(a)
		}
		return Cmd{Spec: command.Redis.Lookup(argv[0]), Args: argv}
	}
	const senders, each = 4, 300
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		now int
	)
	for i := range senders {
		wg.Go(func() {
			b := &Batch{Done: make(chan *Batch, 1)}
			for j := range each {
				b.Reset()
				b.Cmds = append(b.Cmds, redis("INCR", "n"),
					redis("SET", "tmp:"+strconv.Itoa(i)+":"+strconv.Itoa(j), "v", "PX", "1"))
				if _, ran := serveNow(t, s, b); ran {
					mu.Lock()
					now++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	b := &Batch{Cmds: []Cmd{redis("GET", "n")}, Done: make(chan *Batch, 1)}
	serveNow(t, s, b)
	if got, want := string(b.W.Bytes()), "$4\r\n"+strconv.Itoa(senders*each)+"\r\n"; got != want {
		t.Fatalf("GET n: %q, want %q", got, want)
	}
	if now == 0 {
		t.Fatal("no batch ran on its sender's goroutine")
	}
	t.Logf("%d of %d batches ran on their senders' goroutines", now, senders*each)
}

// TryHold takes an idle shard on the caller's goroutine, as a hold request
// takes it through the queue: nothing else runs on it until Unhold, which
// publishes what the holder changed; it declines while a holder has the
// shard.
func TestTryHold(t *testing.T) {
	s := newShard(t, 16)
	b := &Batch{Cmds: []Cmd{cmd("SET", "a", "1")}, Done: make(chan *Batch, 1)}
	serveNow(t, s, b)
	hold := func() {
		t.Helper()
		// The shard is idle once its goroutine waits for its queue,
		// which a busy machine may take a while to reach.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); runtime.Gosched() {
			s.Reserve(1)
			if s.TryHold() {
				return
			}
			s.Unreserve(1)
		}
		t.Fatal("an idle shard was never held on its caller's goroutine")
	}
	hold()
	s.DB().Set([]byte("b"), []byte("3"), 0)
	s.Unhold()
	if n := s.Keys(); n != 2 {
		t.Fatalf("%d keys published after Unhold, want 2", n)
	}
	// A batch sent while the shard is held waits: it reads what the
	// holder wrote.
	hold()
	b = &Batch{Cmds: []Cmd{cmd("GET", "a")}, Done: make(chan *Batch, 1)}
	if ran := s.Reserve(1) == 1 && s.TryServe(b); ran {
		t.Fatal("a batch ran while the shard was held")
	}
	s.Submit(b)
	s.DB().Set([]byte("a"), []byte("2"), 0)
	if s.TryHold() {
		t.Fatal("a held shard was held again")
	}
	s.Unhold()
	if got := string((<-b.Done).W.Bytes()); got != "2\n" {
		t.Fatalf("GET a after the holder wrote 2: %q", got)
	}
	if n := s.Pending(); n != 0 {
		t.Fatalf("%d commands still counted pending", n)
	}
	// While a hold request has the shard, TryHold declines.
	rel := make(chan struct{})
	s.Reserve(1)
	hb := &Batch{Done: make(chan *Batch, 1), Release: rel}
	s.Submit(hb)
	<-hb.Done // held
	s.Reserve(1)
	if s.TryHold() {
		t.Fatal("TryHold took a shard a hold request had")
	}
	s.Unreserve(1)
	close(rel)
}

package cluster

import (
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/data-cluster/data-cluster/internal/binread"
	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/storage/arena"
)

// pauseLeader stops replica l's goroutine in its next send of a message,
// and returns once it is stopped, with the function that lets it go on.
func pauseLeader(t *testing.T, tg *testGroup, l uint64) (resume func()) {
	t.Helper()
	stopped, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	tg.net.mu.Lock()
	tg.net.watch = func(from, _ uint64, _ *raftpb.Message) {
		if from != l {
			return
		}
		once.Do(func() {
			close(stopped)
			<-release
		})
	}
	tg.net.mu.Unlock()
	<-stopped
	return func() {
		tg.net.mu.Lock()
		tg.net.watch = nil
		tg.net.mu.Unlock()
		close(release)
	}
}

// entryKinds returns the kinds of the command entries replica id logged,
// with the number of writes in each: 1 for entryCommands, n for an
// entryBatch of n.
func entryKinds(tg *testGroup, id uint64) []string {
	var kinds []string
	for _, e := range tg.stores[id].State().Entries {
		data := e.GetData()
		if e.GetType() != raftpb.EntryNormal || len(data) == 0 {
			continue
		}
		switch data[0] {
		case entryCommands:
			kinds = append(kinds, "commands")
		case entryBatch:
			d := binread.Reader{B: data[1:]}
			kinds = append(kinds, fmt.Sprintf("batch(%d)", d.Uvarint()))
		}
	}
	return kinds
}

// The writes a leader takes in one turn of its loop are proposed as one
// entry (or as several of at most maxBatchBytes), and each is answered
// with its own replies, in order, on every replica alike.
func TestGroupBatchesWrites(t *testing.T) {
	big := strings.Repeat("v", 100<<10)
	for _, tc := range []struct {
		name  string
		n     int
		value string
		want  []string
	}{
		{"one", 1, "x", []string{"commands"}},
		{"many", 50, "x", []string{"batch(50)"}},
		// Two 100 KiB writes fit in maxBatchBytes, three do not.
		{"large", 5, big, []string{"batch(2)", "batch(2)", "commands"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := newTestGroup(t, nil)
			l := tg.leader()
			tg.mustDo(l, Write, "SET", "warm", "up") // the leader's first entries are behind it
			before := len(entryKinds(tg, l))
			resume := pauseLeader(t, tg, l)
			type result struct {
				reply string
				err   error
			}
			results := make([]chan result, tc.n)
			for i := range tc.n {
				results[i] = make(chan result, 1)
				cmds := [][][]byte{
					{[]byte("INCR"), []byte("n")},
					{[]byte("SET"), []byte(fmt.Sprintf("k%d", i)), []byte(tc.value)},
				}
				ch := results[i]
				tg.reps[l].Submit(&Request{Cmds: cmds, Proto: 2, Mode: Write,
					Done: func(reply []byte, _ []int, err error) { ch <- result{string(reply), err} }})
			}
			resume()
			for i, ch := range results {
				r := <-ch
				if want := fmt.Sprintf(":%d\r\n+OK\r\n", i+1); r.err != nil || r.reply != want {
					t.Fatalf("write %d: got %q, %v, want %q", i, r.reply, r.err, want)
				}
			}
			if got := entryKinds(tg, l)[before:]; fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("entries logged: got %v, want %v", got, tc.want)
			}
			for id := range tg.reps {
				eventually(t, fmt.Sprintf("replica %d to apply every write", id), func() bool {
					r, _ := tg.do(id, Stale, "GET", "n")
					return r == fmt.Sprintf("$%d\r\n%d\r\n", len(fmt.Sprint(tc.n)), tc.n)
				})
				last := fmt.Sprintf("k%d", tc.n-1)
				if r, _ := tg.do(id, Stale, "STRLEN", last); r != fmt.Sprintf(":%d\r\n", len(tc.value)) {
					t.Fatalf("replica %d: STRLEN %s: got %q, want %d", id, last, r, len(tc.value))
				}
			}
		})
	}
}

// packBatch sizes entries without encoding them: the sizes must be the
// encodings' lengths, across the lengths where a uvarint grows.
func TestCommandsSize(t *testing.T) {
	g := &Group{}
	for _, n := range []int{0, 1, 127, 128, 16383, 16384, 1 << 21} {
		cmds := [][][]byte{{[]byte("SET"), []byte("k"), make([]byte, n)}, {[]byte("INCR"), make([]byte, n/2)}}
		data := g.appendEntry(nil, &Request{}, entryCommands, 1, time.Now(), cmds)
		if got, want := entryHeader+commandsSize(cmds), len(data); got != want {
			t.Fatalf("argument of %d bytes: got %d, want %d", n, got, want)
		}
		if got, want := uvarintLen(uint64(n)), len(binary.AppendUvarint(nil, uint64(n))); got != want {
			t.Fatalf("uvarintLen(%d): got %d, want %d", n, got, want)
		}
	}
}

// While every follower has its one append in flight, a leader keeps the
// writes it takes in its queue instead of proposing each alone: they go as
// one entry once a follower can take an append. A write taken while a
// follower can take one is proposed at once.
func TestGroupHoldsWritesWhileFollowersBusy(t *testing.T) {
	tg := newTestGroup(t, nil)
	l := tg.leader()
	tg.mustDo(l, Write, "SET", "warm", "up")
	g := tg.reps[l]
	// idle runs fn on the leader's state while its goroutine waits for
	// work, as a client's read does (TryRead).
	idle := func(fn func()) {
		eventually(t, "the leader's goroutine to wait for work", g.own.TryLock)
		defer g.own.Unlock()
		fn()
	}
	type result struct {
		reply string
		err   error
	}
	write := func(key string) (*Request, chan result) {
		ch := make(chan result, 1)
		return &Request{Cmds: [][][]byte{{[]byte("SET"), []byte(key), []byte("v")}}, Proto: 2, Mode: Write,
			Done: func(reply []byte, _ []int, err error) { ch <- result{string(reply), err} }}, ch
	}
	wait := func(ch chan result) {
		t.Helper()
		if r := <-ch; r.err != nil || r.reply != "+OK\r\n" {
			t.Fatalf("SET: %q, %v", r.reply, r.err)
		}
	}

	// The followers' answers are lost: each keeps its one append in flight.
	tg.net.mu.Lock()
	tg.net.drop = func(_, to uint64, m *raftpb.Message) bool {
		return to == l && m.GetType() == raftpb.MsgAppResp
	}
	tg.net.mu.Unlock()
	r1, first := write("a")
	g.Submit(r1)
	before := -1
	var held []chan result
	eventually(t, "three writes held while every follower has an append in flight", func() bool {
		idle(func() {
			if g.canSend() {
				return // no answer yet for a heartbeat's append
			}
			before = len(entryKinds(tg, l))
			for i := range 3 {
				r, ch := write(fmt.Sprintf("k%d", i))
				g.take(r)
				g.proposeWhenSent()
				held = append(held, ch)
			}
			if len(g.queue) != 3 {
				t.Fatalf("%d writes queued while no follower could take an append, want 3", len(g.queue))
			}
		})
		return len(held) > 0
	})
	if got := entryKinds(tg, l)[before:]; len(got) != 0 {
		t.Fatalf("entries proposed while no follower could take them: %v", got)
	}
	tg.net.mu.Lock()
	tg.net.drop = nil
	tg.net.mu.Unlock()
	wait(first)
	for _, ch := range held {
		wait(ch)
	}
	if got := entryKinds(tg, l)[before:]; fmt.Sprint(got) != "[batch(3)]" {
		t.Fatalf("entries logged for the held writes: %v, want [batch(3)]", got)
	}

	// A follower free to take an append: proposed at once.
	var last chan result
	eventually(t, "a write proposed at once", func() bool {
		done := false
		idle(func() {
			if !g.canSend() {
				return
			}
			r, ch := write("b")
			g.take(r)
			g.proposeWhenSent()
			if len(g.queue) != 0 {
				t.Fatalf("a write stayed queued while a follower could take an append")
			}
			last, done = ch, true
		})
		return done
	})
	wait(last)
}

// prefetchLog is an engine that records the keys each replica's keyspace
// is asked to read ahead.
type prefetchLog struct {
	engine
	mu   *sync.Mutex
	seen *[]string
}

func (e prefetchLog) Prefetch(keys [][]byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ks []string
	for _, k := range keys {
		ks = append(ks, string(k))
	}
	*e.seen = append(*e.seen, strings.Join(ks, " "))
	if p, ok := e.engine.(storage.Prefetcher); ok {
		p.Prefetch(keys)
	}
}

// The writes of a batch entry have their keys read ahead together on
// every replica before they apply, as a pipeline's commands do.
func TestGroupReadsBatchAhead(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []string
	)
	defer func(old func() engine) { newEngine = old }(newEngine)
	newEngine = func() engine { return prefetchLog{engine: arena.New(), mu: &mu, seen: &seen} }
	tg := newTestGroup(t, nil)
	l := tg.leader()
	tg.mustDo(l, Write, "SET", "warm", "up")
	resume := pauseLeader(t, tg, l)
	var dones []chan error
	for i := range 5 {
		done := make(chan error, 1)
		tg.reps[l].Submit(&Request{Cmds: [][][]byte{{[]byte("SET"), []byte(fmt.Sprintf("k%d", i)), []byte("v")}},
			Proto: 2, Mode: Write, Done: func(_ []byte, _ []int, err error) { done <- err }})
		dones = append(dones, done)
	}
	resume()
	for _, done := range dones {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if got := entryKinds(tg, l); got[len(got)-1] != "batch(5)" {
		t.Fatalf("entries logged: %v, want the writes in one batch(5)", got)
	}
	eventually(t, "every replica to read the batch's keys ahead", func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, s := range seen {
			if s == "k0 k1 k2 k3 k4" {
				n++
			}
		}
		return n == 3
	})
}

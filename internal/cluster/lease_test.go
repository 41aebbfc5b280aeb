package cluster

import (
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

// A leader with a lease serves reads without a ReadIndex round each; with
// leases off, every read waits for one.
func TestGroupLeaseReads(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(map[bool]string{true: "on", false: "off"}[on], func(t *testing.T) {
			tg := newTestGroup(t, func(c *GroupConfig) { c.ReadLease = on })
			l := tg.leader()
			tg.mustDo(l, Write, "SET", "k", "v")
			st := tg.reps[l].Stats()
			if on {
				tg.awaitLease(l)
			}
			for range 100 {
				if got := tg.mustDo(l, Read, "GET", "k"); got != "$1\r\nv\r\n" {
					t.Fatalf("GET: got %q, want v", got)
				}
			}
			reads, rounds, leased := st.Reads.Load(), st.ReadRounds.Load(), st.LeaseReads.Load()
			if on && leased == 0 {
				t.Fatalf("no read of %d served under the lease (%d rounds)", reads, rounds)
			}
			if !on && (leased != 0 || rounds < reads) {
				t.Fatalf("leases off: got %d reads under a lease and %d rounds for %d reads, want 0 and at least %d",
					leased, rounds, reads, reads)
			}
		})
	}
}

// awaitLease reads k on replica l until a read is served under its lease.
func (tg *testGroup) awaitLease(l uint64) {
	tg.t.Helper()
	st := tg.reps[l].Stats()
	eventually(tg.t, "a read under the lease", func() bool {
		n := st.LeaseReads.Load()
		tg.mustDo(l, Read, "GET", "k")
		return st.LeaseReads.Load() > n
	})
}

// pausingStorage is a MemStorage whose Save can be made to block, which
// stops its replica's goroutine as a paused process would be.
type pausingStorage struct {
	*MemStorage
	mu     sync.Mutex
	hold   chan struct{} // when not nil, the next Save waits until it is closed
	paused chan struct{} // gets a value when a Save starts waiting
}

func (s *pausingStorage) Save(hs *raftpb.HardState, ents []*raftpb.Entry, sync bool) error {
	s.mu.Lock()
	hold := s.hold
	s.hold = nil
	s.mu.Unlock()
	if hold != nil {
		s.paused <- struct{}{}
		<-hold
	}
	return s.MemStorage.Save(hs, ents, sync)
}

// pause makes the next Save wait until the returned function is called,
// and waits until it does.
func (s *pausingStorage) pause() (resume func()) {
	hold := make(chan struct{})
	s.mu.Lock()
	s.hold = hold
	s.mu.Unlock()
	<-s.paused
	var once sync.Once
	return func() { once.Do(func() { close(hold) }) }
}

// newPausingGroup returns a group with read leases whose replicas' storage
// can pause (pausingStorage), and a function that returns replica id's.
func newPausingGroup(t *testing.T) (*testGroup, func(id uint64) *pausingStorage) {
	var mu sync.Mutex
	stores := map[*MemStorage]*pausingStorage{}
	tg := newTestGroupWith(t, func(c *GroupConfig) { c.ReadLease = true }, func(m *MemStorage) Storage {
		mu.Lock()
		defer mu.Unlock()
		if stores[m] == nil {
			stores[m] = &pausingStorage{MemStorage: m, paused: make(chan struct{}, 1)}
		}
		return stores[m]
	})
	return tg, func(id uint64) *pausingStorage {
		mu.Lock()
		defer mu.Unlock()
		return stores[tg.stores[id]]
	}
}

// A leader paused while it holds a lease, and cut off meanwhile, finds the
// lease over when it runs again: the others elected a leader and took a
// write, and the old leader must not answer a read with the value before
// it. A lease counted in ticks would still hold, since a paused replica
// counts none.
func TestGroupLeasePausedLeader(t *testing.T) {
	tg, pausing := newPausingGroup(t)
	l := tg.leader()
	tg.mustDo(l, Write, "SET", "k", "before")
	tg.awaitLease(l)
	ps := pausing(l)
	resume := ps.pause()
	t.Cleanup(resume)
	tg.net.isolate(l, true)
	nl := tg.leader(l)
	tg.mustDo(nl, Write, "SET", "k", "after")

	type result struct {
		reply string
		err   error
	}
	ch := make(chan result, 1)
	tg.reps[l].Submit(&Request{Cmds: [][][]byte{{[]byte("GET"), []byte("k")}}, Proto: 2, Mode: Read,
		Done: func(reply []byte, _ []int, err error) { ch <- result{string(reply), err} }})
	resume()
	r := <-ch
	if r.err == nil {
		t.Fatalf("the paused, cut-off leader answered a read after another leader took a write: got %q (want an error)", r.reply)
	}
}

// A replica that restarts with a log gives no vote for an election timeout:
// it has forgotten the leader it acknowledged, whose lease may still run.
func TestGroupRestartedReplicaWaitsToVote(t *testing.T) {
	tg := newTestGroup(t, func(c *GroupConfig) { c.ElectionTicks, c.ReadLease = 50, true }) // half a second
	l := tg.leader()
	tg.mustDo(l, Write, "SET", "k", "v")
	f := tg.follower(l)
	var o uint64
	for id := range tg.reps {
		if id != l && id != f {
			o = id
		}
	}
	// f hears only the votes asked of it below.
	tg.net.isolate(f, true)
	tg.stop(f)
	granted := make(chan uint64, 64)
	tg.net.mu.Lock()
	tg.net.watch = func(from, _ uint64, m *raftpb.Message) {
		if from == f && m.GetType() == raftpb.MsgVoteResp && !m.GetReject() {
			granted <- m.GetTerm()
		}
	}
	tg.net.mu.Unlock()
	term := tg.reps[l].Status().Term
	tg.start(f)
	ask := func(term uint64) {
		tg.reps[f].Step(&raftpb.Message{Type: raftpb.MsgVote.Enum(), From: new(o), To: new(f), Term: new(term),
			LogTerm: new(uint64(1 << 40)), Index: new(uint64(1 << 40))})
	}
	ask(term + 1) // at once: ignored
	deadline := time.Now().Add(10 * time.Second)
	for next := term + 2; ; next++ {
		ask(next)
		select {
		case got := <-granted:
			if got == term+1 {
				t.Fatalf("the replica granted a vote at once after restarting (term %d)", got)
			}
			return
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the restarted replica never granted a vote")
		}
	}
}

// A leader that starts a leadership transfer serves no read under a lease
// for the rest of its term: the transferee may campaign late, and the
// followers vote for it at once. Here the transfer goes to a replica cut
// off, so that it never completes and the leader stays in its term.
func TestGroupLeaseEndsWithTransfer(t *testing.T) {
	tg := newTestGroup(t, func(c *GroupConfig) { c.ReadLease = true })
	l := tg.leader()
	tg.mustDo(l, Write, "SET", "k", "v")
	st := tg.reps[l].Stats()
	tg.awaitLease(l)
	f := tg.follower(l)
	tg.net.isolate(f, true)
	term := tg.reps[l].Status().Term
	tg.reps[l].Step(&raftpb.Message{Type: raftpb.MsgTransferLeader.Enum(), From: new(f), To: new(l), Term: new(term)})
	eventually(t, "a read that waits for a round", func() bool {
		n := st.LeaseReads.Load()
		tg.mustDo(l, Read, "GET", "k")
		return st.LeaseReads.Load() == n
	})
	// Past the transfer's end (an election timeout) and several renewals.
	n := st.LeaseReads.Load()
	for start := time.Now(); time.Since(start) < 300*time.Millisecond; {
		if got := tg.mustDo(l, Read, "GET", "k"); got != "$1\r\nv\r\n" {
			t.Fatalf("GET: got %q, want v", got)
		}
	}
	if now := tg.reps[l].Status(); now.Term != term || now.Role != "leader" {
		t.Fatalf("the leader changed: term %d role %s, want term %d leader", now.Term, now.Role, term)
	}
	if got := st.LeaseReads.Load(); got != n {
		t.Fatalf("%d reads served under a lease after a transfer began, want 0", got-n)
	}
}

// tryRead runs GET key on replica id with TryRead: the reply, and whether
// it ran.
func (tg *testGroup) tryRead(id uint64, mode Mode, key string) (string, bool) {
	r := &Request{Cmds: [][][]byte{{[]byte("GET"), []byte(key)}}, Proto: 2, Mode: mode, Own: true}
	if !tg.reps[id].TryRead(r) {
		return "", false
	}
	return string(r.Buf), true
}

// A read runs at once on its caller's goroutine only where the group's
// goroutine would have served it at once: a leader under its lease, or a
// stale read on any replica; never a write, never while the replica's
// goroutine is at work, and not on a leader cut off once another leader
// took a write.
func TestGroupTryRead(t *testing.T) {
	tg, pausing := newPausingGroup(t)
	l := tg.leader()
	tg.mustDo(l, Write, "SET", "k", "v1")
	tg.awaitLease(l)
	eventually(t, "a read at once on the leader", func() bool {
		got, ok := tg.tryRead(l, Read, "k")
		if ok && got != "$2\r\nv1\r\n" {
			t.Fatalf("GET k at once: got %q, want v1", got)
		}
		return ok
	})
	f := tg.follower(l)
	if got, ok := tg.tryRead(f, Read, "k"); ok {
		t.Fatalf("a follower ran a linearizable read at once: %q", got)
	}
	eventually(t, "a stale read at once on the follower", func() bool {
		got, ok := tg.tryRead(f, Stale, "k")
		return ok && got == "$2\r\nv1\r\n"
	})
	w := &Request{Cmds: [][][]byte{{[]byte("SET"), []byte("k"), []byte("x")}}, Proto: 2, Mode: Write, Own: true}
	if tg.reps[l].TryRead(w) {
		t.Fatal("a write ran at once")
	}

	// The leader's goroutine held in a log write: nothing runs at once.
	ps := pausing(l)
	hold := make(chan struct{})
	ps.mu.Lock()
	ps.hold = hold
	ps.mu.Unlock()
	done := make(chan string, 1)
	go func() { done <- tg.mustDo(l, Write, "SET", "k", "v2") }()
	<-ps.paused
	for _, mode := range []Mode{Read, Stale} {
		if got, ok := tg.tryRead(l, mode, "k"); ok {
			t.Fatalf("mode %v: a read ran at once while the replica's goroutine was writing its log: %q", mode, got)
		}
	}
	close(hold)
	if got := <-done; got != "+OK\r\n" {
		t.Fatalf("SET k v2: %q", got)
	}
	eventually(t, "a read at once after the write", func() bool {
		got, ok := tg.tryRead(l, Read, "k")
		if ok && got != "$2\r\nv2\r\n" {
			t.Fatalf("GET k at once after SET k v2 was acknowledged: got %q", got)
		}
		return ok
	})

	// Cut off: another leader is elected only once the lease is over,
	// and then the old one must not answer with the value before its
	// write.
	tg.net.isolate(l, true)
	nl := tg.leader(l)
	tg.mustDo(nl, Write, "SET", "k", "v3")
	if got, ok := tg.tryRead(l, Read, "k"); ok {
		t.Fatalf("the cut-off leader answered at once after another leader took a write: %q", got)
	}
}

// Reads run at once on several goroutines while the replica's goroutine
// applies writes: each reader sees the counter never go back, and a read
// after a write's acknowledgement sees it. Under the race detector, a read
// that ran while the replica's goroutine was at work would be reported.
func TestGroupTryReadConcurrent(t *testing.T) {
	tg := newTestGroup(t, func(c *GroupConfig) { c.ReadLease = true })
	l := tg.leader()
	tg.mustDo(l, Write, "SET", "k", "v")
	tg.awaitLease(l)
	read := func() (int, bool) {
		got, ok := tg.tryRead(l, Read, "n")
		if !ok {
			got = tg.mustDo(l, Read, "GET", "n")
		}
		if got == "$-1\r\n" {
			return 0, ok
		}
		n, err := strconv.Atoi(bulkValue(got))
		if err != nil {
			t.Errorf("GET n: %q", got)
		}
		return n, ok
	}
	var (
		wg     sync.WaitGroup
		stop   atomic.Bool
		atOnce atomic.Int64
	)
	for range 4 {
		wg.Go(func() {
			last := 0
			for !stop.Load() {
				n, ok := read()
				if ok {
					atOnce.Add(1)
				}
				if n < last {
					t.Errorf("the counter went back from %d to %d", last, n)
					return
				}
				last = n
			}
		})
	}
	for i := 1; i <= 200; i++ {
		tg.mustDo(l, Write, "INCR", "n")
		if n, _ := read(); n < i {
			t.Errorf("read %d after the acknowledgement of INCR number %d", n, i)
		}
	}
	stop.Store(true)
	wg.Wait()
	if atOnce.Load() == 0 {
		t.Fatal("no read ran at once")
	}
	t.Logf("%d reads ran at once", atOnce.Load())
}

// TestGroupReadsWhileYielding: after taking a request, the leader's
// goroutine yields so that the connections about to send join its round;
// meanwhile the replica's state is free, and a read on one of those
// connections runs at once instead of queueing behind the round.
func TestGroupReadsWhileYielding(t *testing.T) {
	var leader atomic.Pointer[Group]
	got := make(chan string, 1)
	tg := newTestGroupEach(t, nil, func(id uint64, c *GroupConfig) {
		c.yield = func() {
			if g := leader.Load(); g != nil && g.cfg.ReplicaID == id {
				r := &Request{Cmds: [][][]byte{{[]byte("GET"), []byte("k")}}, Proto: 2, Mode: Read, Own: true}
				if g.TryRead(r) {
					select {
					case got <- string(r.Buf):
					default:
					}
				}
			}
			runtime.Gosched()
		}
	}, nil)
	l := tg.leader()
	tg.mustDo(l, Write, "SET", "k", "v1")
	tg.awaitLease(l)
	leader.Store(tg.reps[l])
	// Each write the leader takes yields once; a read at once then needs
	// the lease and the state applied, which a later write finds.
	for i := 0; ; i++ {
		tg.mustDo(l, Write, "SET", "other", "x")
		select {
		case v := <-got:
			if v != "$2\r\nv1\r\n" {
				t.Fatalf("GET k run while the leader yielded: %q, want v1", v)
			}
			return
		default:
		}
		if i == 100 {
			t.Fatal("no read ran at once while the leader's goroutine yielded in 100 writes")
		}
	}
}

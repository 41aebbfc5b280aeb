package shard

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/ring"
	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/storage/memory"
)

// fakeLog records changes and which of them were committed. Its mutex lets
// the test read it while the shard runs.
type fakeLog struct {
	mu        sync.Mutex
	pending   []string
	committed map[string]bool
	commits   int // commits that had changes to commit
	calls     int // calls to Commit
}

func (l *fakeLog) add(s string) {
	l.mu.Lock()
	l.pending = append(l.pending, s)
	l.mu.Unlock()
}

func (l *fakeLog) Set(key, _ []byte, _ int64)          { l.add("set " + string(key)) }
func (l *fakeLog) Delete(key []byte)                   { l.add("del " + string(key)) }
func (l *fakeLog) Range(key []byte, _ int64, _ []byte) { l.add("range " + string(key)) }
func (l *fakeLog) Expire(key []byte, _ int64)          { l.add("expire " + string(key)) }
func (l *fakeLog) Flush()                              { l.add("flush") }
func (l *fakeLog) Elements(_ storage.Kind, key []byte, _ int64, _ bool, _ [][]byte) {
	l.add("elems " + string(key))
}
func (l *fakeLog) RemoveElements(_ storage.Kind, key []byte, _ [][]byte) {
	l.add("remove " + string(key))
}
func (l *fakeLog) List(key []byte, _ int64, _ uint64, _ bool, _ object.ListOp) {
	l.add("list " + string(key))
}
func (l *fakeLog) Stream(key []byte, _ int64, _ uint64, _, _ bool, _ []byte) {
	l.add("stream " + string(key))
}
func (l *fakeLog) isCommitted(s string) bool { l.mu.Lock(); defer l.mu.Unlock(); return l.committed[s] }
func (l *fakeLog) pendingCount() int         { l.mu.Lock(); defer l.mu.Unlock(); return len(l.pending) }
func (l *fakeLog) stats() (commits, changes int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.commits, len(l.committed)
}

func (l *fakeLog) Commit() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if len(l.pending) == 0 {
		return
	}
	l.commits++
	for _, s := range l.pending {
		l.committed[s] = true
	}
	l.pending = l.pending[:0]
}

func newLoggedShard(t *testing.T) (*Shard, *fakeLog) {
	t.Helper()
	return newLoggedShardEvery(t, time.Millisecond)
}

// newLoggedShardEvery is newLoggedShard with an active expiry cycle every
// expire.
func newLoggedShardEvery(t *testing.T, expire time.Duration) (*Shard, *fakeLog) {
	t.Helper()
	r, _ := ring.New(1, 1)
	cfg := DefaultConfig()
	cfg.ExpireInterval = expire
	s, err := New(0, memory.New(), r, cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := &fakeLog{committed: map[string]bool{}}
	s.SetLog(l)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return s, l
}

// TestReplyAfterCommit sends batches from several goroutines at once: each
// reply must come after the changes of its batch were committed, and the
// shard should commit once for several batches when they queue up.
func TestReplyAfterCommit(t *testing.T) {
	s, l := newLoggedShard(t)
	const senders, batches = 8, 50
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			done := make(chan *Batch, 1)
			for i := range batches {
				k := fmt.Sprintf("k%d-%d", g, i)
				for s.Reserve(2) != 2 {
					time.Sleep(time.Millisecond)
				}
				b := &Batch{Cmds: []Cmd{cmd("SET", k, "v"), cmd("DELETE", k)}, Done: done}
				s.Submit(b)
				<-done
				if !l.isCommitted("set "+k) || !l.isCommitted("del "+k) {
					t.Errorf("reply to %s before its changes were committed", k)
					return
				}
			}
		})
	}
	wg.Wait()
	commits, changes := l.stats()
	if changes != 2*senders*batches || commits < 1 || commits > senders*batches {
		t.Fatalf("%d changes in %d commits, want %d changes in at most %d", changes, commits, 2*senders*batches, senders*batches)
	}
	t.Logf("%d batches answered after %d commits", senders*batches, commits)
}

// TestOneCommitPerRun queues three batches behind a held shard, so that the
// shard runs them as one group once released: it must commit once for the
// group, before any of them is answered.
func TestOneCommitPerRun(t *testing.T) {
	s, l := newLoggedShardEvery(t, time.Hour)
	held := make(chan *Batch, 1)
	rel := make(chan struct{})
	s.Reserve(1)
	s.Submit(&Batch{Done: held, Release: rel})
	<-held
	l.mu.Lock()
	before := l.calls
	l.mu.Unlock()
	done := make(chan *Batch, 3)
	for i := range 3 {
		s.Reserve(1)
		s.Submit(&Batch{Cmds: []Cmd{cmd("SET", fmt.Sprint("k", i), "v")}, Done: done})
	}
	rel <- struct{}{}
	for range 3 {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("a batch was not answered")
		}
	}
	l.mu.Lock()
	calls := l.calls - before
	l.mu.Unlock()
	if calls != 1 {
		t.Fatalf("%d commits for one run of 3 batches, want 1", calls)
	}
	for i := range 3 {
		if !l.isCommitted(fmt.Sprint("set k", i)) {
			t.Fatalf("k%d answered but not committed", i)
		}
	}
}

// TestHoldAfterCommit checks that a shard commits the batches run before a
// hold request before it hands itself over.
func TestHoldAfterCommit(t *testing.T) {
	s, l := newLoggedShard(t)
	for range 20 {
		s.Reserve(2)
		done := make(chan *Batch, 2)
		s.Submit(&Batch{Cmds: []Cmd{cmd("SET", "a", "1")}, Done: done})
		rel := make(chan struct{})
		s.Submit(&Batch{Done: done, Release: rel})
		<-done
		<-done
		if n := l.pendingCount(); n != 0 {
			t.Fatalf("held with %d changes not committed", n)
		}
		close(rel)
	}
}

// asyncLog is a fakeLog whose commits are made durable by WaitDurable.
type asyncLog struct {
	fakeLog
	written int64            // records committed, as positions
	durable int64            // position WaitDurable has reached
	at      map[string]int64 // position of each change
	waits   int
}

func (l *asyncLog) CommitAsync() (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.pending {
		l.written++
		l.at[s] = l.written
	}
	l.pending = l.pending[:0]
	return l.written, l.written > l.durable
}

func (l *asyncLog) WaitDurable(pos int64) {
	time.Sleep(200 * time.Microsecond) // an fsync
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waits++
	l.durable = max(l.durable, pos)
}

func (l *asyncLog) isDurable(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.at[s]
	return ok && p <= l.durable
}

// TestReplyAfterDurable runs batches against a shard whose log is made
// durable by its reply goroutine: each reply must come after its changes
// are durable, and fsyncs must cover several batches.
func TestReplyAfterDurable(t *testing.T) {
	r, _ := ring.New(1, 1)
	s, err := New(0, memory.New(), r, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	l := &asyncLog{fakeLog: fakeLog{committed: map[string]bool{}}, at: map[string]int64{}}
	s.SetLog(l)
	ctx, cancel := context.WithCancel(context.Background())
	var run sync.WaitGroup
	run.Go(func() { s.Run(ctx) })

	const senders, batches = 8, 40
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			done := make(chan *Batch, 1)
			for i := range batches {
				k := fmt.Sprintf("k%d-%d", g, i)
				for s.Reserve(1) != 1 {
					time.Sleep(time.Millisecond)
				}
				s.Submit(&Batch{Cmds: []Cmd{cmd("SET", k, "v")}, Done: done})
				<-done
				if !l.isDurable("set " + k) {
					t.Errorf("reply to SET %s before it was durable", k)
					return
				}
			}
		})
	}
	wg.Wait()
	// A batch still waiting when the shard stops is answered first.
	s.Reserve(1)
	done := make(chan *Batch, 1)
	s.Submit(&Batch{Cmds: []Cmd{cmd("SET", "last", "v")}, Done: done})
	cancel()
	<-done
	run.Wait()
	l.mu.Lock()
	waits := l.waits
	l.mu.Unlock()
	if waits >= senders*batches {
		t.Errorf("%d waits for %d batches: no group commit", waits, senders*batches)
	}
	t.Logf("%d batches made durable in %d waits", senders*batches+1, waits)
}

package wal

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/data-cluster/data-cluster/internal/fsutil"
)

// heldSync is a Store.datasync that tells of each call on entered and
// waits for release before it fsyncs.
type heldSync struct {
	entered chan string // the file of each call, by name
	release chan struct{}
	once    sync.Once
}

func newHeldSync() *heldSync {
	return &heldSync{entered: make(chan string, 8), release: make(chan struct{})}
}

func (h *heldSync) datasync(f *os.File) error {
	h.entered <- f.Name()
	<-h.release
	return fsutil.Datasync(f)
}

// releaseAll lets every call, held or to come, go on.
func (h *heldSync) releaseAll() { h.once.Do(func() { close(h.release) }) }

// keyOn returns a key that shard i owns.
func (n *node) keyOn(i int) string {
	for j := 0; ; j++ {
		if k := fmt.Sprint("k", j); n.r.Lookup([]byte(k)) == i {
			return k
		}
	}
}

// writeAsync sets key on its shard and commits as a shard does, leaving
// the fsync to WaitDurable; it returns the shard and the position to wait
// for.
func (n *node) writeAsync(key string) (int, int64) {
	i := n.r.Lookup([]byte(key))
	n.mu[i].Lock()
	defer n.mu[i].Unlock()
	n.dbs[i].Set([]byte(key), []byte("v"), 0)
	pos, wait := n.st.Logs()[i].CommitAsync()
	if !wait {
		n.t.Fatalf("CommitAsync of shard %d: nothing to wait for", i)
	}
	return i, pos
}

// TestGroupCommitAcrossShards checks, with fsyncs held until the test
// releases them, that WaitDurable returns only once an fsync covering its
// records has ended, and that the shards share the journal's fsyncs: the
// commits of two shards made while one fsync runs are covered by a single
// next one, of the same file.
func TestGroupCommitAcrossShards(t *testing.T) {
	n := mustOpen(t, t.TempDir(), 3, 8, func(c *Config) { c.Fsync = FsyncAlways })
	defer n.close()
	h := newHeldSync()
	n.st.datasync = h.datasync
	defer h.releaseAll() // before n.close, which fsyncs

	wait := func(key string) (int64, chan struct{}) {
		shard, pos := n.writeAsync(key)
		done := make(chan struct{})
		go func() {
			n.st.Logs()[shard].WaitDurable(pos)
			close(done)
		}()
		return pos, done
	}
	posA, doneA := wait(n.keyOn(0))
	var first string
	select {
	case first = <-h.entered:
	case <-doneA:
		t.Fatal("WaitDurable returned before any fsync")
	}
	select {
	case <-doneA:
		t.Fatal("WaitDurable returned while its fsync was held")
	default:
	}
	if s := n.st.j.syncedPos(); s >= posA {
		t.Fatalf("durable up to %d before the fsync ended, want below %d", s, posA)
	}
	// Two other shards commit while the fsync runs.
	posB, doneB := wait(n.keyOn(1))
	posC, doneC := wait(n.keyOn(2))
	h.releaseAll()
	for _, d := range []chan struct{}{doneA, doneB, doneC} {
		<-d
	}
	if s := n.st.j.syncedPos(); s < max(posA, posB, posC) {
		t.Fatalf("durable up to %d after WaitDurable, want %d", s, max(posA, posB, posC))
	}
	if got := len(h.entered); got != 1 {
		t.Fatalf("%d fsyncs after the first for the two shards' commits, want 1", got)
	}
	if second := <-h.entered; second != first {
		t.Fatalf("fsyncs of %s and %s, want one file", first, second)
	}
}

// TestFsyncFailureIsFatal fails the fsync of FsyncAlways: every shard
// waiting for it must see Config.Fatal called before WaitDurable returns
// (a server exits there, before any reply), and Stats report the failure.
func TestFsyncFailureIsFatal(t *testing.T) {
	var mu sync.Mutex
	var fatal []error
	n := mustOpen(t, t.TempDir(), 2, 8, func(c *Config) {
		c.Fsync = FsyncAlways
		c.Fatal = func(err error) {
			mu.Lock()
			fatal = append(fatal, err)
			mu.Unlock()
		}
	})
	defer n.close()
	broken := errors.New("disk on fire")
	n.st.datasync = func(*os.File) error { return broken }
	for i := range 2 {
		shard, pos := n.writeAsync(n.keyOn(i))
		n.st.Logs()[shard].WaitDurable(pos)
		mu.Lock()
		got := len(fatal)
		mu.Unlock()
		if got != i+1 || !errors.Is(fatal[i], broken) {
			t.Fatalf("after shard %d's WaitDurable: Fatal got %v, want %d calls with the fsync's error", shard, fatal, i+1)
		}
		if s := n.st.j.syncedPos(); s >= pos {
			t.Fatalf("durable up to %d after a failed fsync, want below %d", s, pos)
		}
	}
	if n.st.Stats().WriteOK {
		t.Fatal("Stats: WriteOK after a failed fsync")
	}
	n.st.datasync = fsutil.Datasync
}

// countSyncs makes the group commit's fdatasyncs counted by the counter it
// returns.
func (n *node) countSyncs() *atomic.Int32 {
	var syncs atomic.Int32
	n.st.datasync = func(f *os.File) error {
		syncs.Add(1)
		return fsutil.Datasync(f)
	}
	return &syncs
}

// TestRoundGathersReadyRecords: the syncer of a round under FsyncAlways
// lets the ready goroutines run first (fsutil.Gather), and the records
// they commit meanwhile are covered by the round's one fdatasync.
func TestRoundGathersReadyRecords(t *testing.T) {
	saved := syncsInline
	syncsInline = func() bool { return true }
	defer func() { syncsInline = saved }()
	n := mustOpen(t, t.TempDir(), 3, 8, func(c *Config) { c.Fsync = FsyncAlways })
	defer n.close()
	syncs := n.countSyncs()
	var later []int64 // positions of the records committed while the syncer yields
	yields := 0
	n.st.j.yield = func() {
		yields++
		if yields <= 2 {
			_, pos := n.writeAsync(n.keyOn(yields))
			later = append(later, pos)
		}
	}
	shard, pos := n.writeAsync(n.keyOn(0))
	n.st.Logs()[shard].WaitDurable(pos)
	if yields != 3 {
		t.Fatalf("records committed at 2 yields: got %d yields, want 3", yields)
	}
	for _, p := range later {
		if got := n.st.j.syncedPos(); got < p {
			t.Fatalf("durable up to %d, want the records committed while the syncer yielded, up to %d", got, p)
		}
	}
	if got := syncs.Load(); got != 1 {
		t.Fatalf("got %d fdatasyncs, want 1 for the round", got)
	}
}

// TestWritesGatherReadyRecords: under FsyncEverySec and FsyncNo a commit
// only appends, and nothing is written before WaitDurable; its writer lets
// the ready goroutines run first (fsutil.Gather), and the records they
// commit meanwhile, of other shards, go in the same one write, with no
// fdatasync. The other shards' waits then find their records written.
func TestWritesGatherReadyRecords(t *testing.T) {
	for _, fsync := range []Fsync{FsyncEverySec, FsyncNo} {
		t.Run(fsync.String(), func(t *testing.T) {
			n := mustOpen(t, t.TempDir(), 3, 8, func(c *Config) { c.Fsync = fsync })
			defer n.close()
			syncs := n.countSyncs()
			before := n.st.j.written.Load()
			var later []int64 // positions of the records committed while the writer yields
			var shards []int
			yields := 0
			n.st.j.yield = func() {
				yields++
				if w := n.st.j.written.Load(); w != before {
					t.Fatalf("written up to %d while gathering, want %d: nothing is written before the round's write", w, before)
				}
				if yields <= 2 {
					shard, pos := n.writeAsync(n.keyOn(yields))
					shards, later = append(shards, shard), append(later, pos)
				}
			}
			shard, pos := n.writeAsync(n.keyOn(0))
			if w := n.st.j.written.Load(); w != before {
				t.Fatalf("written up to %d after CommitAsync, want %d: the write is WaitDurable's", w, before)
			}
			n.st.Logs()[shard].WaitDurable(pos)
			if yields != 3 {
				t.Fatalf("records committed at 2 yields: got %d yields, want 3", yields)
			}
			round := n.st.j.written.Load()
			for i, p := range later {
				if round < p {
					t.Fatalf("written up to %d, want the records committed while the writer yielded, up to %d", round, p)
				}
				n.st.Logs()[shards[i]].WaitDurable(p)
			}
			if got := n.st.j.written.Load(); got != round {
				t.Fatalf("written up to %d after the other shards' waits, want %d: one write for the round", got, round)
			}
			if got := syncs.Load(); got != 0 {
				t.Fatalf("got %d fdatasyncs, want none", got)
			}
		})
	}
}

// TestEverySecWritesUnwaitedRecords: records committed under
// FsyncEverySec that no reply waits for (WaitDurable never called, as for
// the active expiry's deletes) are written and fsynced by the once-a-second
// fsync.
func TestEverySecWritesUnwaitedRecords(t *testing.T) {
	n := mustOpen(t, t.TempDir(), 3, 8, func(c *Config) { c.Fsync = FsyncEverySec })
	defer n.close()
	n.st.syncAll() // whatever opening wrote
	_, pos := n.writeAsync(n.keyOn(0))
	if w := n.st.j.written.Load(); w >= pos {
		t.Fatalf("written up to %d after CommitAsync, want below %d", w, pos)
	}
	n.st.syncAll()
	if w, s := n.st.j.written.Load(), n.st.j.syncedPos(); w < pos || s < pos {
		t.Fatalf("after the background fsync: written up to %d, durable up to %d, want both at %d or more", w, s, pos)
	}
}

// TestWaitDurableHeld: the io_uring loop's wait makes the round's group
// commit with the held fdatasync (Store.datasyncHeld), one for the records
// of every shard, without gathering first, and returns with them durable;
// the goroutines' waits keep theirs.
func TestWaitDurableHeld(t *testing.T) {
	n := mustOpen(t, t.TempDir(), 3, 8, func(c *Config) { c.Fsync = FsyncAlways })
	defer n.close()
	plain := n.countSyncs()
	var held atomic.Int32
	n.st.datasyncHeld = func(f *os.File) error {
		held.Add(1)
		return fsutil.DatasyncHeld(f)
	}
	n.st.j.yield = func() { t.Error("WaitDurableHeld gathered: it runs after the round") }
	var last int64
	for i := range 3 {
		_, last = n.writeAsync(n.keyOn(i))
	}
	n.st.WaitDurableHeld(last)
	if got := n.st.j.syncedPos(); got < last {
		t.Fatalf("durable up to %d after WaitDurableHeld(%d)", got, last)
	}
	if h, p := held.Load(), plain.Load(); h != 1 || p != 0 {
		t.Fatalf("fdatasyncs: %d held and %d plain, want 1 held for the round", h, p)
	}
	n.st.j.yield = nil
	shard, pos := n.writeAsync(n.keyOn(1))
	n.st.Logs()[shard].WaitDurable(pos)
	if h, p := held.Load(), plain.Load(); h != 1 || p != 1 {
		t.Fatalf("after a shard's WaitDurable, fdatasyncs: %d held and %d plain, want 1 and 1", h, p)
	}
}

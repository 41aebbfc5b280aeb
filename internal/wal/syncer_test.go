package wal

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/fsutil"
)

// heldSync is a syncer.datasync that tells of each call on entered and
// waits for release before it fsyncs.
type heldSync struct {
	entered chan []string // the files of each call, by name
	release chan struct{}
	once    sync.Once
}

// releaseAll lets every call, held or to come, go on.
func (h *heldSync) releaseAll() { h.once.Do(func() { close(h.release) }) }

func newHeldSync() *heldSync {
	return &heldSync{entered: make(chan []string, 8), release: make(chan struct{})}
}

func (h *heldSync) datasync(files []*os.File, errs []error) {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name()
	}
	h.entered <- names
	<-h.release
	fsutil.DatasyncAll(files, errs)
}

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

// TestSyncerGroupCommit checks, with an fsync held until the test releases
// it, that WaitDurable returns only once the fsync of its log has ended,
// and that the shards waiting while an fsync runs are synced together, by
// one call for all of their files.
func TestSyncerGroupCommit(t *testing.T) {
	n := mustOpen(t, t.TempDir(), 3, 8, func(c *Config) { c.Fsync = FsyncAlways })
	defer n.close()
	h := newHeldSync()
	n.st.syncer.datasync = h.datasync
	defer h.releaseAll() // before n.close, which waits for the syncer

	wait := func(key string) (int, int64, chan struct{}) {
		i, pos := n.writeAsync(key)
		done := make(chan struct{})
		go func() {
			n.st.Logs()[i].WaitDurable(pos)
			close(done)
		}()
		return i, pos, done
	}
	// Shard 2 first: its fsync is held while shards 0 and 1 ask.
	_, _, done2 := wait(n.keyOn(2))
	if got := <-h.entered; len(got) != 1 {
		t.Fatalf("first round: got files %q, want shard 2's only", got)
	}
	i0, pos0, done0 := wait(n.keyOn(0))
	i1, pos1, done1 := wait(n.keyOn(1))
	deadline := time.Now().Add(10 * time.Second)
	for len(n.st.syncer.reqs) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("got %d requests queued, want 2", len(n.st.syncer.reqs))
		}
		runtime.Gosched() // poll: the requests are sent by other goroutines
	}
	select {
	case <-done2:
		t.Fatal("WaitDurable returned before its fsync ran")
	default:
	}
	h.release <- struct{}{}
	<-done2
	got := <-h.entered
	if len(got) != 2 {
		t.Fatalf("second round: got files %q, want shards 0 and 1 together", got)
	}
	for _, done := range []chan struct{}{done0, done1} {
		select {
		case <-done:
			t.Fatal("WaitDurable returned while its fsync was held")
		default:
		}
	}
	for _, w := range []struct {
		i   int
		pos int64
	}{{i0, pos0}, {i1, pos1}} {
		if s := n.st.Logs()[w.i].synced.Load(); s >= w.pos {
			t.Fatalf("shard %d: durable up to %d before its fsync, want below %d", w.i, s, w.pos)
		}
	}
	h.releaseAll()
	<-done0
	<-done1
	for _, w := range []struct {
		i   int
		pos int64
	}{{i0, pos0}, {i1, pos1}} {
		if s := n.st.Logs()[w.i].synced.Load(); s < w.pos {
			t.Fatalf("shard %d: durable up to %d after WaitDurable, want %d", w.i, s, w.pos)
		}
	}
}

package wal

import (
	"fmt"
	"os"
	"sync"
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

// TestWaitDurableWaitsForFsync checks, with fsyncs held until the test
// releases them, that WaitDurable returns only once the fsync of its log
// has ended, and that the shards' fsyncs run at the same time, none
// waiting for another shard's.
func TestWaitDurableWaitsForFsync(t *testing.T) {
	n := mustOpen(t, t.TempDir(), 3, 8, func(c *Config) { c.Fsync = FsyncAlways })
	defer n.close()
	h := newHeldSync()
	n.st.datasync = h.datasync
	defer h.releaseAll() // before n.close, which fsyncs

	type waiter struct {
		shard int
		pos   int64
		done  chan struct{}
	}
	var ws []waiter
	for i := range 2 {
		w := waiter{done: make(chan struct{})}
		w.shard, w.pos = n.writeAsync(n.keyOn(i))
		go func() {
			n.st.Logs()[w.shard].WaitDurable(w.pos)
			close(w.done)
		}()
		ws = append(ws, w)
	}
	// Both fsyncs start although neither is released.
	seen := map[string]bool{<-h.entered: true, <-h.entered: true}
	if len(seen) != 2 {
		t.Fatalf("got fsyncs of %v, want the two shards' segments", seen)
	}
	for _, w := range ws {
		select {
		case <-w.done:
			t.Fatalf("shard %d: WaitDurable returned while its fsync was held", w.shard)
		default:
		}
		if s := n.st.Logs()[w.shard].synced.Load(); s >= w.pos {
			t.Fatalf("shard %d: durable up to %d before its fsync, want below %d", w.shard, s, w.pos)
		}
	}
	h.releaseAll()
	for _, w := range ws {
		<-w.done
		if s := n.st.Logs()[w.shard].synced.Load(); s < w.pos {
			t.Fatalf("shard %d: durable up to %d after WaitDurable, want %d", w.shard, s, w.pos)
		}
	}
}

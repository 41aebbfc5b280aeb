package router

import (
	"sync"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// journal stands for the journal the server's shard logs share (wal): a
// commit appends the shard's records at the next position, and a wait
// writes everything appended so far with one write, unless its position is
// written already.
type journal struct {
	mu       sync.Mutex
	appended int64
	written  int64
	writes   int

	// When set, the next wait tells entered and blocks until proceed is
	// closed.
	entered chan struct{}
	proceed chan struct{}
}

// journalLog is one shard's log in a journal. It takes Set records only,
// all a test here makes.
type journalLog struct {
	keyspace.Log
	j    *journal
	recs int64 // records since the last commit
	pos  int64 // the journal's position after the last commit
}

func (l *journalLog) Set(key, value []byte, expireAt int64) { l.recs++ }

func (l *journalLog) Commit() {
	if pos, wait := l.CommitAsync(); wait {
		l.WaitDurable(pos)
	}
}

func (l *journalLog) CommitAsync() (int64, bool) {
	l.j.mu.Lock()
	defer l.j.mu.Unlock()
	if l.recs > 0 {
		l.j.appended += l.recs
		l.pos, l.recs = l.j.appended, 0
	}
	return l.pos, l.pos > l.j.written
}

func (l *journalLog) WaitDurable(pos int64) {
	l.j.mu.Lock()
	if entered, proceed := l.j.entered, l.j.proceed; entered != nil {
		l.j.entered = nil
		l.j.mu.Unlock()
		close(entered)
		<-proceed
		l.j.mu.Lock()
	}
	defer l.j.mu.Unlock()
	if l.j.written >= pos {
		return
	}
	l.j.written = l.j.appended
	l.j.writes++
}

// TestReleaseWritesHeldShardsOnce: a holder that changed several shards
// commits all their logs before it waits for any, so the shared journal
// writes their records with one write, and all of them are written before
// Release returns (before the command's reply). Shards held but not changed
// add nothing.
func TestReleaseWritesHeldShardsOnce(t *testing.T) {
	j := &journal{}
	logs := make([]keyspace.Log, 4)
	for i := range logs {
		logs[i] = &journalLog{j: j}
	}
	r := newRouter(t, func(c *Config) {
		c.Shards = len(logs)
		c.Logs = logs
	})
	p := r.NewPipeline(busy)
	for _, tc := range []struct {
		held, changed []int
	}{
		{held: []int{0, 1, 2, 3}, changed: []int{0, 1, 2, 3}},
		{held: []int{0, 2, 3}, changed: []int{2, 3}},
		{held: []int{1, 3}, changed: []int{1}},
	} {
		set := make([]bool, len(logs))
		for _, i := range tc.held {
			set[i] = true
		}
		dbs, ok := p.Hold(set)
		if !ok {
			t.Fatal("hold refused")
		}
		for _, i := range tc.changed {
			dbs[i].Set([]byte(keyOn(t, r, i, "k")), []byte("v"), storage.NoExpiry)
		}
		j.mu.Lock()
		before := j.writes
		j.mu.Unlock()
		p.Release()
		j.mu.Lock()
		writes, written, appended := j.writes-before, j.written, j.appended
		j.mu.Unlock()
		if writes != 1 {
			t.Errorf("held %v, changed %v: %d journal writes, want 1 for all the shards' records", tc.held, tc.changed, writes)
		}
		if written != appended {
			t.Errorf("held %v, changed %v: written up to %d after Release, want every record, up to %d", tc.held, tc.changed, written, appended)
		}
	}
}

// TestReleaseWaitsWithShardsGivenBack: Release waits for the log once the
// shards are given back, so that other holders and the shards themselves
// go on (and share the wait's write or fsync) meanwhile; it returns only
// once the wait is over.
func TestReleaseWaitsWithShardsGivenBack(t *testing.T) {
	j := &journal{entered: make(chan struct{}), proceed: make(chan struct{})}
	entered := j.entered
	logs := []keyspace.Log{&journalLog{j: j}, &journalLog{j: j}}
	r := newRouter(t, func(c *Config) {
		c.Shards = len(logs)
		c.Logs = logs
	})
	set := []bool{true, true}
	p := r.NewPipeline(busy)
	dbs, ok := p.Hold(set)
	if !ok {
		t.Fatal("hold refused")
	}
	for i, db := range dbs {
		db.Set([]byte(keyOn(t, r, i, "k")), []byte("v"), storage.NoExpiry)
	}
	released := make(chan struct{})
	go func() {
		p.Release()
		close(released)
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("Release never waited for the log")
	}
	other := make(chan bool)
	go func() {
		q := r.NewPipeline(busy)
		_, ok := q.Hold(set)
		if ok {
			q.Release()
		}
		other <- ok
	}()
	select {
	case ok := <-other:
		if !ok {
			t.Fatal("another holder was refused the shards")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("another holder could not take the shards while Release waited for the log")
	}
	select {
	case <-released:
		t.Fatal("Release returned before its wait for the log ended")
	default:
	}
	close(j.proceed)
	select {
	case <-released:
	case <-time.After(10 * time.Second):
		t.Fatal("Release did not return after its wait ended")
	}
}

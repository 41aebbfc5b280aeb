package cluster

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/data-cluster/data-cluster/internal/testutil"
)

func memEntries(term uint64, from uint64, sizes ...int) []*raftpb.Entry {
	ents := make([]*raftpb.Entry, len(sizes))
	for i, n := range sizes {
		ents[i] = &raftpb.Entry{Index: new(from + uint64(i)), Term: new(term), Data: make([]byte, n)}
	}
	return ents
}

// TestMemLogBytes: the in-memory log counts the data of the entries it
// holds through appends, a conflicting tail replaced, compactions and a
// snapshot applied; cutFor finds where to compact to keep a size.
func TestMemLogBytes(t *testing.T) {
	m := newMemLog()
	check := func(what string, want uint64) {
		t.Helper()
		if got := m.Bytes(); got != want {
			t.Fatalf("%s: %d bytes, want %d", what, got, want)
		}
	}
	if err := m.Append(memEntries(1, 1, 10, 20, 30, 40)); err != nil {
		t.Fatal(err)
	}
	check("four entries", 100)
	if err := m.Append(memEntries(2, 3, 5, 6)); err != nil { // replaces 3 and 4
		t.Fatal(err)
	}
	check("the tail replaced", 41)
	if err := m.Append(memEntries(2, 5, 100)); err != nil {
		t.Fatal(err)
	}
	check("one more", 141)
	if got := m.cutFor(110, 5); got != 3 {
		t.Fatalf("cutFor(110, 5) = %d, want 3 (entries 4 and 5 are 106)", got)
	}
	if got := m.cutFor(100, 5); got != 4 {
		t.Fatalf("cutFor(100, 5) = %d, want 4 (entry 5 alone is 100)", got)
	}
	if got := m.cutFor(0, 2); got != 2 {
		t.Fatalf("cutFor(0, 2) = %d, want 2 (not past the limit)", got)
	}
	if got := m.cutFor(200, 5); got != 0 {
		t.Fatalf("cutFor(200, 5) = %d, want 0 (nothing to drop)", got)
	}
	if err := m.Compact(2); err != nil {
		t.Fatal(err)
	}
	check("compacted to 2", 111)
	if err := m.Append(memEntries(2, 1, 1, 2, 3, 4)); err != nil { // 1 and 2 are gone: 3 and 4 replace
		t.Fatal(err)
	}
	check("an append over the compacted part", 7)
	if err := m.ApplySnapshot(&raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{Index: new(uint64(10)), Term: new(uint64(3))}}); err != nil {
		t.Fatal(err)
	}
	check("a snapshot applied", 0)
	if err := m.Append(memEntries(3, 11, 8)); err != nil {
		t.Fatal(err)
	}
	check("an entry after the snapshot", 8)
}

// TestMemLogSnapshotPastCompaction: once the entries are compacted past the
// latest snapshot, Snapshot returns one at the compaction point, which
// Stored reports as not stored; the latest snapshot itself is Stored.
func TestMemLogSnapshotPastCompaction(t *testing.T) {
	m := newMemLog()
	if err := m.Append(memEntries(1, 1, 1, 1, 1, 1, 1, 1)); err != nil {
		t.Fatal(err)
	}
	cs := &raftpb.ConfState{Voters: []uint64{1, 2, 3}}
	if err := m.CreateSnapshot(&raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{Index: new(uint64(2)), Term: new(uint64(1)), ConfState: cs}}); err != nil {
		t.Fatal(err)
	}
	snap, err := m.Snapshot()
	if err != nil || snap.GetMetadata().GetIndex() != 2 || !m.Stored(2) {
		t.Fatalf("Snapshot before compaction: index %d, %v, stored %v; want 2, stored", snap.GetMetadata().GetIndex(), err, m.Stored(2))
	}
	if err := m.Compact(2); err != nil {
		t.Fatal(err)
	}
	if snap, _ := m.Snapshot(); snap.GetMetadata().GetIndex() != 2 {
		t.Fatalf("compacted up to the snapshot: Snapshot at %d, want 2", snap.GetMetadata().GetIndex())
	}
	if err := m.Compact(5); err != nil {
		t.Fatal(err)
	}
	snap, err = m.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	md := snap.GetMetadata()
	if md.GetIndex() != 5 || md.GetTerm() != 1 || len(md.GetConfState().GetVoters()) != 3 || len(snap.GetData()) != 0 {
		t.Fatalf("compacted past the snapshot: got %v, want index 5, term 1, the snapshot's voters, no data", md)
	}
	if m.Stored(5) || !m.Stored(2) {
		t.Fatalf("Stored(5) = %v, Stored(2) = %v: want false, true", m.Stored(5), m.Stored(2))
	}
}

// TestGroupCatchUpPastTrimmedLog: a leader drops its applied entries past
// MaxLogBytes, past its one snapshot (growth keeps it from taking
// another); a replica cut off meanwhile needs entries no longer held, and
// catches up from a snapshot built from the leader's keyspace, not the
// stored one, which is older than the entries held.
func TestGroupCatchUpPastTrimmedLog(t *testing.T) {
	const budget = 4 << 10
	logs := new(testutil.SyncBuffer)
	tg := newTestGroup(t, func(c *GroupConfig) {
		c.SnapshotEntries, c.SnapshotMinBytes, c.MaxLogBytes = 20, 1, budget
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	l := tg.leader()
	lag := tg.follower(l)
	tg.net.isolate(lag, true)
	big := strings.Repeat("b", 1000)
	for i := range 20 {
		tg.mustDo(l, Write, "SET", fmt.Sprintf("big%d", i), big)
	}
	eventually(t, "the leader's snapshot", func() bool { return tg.reps[l].Stats().Snapshots.Load() == 1 })
	// 280 entries of about 40 bytes: fewer bytes than the snapshot, more
	// than the budget.
	for i := range 280 {
		tg.mustDo(l, Write, "SET", "small", fmt.Sprint(i))
	}
	eventually(t, "the leader to trim its log", func() bool {
		st := tg.reps[l].Stats()
		return st.Trims.Load() > 0 && st.LogBytes.Load() <= budget
	})
	if n := tg.reps[l].Stats().Snapshots.Load(); n != 1 {
		t.Fatalf("the leader took %d snapshots, want 1", n)
	}
	tg.net.isolate(lag, false)
	eventually(t, "the lagging replica to catch up", func() bool {
		return tg.reps[lag].Status().Applied >= tg.reps[l].Status().Applied
	})
	if n := tg.reps[lag].Stats().Installed.Load(); n == 0 {
		t.Fatal("the lagging replica installed no snapshot")
	}
	if !strings.Contains(logs.String(), `msg="snapshot from the leader installed"`) {
		t.Fatalf("no log line for the installed snapshot in:\n%s", logs)
	}
	want := fmt.Sprintf("$%d\r\n%s\r\n", len(big), big)
	for i := range 20 {
		if got, _ := tg.do(lag, Stale, "GET", fmt.Sprintf("big%d", i)); got != want {
			t.Fatalf("big%d on the caught-up replica: got %q, want %q", i, got, want)
		}
	}
	if got, _ := tg.do(lag, Stale, "GET", "small"); got != "$3\r\n279\r\n" {
		t.Fatalf("small on the caught-up replica: got %q, want 279", got)
	}
}

// TestGroupGrown: a group whose last snapshot is at least SnapshotMinBytes
// takes the next once the entries applied since, or the shared log on
// disk, are as large; smaller ones always may.
func TestGroupGrown(t *testing.T) {
	for _, tc := range []struct {
		snap, since uint64
		logSize     int64
		shared      bool
		want        bool
	}{
		{snap: 100, since: 0, want: true},                                // under SnapshotMinBytes
		{snap: 1000, since: 999, want: false},                            // not grown
		{snap: 1000, since: 1000, want: true},                            // the entries since
		{snap: 1000, since: 10, logSize: 999, shared: true, want: false}, // a log smaller than the data
		{snap: 1000, since: 10, logSize: 1000, shared: true, want: true}, // the log on disk
	} {
		var st Storage = &MemStorage{}
		if tc.shared {
			p := &pinStore{MemStorage: &MemStorage{}}
			p.size.Store(tc.logSize)
			st = p
		}
		g := &Group{cfg: GroupConfig{SnapshotMinBytes: 500, Storage: st}, snapBytes: tc.snap, sinceBytes: tc.since}
		if got := g.grown(); got != tc.want {
			t.Errorf("snapshot %d bytes, %d since, log %d (shared %v): grown %v, want %v", tc.snap, tc.since, tc.logSize, tc.shared, got, tc.want)
		}
	}
}

// TestGroupSnapshotsByGrowth: with every snapshot over SnapshotMinBytes, a
// group that writes new keys snapshots about each time its data doubles,
// not every SnapshotEntries entries.
func TestGroupSnapshotsByGrowth(t *testing.T) {
	const writes, every = 320, 10
	tg := newTestGroup(t, func(c *GroupConfig) { c.SnapshotEntries, c.SnapshotMinBytes = every, 1 })
	l := tg.leader()
	value := strings.Repeat("v", 100)
	for i := range writes {
		tg.mustDo(l, Write, "SET", fmt.Sprintf("key%d", i), value)
	}
	// By count alone the leader would snapshot about writes/every = 32
	// times; by growth, after about 10, 20, 40, 80, 160 and 320 writes.
	n := tg.reps[l].Stats().Snapshots.Load()
	if n < 2 || n > 10 {
		t.Fatalf("%d snapshots for %d writes of new keys, snapshot every %d entries: want 2 to 10 (by growth)", n, writes, every)
	}
	t.Logf("%d snapshots", n)
}

// pinStore is a Storage shared with others as a test says: the log's size
// and whether the group pins its oldest segment. Its LogSize calls mark
// the group's checks for the shared log, one an election timeout, each
// after the in-memory log's (trimLog).
type pinStore struct {
	*MemStorage
	pins  atomic.Bool
	size  atomic.Int64
	asked atomic.Int64 // LogSize calls
}

func (p *pinStore) Pins() bool  { return p.pins.Load() }
func (p *pinStore) Groups() int { return 4 }
func (p *pinStore) LogSize() int64 {
	p.asked.Add(1)
	return p.size.Load()
}

// newPinnedGroup starts a test group whose replicas' storage is a pinStore
// each, of a log of size bytes that their group pins or not, and returns
// the group and the stores by replica.
func newPinnedGroup(t *testing.T, edit func(*GroupConfig), pins bool, size int64) (*testGroup, map[uint64]*pinStore) {
	var mu sync.Mutex
	byMem := map[*MemStorage]*pinStore{}
	tg := newTestGroupWith(t, edit, func(m *MemStorage) Storage {
		mu.Lock()
		defer mu.Unlock()
		p := &pinStore{MemStorage: m}
		p.pins.Store(pins)
		p.size.Store(size)
		byMem[m] = p
		return p
	})
	mu.Lock()
	defer mu.Unlock()
	stores := map[uint64]*pinStore{}
	for id, m := range tg.stores {
		stores[id] = byMem[m]
	}
	return tg, stores
}

// checked waits for two more of p's group's checks for the shared log:
// the in-memory log's check that came between them began after the call.
func (p *pinStore) checked(t *testing.T) {
	t.Helper()
	seen := p.asked.Load()
	eventually(t, "two checks for the shared log", func() bool { return p.asked.Load() >= seen+2 })
}

// TestGroupTrimsLogWithoutSnapshot: with no snapshot due, every replica
// still drops the applied entries all replicas hold but the last
// CompactKeep, of at most CompactKeepBytes, so that the in-memory log does
// not grow until MaxLogBytes between snapshots.
func TestGroupTrimsLogWithoutSnapshot(t *testing.T) {
	const writes = 100
	// Each entry holds one SET of a 100-byte value: the log held over
	// writes*100 bytes.
	for _, tc := range []struct {
		name        string
		keep        uint64
		keepBytes   uint64
		under, over int64 // the data kept is under under and over over
	}{
		{"entries", 10, 1 << 20, 2 * 10 * 100, 10 * 100},
		{"bytes", 1000, 500, 501, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg, stores := newPinnedGroup(t, func(c *GroupConfig) {
				c.SnapshotEntries, c.CompactKeep, c.CompactKeepBytes = 1_000_000, tc.keep, tc.keepBytes
			}, false, 0)
			l := tg.leader()
			value := strings.Repeat("v", 100)
			for i := range writes {
				tg.mustDo(l, Write, "SET", fmt.Sprintf("key%d", i), value)
			}
			last := tg.reps[l].Status().Applied
			for id, g := range tg.reps {
				eventually(t, fmt.Sprintf("replica %d to apply every write", id), func() bool { return g.Status().Applied >= last })
				eventually(t, fmt.Sprintf("replica %d to drop its old entries", id), func() bool {
					stores[id].checked(t)
					return g.Stats().LogBytes.Load() < tc.under
				})
				st := g.Stats()
				if n := st.LogBytes.Load(); n <= tc.over {
					t.Fatalf("replica %d keeps %d bytes of entries, want over %d", id, n, tc.over)
				}
				if n, trims := st.Snapshots.Load(), st.Trims.Load(); n != 0 || trims != 0 {
					t.Fatalf("replica %d: %d snapshots, %d trims past MaxLogBytes: want none", id, n, trims)
				}
				if got, _ := tg.do(id, Stale, "GET", "key0"); got != "$100\r\n"+value+"\r\n" {
					t.Fatalf("key0 on replica %d: got %q", id, got)
				}
			}
		})
	}
}

// TestGroupSnapshotsForSharedLog: a group that pins the shared log's
// oldest segment takes a snapshot once the log holds SnapshotMinBytes for
// each group that shares it, not before.
func TestGroupSnapshotsForSharedLog(t *testing.T) {
	const minBytes = 1000
	tg, stores := newPinnedGroup(t, func(c *GroupConfig) { c.SnapshotMinBytes = minBytes }, true, 4*minBytes-1)
	l := tg.leader()
	for i := range 10 {
		tg.mustDo(l, Write, "SET", fmt.Sprintf("key%d", i), "v")
	}
	p := stores[l]
	p.checked(t)
	if n := tg.reps[l].Stats().Snapshots.Load(); n != 0 {
		t.Fatalf("%d snapshots with the shared log under SnapshotMinBytes a group, want none", n)
	}
	p.size.Store(4 * minBytes)
	eventually(t, "a snapshot for the shared log", func() bool { return tg.reps[l].Stats().Snapshots.Load() == 1 })
}

// TestGroupTrimsLogWhileReplaying: a replica that replays more entries at
// a start than it keeps drops them as it applies them, without waiting for
// a tick: restarted with ticks an hour apart, it still trims.
func TestGroupTrimsLogWhileReplaying(t *testing.T) {
	const keepBytes, writes = 1000, 200
	var slow atomic.Bool
	tg := newTestGroupEach(t, func(c *GroupConfig) { c.SnapshotEntries, c.CompactKeepBytes = 1_000_000, keepBytes },
		func(_ uint64, c *GroupConfig) {
			if slow.Load() {
				c.Tick = time.Hour
			}
		}, nil)
	l := tg.leader()
	f := tg.follower(l)
	value := strings.Repeat("v", 100)
	for i := range writes {
		tg.mustDo(l, Write, "SET", fmt.Sprintf("key%d", i), value)
	}
	last := tg.reps[l].Status().Applied
	eventually(t, "the follower to apply every write", func() bool { return tg.reps[f].Status().Applied >= last })
	tg.stop(f)
	slow.Store(true)
	tg.start(f)
	g := tg.reps[f]
	eventually(t, "the restarted follower to apply its log again", func() bool { return g.Status().Applied >= last })
	// Only a trim stores LogBytes, and no tick came to trim.
	if n := g.Stats().LogBytes.Load(); n == 0 || n > 4*keepBytes {
		t.Fatalf("the restarted follower holds %d bytes of entries as of its last trim, want 1 to %d", n, 4*keepBytes)
	}
	if got, _ := tg.do(f, Stale, "GET", "key0"); got != "$100\r\n"+value+"\r\n" {
		t.Fatalf("key0 on the restarted follower: got %q", got)
	}
}

// TestGroupKeepsEntriesForLaggingReplica: the leader keeps the entries a
// replica cut off lacks, within MaxLogBytes, however long it has not
// heard from it, so that it catches up from them and not from a snapshot;
// once it has them, the leader drops them.
func TestGroupKeepsEntriesForLaggingReplica(t *testing.T) {
	const writes, keepBytes = 100, 500
	tg, stores := newPinnedGroup(t, func(c *GroupConfig) {
		c.SnapshotEntries, c.CompactKeep, c.CompactKeepBytes = 1_000_000, 10, keepBytes
	}, false, 0)
	l := tg.leader()
	lag := tg.follower(l)
	tg.net.isolate(lag, true)
	value := strings.Repeat("v", 100)
	for i := range writes {
		tg.mustDo(l, Write, "SET", fmt.Sprintf("key%d", i), value)
	}
	// Past an election timeout the leader no longer counts the replica as
	// active; it keeps its entries all the same.
	for range 3 {
		stores[l].checked(t)
	}
	if n := tg.reps[l].Stats().LogBytes.Load(); n < writes*100 {
		t.Fatalf("the leader keeps %d bytes of entries with a replica cut off, want at least %d", n, writes*100)
	}
	tg.net.isolate(lag, false)
	last := tg.reps[l].Status().Applied
	eventually(t, "the cut-off replica to catch up", func() bool { return tg.reps[lag].Status().Applied >= last })
	if n := tg.reps[lag].Stats().Installed.Load(); n != 0 {
		t.Fatalf("the cut-off replica installed %d snapshots, want none: the entries were kept", n)
	}
	eventually(t, "the leader to drop the entries", func() bool {
		stores[l].checked(t)
		return tg.reps[l].Stats().LogBytes.Load() <= keepBytes
	})
}

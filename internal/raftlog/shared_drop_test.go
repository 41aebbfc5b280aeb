package raftlog

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

func mustDrop(t testing.TB, g *GroupLog) {
	t.Helper()
	if err := g.Drop(); err != nil {
		t.Fatalf("group %d: Drop: %v", g.id, err)
	}
}

// segmentRecords returns the types of the records of each group in the
// segment at path, in order.
func segmentRecords(t *testing.T, path string) map[uint32][]recType {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, off, d := next(data, 0)
	if d != nil {
		t.Fatalf("%s: header: %s", path, d.reason)
	}
	recs := map[uint32][]recType{}
	for off < int64(len(data)) {
		var p []byte
		if p, off, d = next(data, off); d != nil {
			t.Fatalf("%s at %d: %s", path, d.off, d.reason)
		}
		id, rec, err := decodeGroup(p)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		recs[id] = append(recs[id], rec.typ)
	}
	return recs
}

// snapFiles returns the names of the snapshot files of group id in dir.
func snapFiles(t *testing.T, dir string, id uint32) []string {
	t.Helper()
	ls, err := listShared(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, index := range ls.snaps[id] {
		names = append(names, groupSnapName(id, index))
	}
	return names
}

// checkDropped checks that every call of g, a dropped GroupLog, fails with
// ErrDropped and writes nothing.
func checkDropped(t *testing.T, g *GroupLog) {
	t.Helper()
	s := g.s
	size := s.Size()
	calls := []struct {
		name string
		call func() error
	}{
		{"Save", func() error { return g.Save(hardState(9, 9, 0), entries(1, 1, 9), true) }},
		{"Save of nothing", func() error { return g.Save(nil, nil, false) }},
		{"SaveSnapshot", func() error { return g.SaveSnapshot(snapshot(90, 9)) }},
		{"SaveSnapshot of an empty snapshot", func() error { return g.SaveSnapshot(&raftpb.Snapshot{}) }},
		{"WriteSnapshot", func() error { return g.WriteSnapshot(snapshot(91, 9)) }},
		{"MarkSnapshot", func() error { return g.MarkSnapshot(92, 9) }},
		{"Drop", g.Drop},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, ErrDropped) {
			t.Errorf("%s on a dropped group: got %v, want %v", c.name, err, ErrDropped)
		}
	}
	if got := s.Size(); got != size {
		t.Errorf("calls on a dropped group: got size %d, want %d: nothing written", got, size)
	}
	if got := snapFiles(t, s.dir, g.id); len(got) > 0 {
		t.Errorf("calls on a dropped group: got snapshot files %v, want none", got)
	}
	if g.Pins() {
		t.Error("a dropped group pins a segment")
	}
	checkGroup(t, g, groupState{})
}

// TestSharedDrop drops a group with entries, a hard state, a marked
// snapshot and an unmarked one, in every sync mode, and checks that the
// drop is durable before Drop returns, that the group's files are gone,
// that its id gives a new empty log, and that the other groups keep theirs.
func TestSharedDrop(t *testing.T) {
	// The background fsync of SyncEverySec never runs: Drop syncs itself.
	defer func(d time.Duration) { syncInterval = d }(syncInterval)
	syncInterval = time.Hour
	for _, mode := range []SyncMode{SyncAlways, SyncEverySec, SyncNever} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(0)
			cfg.Sync = mode
			s := mustOpenShared(t, dir, cfg)
			for id := uint32(1); id <= 3; id++ {
				mustGroupSave(t, s.Group(id), hardState(2, uint64(id), 20), entries(1, 20, 2))
			}
			old := s.Group(2)
			mustGroupSnapshot(t, old, snapshot(10, 2, 1, 2, 3))
			if err := old.WriteSnapshot(snapshot(15, 2, 1, 2, 3)); err != nil {
				t.Fatalf("WriteSnapshot: %v", err)
			}
			mustGroupSnapshot(t, s.Group(3), snapshot(5, 2, 1, 2, 3))
			mustGroupSave(t, old, hardState(2, 2, 20), entries(21, 22, 2))

			mustDrop(t, old)
			if got := s.durable(); got < old.pos {
				t.Errorf("got the stream durable to %d, want at least %d, past the drop record", got, old.pos)
			}
			if got := snapFiles(t, dir, 2); len(got) > 0 {
				t.Errorf("got snapshot files %v of the dropped group, want none", got)
			}
			if got, want := snapFiles(t, dir, 3), []string{groupSnapName(3, 5)}; !slices.Equal(got, want) {
				t.Errorf("got snapshot files %v of another group, want %v", got, want)
			}
			g := s.Group(2)
			if g == old {
				t.Fatal("Group returns the dropped log after Drop")
			}
			if s.Group(2) != g {
				t.Fatal("Group returns a different log on each call after Drop")
			}
			checkGroup(t, g, groupState{})
			checkDropped(t, old)
			mustCloseShared(t, s)

			want := map[uint32]groupState{
				1: {hs: hardState(2, 1, 20), ents: entries(1, 20, 2)},
				2: {},
				3: {hs: hardState(2, 3, 20), snap: snapshot(5, 2, 1, 2, 3), ents: entries(6, 20, 2)},
			}
			checkShared(t, dir, cfg, want)
			checkShared(t, dir, cfg, want)
		})
	}
}

// TestSharedDropNeverUsed drops groups that never saved anything: one
// asked for now, and one with only an unmarked snapshot file.
func TestSharedDropNeverUsed(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(0)
	s := mustOpenShared(t, dir, cfg)
	mustGroupSave(t, s.Group(1), hardState(1, 1, 3), entries(1, 3, 1))
	fresh := s.Group(42)
	mustDrop(t, fresh)
	checkDropped(t, fresh)
	unmarked := s.Group(43)
	if err := unmarked.WriteSnapshot(snapshot(7, 1)); err != nil {
		t.Fatalf("WriteSnapshot: %v", err)
	}
	mustDrop(t, unmarked)
	if got := snapFiles(t, dir, 43); len(got) > 0 {
		t.Errorf("got snapshot files %v, want none", got)
	}
	for _, id := range []uint32{42, 43} {
		checkGroup(t, s.Group(id), groupState{})
	}
	mustCloseShared(t, s)
	checkShared(t, dir, cfg, map[uint32]groupState{1: {hs: hardState(1, 1, 3), ents: entries(1, 3, 1)}, 42: {}, 43: {}})
}

// TestSharedDropReuse drops a group and saves a new replica's log under
// its id: only the new replica's state is recovered, whether its snapshot
// is below, at or above the dropped replica's.
func TestSharedDropReuse(t *testing.T) {
	tests := []struct {
		name string
		// save saves the new replica's log and returns what it must
		// recover.
		save      func(t *testing.T, g *GroupLog) groupState
		wantSnaps []string // the group's snapshot files after reopening
	}{
		{
			name: "entries only",
			save: func(t *testing.T, g *GroupLog) groupState {
				mustGroupSave(t, g, hardState(7, 3, 2), entries(1, 3, 7))
				return groupState{hs: hardState(7, 3, 2), ents: entries(1, 3, 7)}
			},
		},
		{
			name: "snapshot below the dropped one",
			save: func(t *testing.T, g *GroupLog) groupState {
				mustGroupSnapshot(t, g, snapshot(5, 7, 1, 2, 4))
				mustGroupSave(t, g, hardState(7, 0, 6), entries(6, 8, 7))
				return groupState{hs: hardState(7, 0, 6), snap: snapshot(5, 7, 1, 2, 4), ents: entries(6, 8, 7)}
			},
			wantSnaps: []string{groupSnapName(2, 5)},
		},
		{
			name: "snapshot at the dropped one's index",
			save: func(t *testing.T, g *GroupLog) groupState {
				mustGroupSnapshot(t, g, snapshot(50, 7, 1, 2, 4))
				return groupState{hs: hardState(7, 0, 50), snap: snapshot(50, 7, 1, 2, 4)}
			},
			wantSnaps: []string{groupSnapName(2, 50)},
		},
		{
			name: "snapshot above the dropped one",
			save: func(t *testing.T, g *GroupLog) groupState {
				mustGroupSnapshot(t, g, snapshot(80, 7, 1, 2, 4))
				mustGroupSave(t, g, hardState(7, 4, 82), entries(81, 82, 7))
				return groupState{hs: hardState(7, 4, 82), snap: snapshot(80, 7, 1, 2, 4), ents: entries(81, 82, 7)}
			},
			wantSnaps: []string{groupSnapName(2, 80)},
		},
		{
			name: "own snapshots after entries",
			save: func(t *testing.T, g *GroupLog) groupState {
				mustGroupSave(t, g, hardState(7, 3, 10), entries(1, 12, 7))
				mustGroupSnapshot(t, g, snapshot(4, 7, 1, 2, 4))
				mustGroupSnapshot(t, g, snapshot(9, 7, 1, 2, 4))
				return groupState{hs: hardState(7, 3, 10), snap: snapshot(9, 7, 1, 2, 4), ents: entries(10, 12, 7)}
			},
			wantSnaps: []string{groupSnapName(2, 9)},
		},
		{
			// While the drop record is in the log, an unmarked file
			// cannot be told from the dropped replica's: it goes.
			name: "unmarked snapshot",
			save: func(t *testing.T, g *GroupLog) groupState {
				mustGroupSave(t, g, hardState(7, 3, 2), entries(1, 3, 7))
				if err := g.WriteSnapshot(snapshot(70, 7)); err != nil {
					t.Fatalf("WriteSnapshot: %v", err)
				}
				return groupState{hs: hardState(7, 3, 2), ents: entries(1, 3, 7)}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(0)
			s := mustOpenShared(t, dir, cfg)
			other, old := s.Group(1), s.Group(2)
			mustGroupSave(t, other, hardState(3, 1, 30), entries(1, 30, 3))
			mustGroupSave(t, old, hardState(3, 1, 60), entries(1, 60, 3))
			mustGroupSnapshot(t, old, snapshot(50, 3, 1, 2, 3))
			mustDrop(t, old)
			g := s.Group(2)
			want := tt.save(t, g)
			mustCloseShared(t, s)

			all := map[uint32]groupState{1: {hs: hardState(3, 1, 30), ents: entries(1, 30, 3)}, 2: want}
			checkShared(t, dir, cfg, all)
			if got := snapFiles(t, dir, 2); !slices.Equal(got, tt.wantSnaps) {
				t.Errorf("got snapshot files %v, want %v", got, tt.wantSnaps)
			}
			checkShared(t, dir, cfg, all)
		})
	}
}

// TestSharedDropCrash recreates the dropped replica's snapshot files after
// Drop, as a crash between the durable drop record and their removal
// leaves them: OpenShared must remove them, not load them, also when a new
// replica saved its own log and snapshots under the id.
func TestSharedDropCrash(t *testing.T) {
	tests := []struct {
		name string
		save func(t *testing.T, g *GroupLog) groupState // the new replica's, if any
	}{
		{name: "no new replica"},
		{
			name: "a new replica's snapshot below the stale ones",
			save: func(t *testing.T, g *GroupLog) groupState {
				mustGroupSnapshot(t, g, snapshot(5, 7, 1, 2, 4))
				mustGroupSave(t, g, hardState(7, 0, 6), entries(6, 8, 7))
				return groupState{hs: hardState(7, 0, 6), snap: snapshot(5, 7, 1, 2, 4), ents: entries(6, 8, 7)}
			},
		},
		{
			name: "a new replica's snapshot between the stale ones",
			save: func(t *testing.T, g *GroupLog) groupState {
				mustGroupSnapshot(t, g, snapshot(12, 7, 1, 2, 4))
				return groupState{hs: hardState(7, 0, 12), snap: snapshot(12, 7, 1, 2, 4)}
			},
		},
		{
			name: "a new replica's entries only",
			save: func(t *testing.T, g *GroupLog) groupState {
				mustGroupSave(t, g, hardState(7, 3, 1), entries(1, 2, 7))
				return groupState{hs: hardState(7, 3, 1), ents: entries(1, 2, 7)}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(0)
			s := mustOpenShared(t, dir, cfg)
			mustGroupSave(t, s.Group(1), hardState(1, 1, 5), entries(1, 5, 1))
			old := s.Group(2)
			mustGroupSave(t, old, hardState(3, 1, 20), entries(1, 20, 3))
			mustGroupSnapshot(t, old, snapshot(10, 3, 1, 2, 3))
			if err := old.WriteSnapshot(snapshot(15, 3, 1, 2, 3)); err != nil {
				t.Fatalf("WriteSnapshot: %v", err)
			}
			stale := map[string][]byte{}
			for _, name := range snapFiles(t, dir, 2) {
				b, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				stale[name] = b
			}
			if len(stale) != 2 {
				t.Fatalf("got %d snapshot files, want 2", len(stale))
			}
			mustDrop(t, old)
			var want groupState
			if tt.save != nil {
				want = tt.save(t, s.Group(2))
			}
			mustCloseShared(t, s)
			for name, b := range stale {
				if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}

			all := map[uint32]groupState{1: {hs: hardState(1, 1, 5), ents: entries(1, 5, 1)}, 2: want}
			checkShared(t, dir, cfg, all)
			for name := range stale {
				if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("stale snapshot %s: got %v, want it removed", name, err)
				}
			}
			checkShared(t, dir, cfg, all)
		})
	}
}

// TestSharedDropRemoveFails fails the removal of the snapshot files after
// the drop record is durable: the group stays dropped, the drop record's
// segment stays however much the snapshots cover, and a second Drop, or a
// reopening, completes the drop and frees the segments.
func TestSharedDropRemoveFails(t *testing.T) {
	tests := []struct {
		name string
		// withEntries gives the dropped group entries in the first
		// segment and in the drop record's; without, only the drop
		// record keeps its segment.
		withEntries bool
		reopen      bool
	}{
		{name: "Drop again"},
		{name: "Drop again, with entries", withEntries: true},
		{name: "reopen", reopen: true},
		{name: "reopen, with entries", withEntries: true, reopen: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(512)
			s := mustOpenShared(t, dir, cfg)
			other, old := s.Group(1), s.Group(2)
			if tt.withEntries {
				mustGroupSave(t, old, hardState(1, 1, 3), entries(1, 3, 1))
			}
			for i := uint64(1); i <= 30; i += 3 {
				mustGroupSave(t, other, hardState(1, 1, i+2), entries(i, i+2, 1))
			}
			if tt.withEntries {
				mustGroupSave(t, old, hardState(1, 1, 6), entries(4, 6, 1))
			}
			mustGroupSnapshot(t, old, snapshot(6, 1))
			mustGroupSave(t, old, hardState(1, 1, 6), nil)
			s.beforeDropRemove = func() error { return errors.New("disk on fire") }
			if err := old.Drop(); err == nil || errors.Is(err, ErrDropped) {
				t.Fatalf("Drop with a failing removal: got %v, want the removal's error", err)
			}
			s.beforeDropRemove = nil
			if err := old.Save(nil, entries(7, 7, 1), true); !errors.Is(err, ErrDropped) {
				t.Fatalf("Save after a failed Drop: got %v, want %v", err, ErrDropped)
			}
			if s.Group(2) != old {
				t.Fatal("Group returns a new log before the drop completed")
			}
			dropSeg := fileName(old.dropSeq, segExt)
			for i := uint64(31); i <= 60; i += 3 {
				mustGroupSave(t, other, hardState(1, 1, i+2), entries(i, i+2, 1))
			}
			mustGroupSnapshot(t, other, snapshot(60, 1))
			if got := files(t, dir, segExt); !slices.Contains(got, dropSeg) || got[len(got)-1] == dropSeg {
				t.Fatalf("got segments %v, want %s among them, not the current one", got, dropSeg)
			}

			if tt.reopen {
				mustCloseShared(t, s)
				s = mustOpenShared(t, dir, cfg)
				if got := snapFiles(t, dir, 2); len(got) > 0 {
					t.Errorf("got snapshot files %v, want none", got)
				}
			} else {
				mustDrop(t, old)
				if s.Group(2) == old {
					t.Fatal("Group returns the dropped log after Drop")
				}
				checkDropped(t, old)
			}
			if got := files(t, dir, segExt); len(got) != 1 {
				t.Errorf("got segments %v, want only the current one", got)
			}
			mustCloseShared(t, s)
			checkShared(t, dir, cfg, map[uint32]groupState{1: {hs: hardState(1, 1, 60), snap: snapshot(60, 1)}, 2: {}})
		})
	}
}

// TestSharedDropCompaction checks that the segments that a dropped group's
// entries kept go once the other groups' snapshots cover theirs, that the
// group is in no new segment's prefix, and that once the drop record's
// segment is deleted too, a new replica under the id still recovers only
// its own state.
func TestSharedDropCompaction(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(512)
	s := mustOpenShared(t, dir, cfg)
	other, old := s.Group(1), s.Group(2)
	for i := uint64(1); i <= 60; i += 3 {
		mustGroupSave(t, old, hardState(4, 2, i+2), entries(i, i+2, 4))
		mustGroupSave(t, other, hardState(1, 1, i+2), entries(i, i+2, 1))
	}
	mustGroupSnapshot(t, old, snapshot(30, 4))
	mustGroupSnapshot(t, other, snapshot(60, 1))
	before, _ := segmentsOnDisk(t, dir)
	if len(before) < 6 || !old.Pins() {
		t.Fatalf("got segments %v, pinned %v: want several, pinned by the group to drop", before, old.Pins())
	}
	size := s.Size()

	mustDrop(t, old)
	after, onDisk := segmentsOnDisk(t, dir)
	if len(after) != 1 {
		t.Fatalf("got segments %v after the drop, want only the current one", after)
	}
	if got := s.Size(); got >= size || got != onDisk {
		t.Errorf("got Size %d after the drop, want less than %d and the %d bytes on disk", got, size, onDisk)
	}
	dropSeg := after[0]
	if got := segmentRecords(t, filepath.Join(dir, dropSeg))[2]; !slices.Contains(got, recDrop) {
		t.Fatalf("got records %v of the dropped group in %s, want its drop record", got, dropSeg)
	}

	// A new replica under the id; the other group goes on until the
	// drop record's segment is deleted.
	g := s.Group(2)
	mustGroupSave(t, g, hardState(9, 3, 2), entries(1, 4, 9))
	mustGroupSnapshot(t, g, snapshot(2, 9))
	for i := uint64(61); i <= 120; i += 3 {
		mustGroupSave(t, other, hardState(1, 1, i+2), entries(i, i+2, 1))
	}
	mustGroupSnapshot(t, other, snapshot(120, 1))
	mustGroupSave(t, g, hardState(9, 3, 4), entries(5, 5, 9))
	mustGroupSnapshot(t, g, snapshot(5, 9))
	segs := files(t, dir, segExt)
	if slices.Contains(segs, dropSeg) {
		t.Fatalf("got segments %v, want %s, with the drop record, deleted", segs, dropSeg)
	}
	for _, name := range segs {
		recs := segmentRecords(t, filepath.Join(dir, name))
		if slices.Contains(recs[2], recDrop) {
			t.Errorf("segment %s holds a drop record", name)
		}
	}
	mustCloseShared(t, s)
	want := map[uint32]groupState{
		1: {hs: hardState(1, 1, 120), snap: snapshot(120, 1)},
		2: {hs: hardState(9, 3, 5), snap: snapshot(5, 9)},
	}
	checkShared(t, dir, cfg, want)
	if got := snapFiles(t, dir, 2); !slices.Equal(got, []string{groupSnapName(2, 5)}) {
		t.Errorf("got snapshot files %v, want only the new replica's", got)
	}
}

// TestSharedDropPrefix checks that segments started after a drop hold
// nothing of the dropped group, in their prefix or after it.
func TestSharedDropPrefix(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(256)
	s := mustOpenShared(t, dir, cfg)
	other, old := s.Group(1), s.Group(2)
	mustGroupSave(t, old, hardState(4, 2, 3), entries(1, 3, 4))
	mustGroupSnapshot(t, old, snapshot(2, 4))
	mustGroupSave(t, other, hardState(1, 1, 1), entries(1, 1, 1))
	mustDrop(t, old)
	dropSeq := old.dropSeq
	for i := uint64(2); i <= 30; i++ {
		mustGroupSave(t, other, hardState(1, 1, i), entries(i, i, 1))
	}
	segs := files(t, dir, segExt)
	if len(segs) < 3 {
		t.Fatalf("got segments %v, want several", segs)
	}
	for _, name := range segs {
		if name <= fileName(dropSeq, segExt) {
			continue
		}
		if got := segmentRecords(t, filepath.Join(dir, name))[2]; len(got) > 0 {
			t.Errorf("segment %s: got records %v of the dropped group, want none", name, got)
		}
	}
	mustCloseShared(t, s)
	checkShared(t, dir, cfg, map[uint32]groupState{1: {hs: hardState(1, 1, 30), ents: entries(1, 30, 1)}, 2: {}})
}

// TestSharedDropConcurrent drops groups and starts new replicas under
// their ids while other groups save, with SyncAlways.
func TestSharedDropConcurrent(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(2048)
	cfg.Sync = SyncAlways
	s := mustOpenShared(t, dir, cfg)
	const (
		groups = 6
		saves  = 30
	)
	var wg sync.WaitGroup
	errs := make(chan error, groups)
	for id := range uint32(groups) {
		wg.Go(func() {
			g := s.Group(id)
			for i := uint64(1); i <= saves; i++ {
				if err := g.Save(hardState(1, 1, i-1), entries(i, i, 1), true); err != nil {
					errs <- err
					return
				}
				if id%2 == 1 && i == saves/2 {
					// Half way, the odd groups move away and
					// come back.
					if err := g.SaveSnapshot(snapshot(i, 1)); err != nil {
						errs <- err
						return
					}
					if err := g.Drop(); err != nil {
						errs <- err
						return
					}
					// The new replica starts from the
					// leader's snapshot.
					g = s.Group(id)
					if err := g.SaveSnapshot(snapshot(i, 1, 7)); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	mustCloseShared(t, s)
	want := map[uint32]groupState{}
	for id := range uint32(groups) {
		w := groupState{hs: hardState(1, 1, saves-1), ents: entries(1, saves, 1)}
		if id%2 == 1 {
			w.snap, w.ents = snapshot(saves/2, 1, 7), entries(saves/2+1, saves, 1)
		}
		want[id] = w
	}
	checkShared(t, dir, cfg, want)
}

package raftlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

func mustOpenShared(t testing.TB, dir string, cfg Config) *Shared {
	t.Helper()
	s, err := OpenShared(dir, cfg)
	if err != nil {
		t.Fatalf("OpenShared: %v", err)
	}
	return s
}

func mustCloseShared(t testing.TB, s *Shared) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func mustGroupSave(t testing.TB, g *GroupLog, hs *raftpb.HardState, ents []*raftpb.Entry) {
	t.Helper()
	if err := g.Save(hs, ents, true); err != nil {
		t.Fatalf("group %d: Save: %v", g.id, err)
	}
}

func mustGroupSnapshot(t testing.TB, g *GroupLog, snap *raftpb.Snapshot) {
	t.Helper()
	if err := g.SaveSnapshot(snap); err != nil {
		t.Fatalf("group %d: SaveSnapshot: %v", g.id, err)
	}
}

// gop is one Save of one group of a shared log.
type gop struct {
	id   uint32
	hs   *raftpb.HardState
	ents []*raftpb.Entry
}

// groupState is what a group should recover.
type groupState struct {
	hs   *raftpb.HardState
	snap *raftpb.Snapshot
	ents []*raftpb.Entry
}

// sharedModel returns what recovering ops gives for each group in them,
// without snapshots.
func sharedModel(ops []gop) map[uint32]groupState {
	per := map[uint32][]op{}
	for _, o := range ops {
		per[o.id] = append(per[o.id], op{hs: o.hs, ents: o.ents})
	}
	want := map[uint32]groupState{}
	for id, ops := range per {
		hs, ents := model(ops)
		want[id] = groupState{hs: hs, ents: ents}
	}
	return want
}

// checkGroup checks what g recovered.
func checkGroup(t *testing.T, g *GroupLog, want groupState) {
	t.Helper()
	hs, snap, ents := g.State()
	if snap.Data != nil {
		t.Errorf("group %d: State's snapshot holds %d bytes of data, want none", g.id, len(snap.Data))
	}
	snap = withData(t, g, snap)
	if want.hs == nil {
		want.hs = &raftpb.HardState{}
	}
	if want.snap == nil {
		want.snap = &raftpb.Snapshot{}
	}
	if !hardStateEqual(hs, want.hs) {
		t.Errorf("group %d: got hard state %v, want %v", g.id, hs, want.hs)
	}
	if !proto.Equal(snap, want.snap) {
		t.Errorf("group %d: got snapshot %v, want %v", g.id, snap, want.snap)
	}
	if len(ents) != len(want.ents) {
		t.Fatalf("group %d: got entries %s, want %s", g.id, describe(ents), describe(want.ents))
	}
	for i := range ents {
		if !proto.Equal(ents[i], want.ents[i]) {
			t.Fatalf("group %d: entry %d: got %v, want %v", g.id, i, ents[i], want.ents[i])
		}
	}
}

// withData returns snap with the data that g's SnapshotData reads.
func withData(t *testing.T, g *GroupLog, snap *raftpb.Snapshot) *raftpb.Snapshot {
	t.Helper()
	r, err := g.SnapshotData()
	if err != nil {
		t.Fatalf("group %d: SnapshotData: %v", g.id, err)
	}
	if r == nil {
		return snap
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("group %d: reading the snapshot's data: %v", g.id, err)
	}
	c := proto.CloneOf(snap)
	c.Data = data
	return c
}

// checkShared reopens dir and checks what every group recovers; a group
// not in want, and group 1000, must recover empty.
func checkShared(t *testing.T, dir string, cfg Config, want map[uint32]groupState) {
	t.Helper()
	s := mustOpenShared(t, dir, cfg)
	defer mustCloseShared(t, s)
	s.mu.Lock()
	ids := slices.Collect(maps.Keys(s.groups))
	s.mu.Unlock()
	for _, id := range ids {
		if _, ok := want[id]; !ok {
			checkGroup(t, s.Group(id), groupState{})
		}
	}
	for id, w := range want {
		checkGroup(t, s.Group(id), w)
	}
	checkGroup(t, s.Group(1000), groupState{})
}

// writeShared saves ops into the shared log in dir and returns the stream
// offset at which each op's record starts, and the final size; with one
// segment, these are offsets in it.
func writeShared(t *testing.T, dir string, cfg Config, ops []gop) ([]int64, int64) {
	t.Helper()
	s := mustOpenShared(t, dir, cfg)
	var starts []int64
	for _, o := range ops {
		starts = append(starts, s.Size())
		mustGroupSave(t, s.Group(o.id), o.hs, o.ents)
	}
	size := s.Size()
	mustCloseShared(t, s)
	return starts, size
}

// interleaved returns saves of groups 1, 2 and 3 in turn: each appends
// batches of three entries and its hard state, and overwrites a suffix once.
func interleaved() []gop {
	var ops []gop
	for round := uint64(0); round < 6; round++ {
		for id := uint32(1); id <= 3; id++ {
			first := round*3 + 1
			term := uint64(id)
			ops = append(ops, gop{id: id, hs: hardState(term, uint64(id), first-1), ents: entries(first, first+2, term)})
		}
	}
	// Group 2 loses its last entries to a new leader.
	ops = append(ops, gop{id: 2, hs: hardState(5, 1, 10), ents: entries(11, 12, 5)})
	return ops
}

func TestSharedRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		segSize int64
		ops     []gop
	}{
		{name: "empty"},
		{name: "one group", ops: []gop{{id: 7, hs: hardState(1, 1, 0), ents: entries(1, 3, 1)}, {id: 7, hs: hardState(1, 1, 3)}}},
		{name: "hard state only", ops: []gop{{id: 1, hs: hardState(3, 2, 0)}, {id: 2, hs: hardState(4, 0, 0)}}},
		{name: "three groups interleaved", ops: interleaved()},
		{name: "three groups over many segments", segSize: 300, ops: interleaved()},
		{name: "group zero and the largest id", ops: []gop{{id: 0, ents: entries(1, 2, 1)}, {id: 1<<32 - 1, ents: entries(1, 1, 1)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(tt.segSize)
			writeShared(t, dir, cfg, tt.ops)
			want := sharedModel(tt.ops)
			checkShared(t, dir, cfg, want)
			if tt.segSize > 0 {
				if got := len(files(t, dir, segExt)); got < 4 {
					t.Errorf("got %d segments, want several", got)
				}
			}
			// And again: a reopened log recovers the same.
			checkShared(t, dir, cfg, want)
		})
	}
}

func TestSharedOverwrite(t *testing.T) {
	tests := []struct {
		name    string
		segSize int64
		ops     []gop
	}{
		{
			name: "each group its own suffix",
			ops: []gop{
				{id: 1, ents: entries(1, 10, 1)}, {id: 2, ents: entries(1, 10, 1)}, {id: 3, ents: entries(1, 10, 1)},
				{id: 1, ents: entries(6, 8, 2)}, {id: 2, ents: entries(1, 2, 2)}, {id: 3, ents: entries(10, 12, 3)},
				{id: 1, ents: entries(7, 9, 3)}, {id: 1, ents: entries(10, 10, 3)},
			},
		},
		{
			name:    "across segments",
			segSize: 300,
			ops: []gop{
				{id: 1, ents: entries(1, 4, 1)}, {id: 2, ents: entries(1, 4, 1)}, {id: 1, ents: entries(5, 8, 1)},
				{id: 2, ents: entries(5, 8, 1)}, {id: 1, ents: entries(9, 12, 1)}, {id: 2, ents: entries(3, 5, 2)},
				{id: 1, ents: entries(3, 5, 2)}, {id: 1, ents: entries(6, 6, 2)},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(tt.segSize)
			writeShared(t, dir, cfg, tt.ops)
			checkShared(t, dir, cfg, sharedModel(tt.ops))
		})
	}
}

// segmentsOnDisk returns the segment files of dir and their total size.
func segmentsOnDisk(t *testing.T, dir string) ([]string, int64) {
	t.Helper()
	names := files(t, dir, segExt)
	var size int64
	for _, name := range names {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		size += fi.Size()
	}
	return names, size
}

// TestSharedSnapshotCompaction checks that a segment is deleted only once
// every group with entries in it has a snapshot covering them, and that a
// group whose state was only in deleted segments keeps it.
func TestSharedSnapshotCompaction(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(512)
	s := mustOpenShared(t, dir, cfg)
	a, b, c := s.Group(1), s.Group(2), s.Group(3)
	// Group 3 saves its hard state once, into the first segment only.
	mustGroupSave(t, c, hardState(7, 3, 0), nil)
	for i := uint64(1); i <= 60; i += 3 {
		mustGroupSave(t, a, hardState(1, 1, i+2), entries(i, i+2, 1))
		mustGroupSave(t, b, hardState(2, 2, i+2), entries(i, i+2, 2))
	}
	before, _ := segmentsOnDisk(t, dir)
	if len(before) < 6 {
		t.Fatalf("got %d segments, want at least 6", len(before))
	}

	// A's snapshot covers all of A, but B has entries in every segment.
	// (A snapmark may start a new segment: only the first ones are
	// compared.)
	snapA := snapshot(60, 1, 1, 2, 3)
	mustGroupSnapshot(t, a, snapA)
	if got, _ := segmentsOnDisk(t, dir); len(got) < len(before) || !slices.Equal(got[:len(before)], before) {
		t.Fatalf("after A's snapshot: got segments %v, want all of %v kept", got, before)
	}

	// B's snapshot covers B up to 30: the segments that hold only B's
	// entries up to 30 go, those with later ones stay.
	snapB := snapshot(30, 2, 1, 2, 3)
	mustGroupSnapshot(t, b, snapB)
	mid, size := segmentsOnDisk(t, dir)
	if mid[0] == before[0] || !slices.Contains(before, mid[0]) || len(mid) < 2 {
		t.Fatalf("after B's snapshot at 30: got segments %v, want some of %v deleted, not all", mid, before)
	}
	if got := s.Size(); got != size {
		t.Errorf("got Size %d, want the %d bytes on disk", got, size)
	}
	s.mu.Lock()
	if got := s.segs[0].maxIndex[2]; got <= 30 {
		t.Errorf("the first segment left holds B's entries up to %d only", got)
	}
	s.mu.Unlock()

	// B's snapshot at 60 covers the rest: only the current segment stays.
	snapB2 := snapshot(60, 2, 1, 2, 3)
	mustGroupSnapshot(t, b, snapB2)
	after, size := segmentsOnDisk(t, dir)
	if len(after) != 1 || after[0] < before[len(before)-1] {
		t.Fatalf("after B's snapshot at 60: got segments %v, want only the current one", after)
	}
	if got := s.Size(); got != size {
		t.Errorf("got Size %d, want the %d bytes on disk", got, size)
	}
	if got, want := files(t, dir, snapExt), []string{groupSnapName(1, 60), groupSnapName(2, 60)}; !slices.Equal(got, want) {
		t.Errorf("got snapshot files %v, want %v", got, want)
	}
	mustCloseShared(t, s)

	want := map[uint32]groupState{
		1: {hs: hardState(1, 1, 60), snap: snapA},
		2: {hs: hardState(2, 2, 60), snap: snapB2},
		3: {hs: hardState(7, 3, 0)},
	}
	checkShared(t, dir, cfg, want)

	// Older snapshots are refused; the log goes on after the snapshots.
	s = mustOpenShared(t, dir, cfg)
	if err := s.Group(2).SaveSnapshot(snapB); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("older snapshot: got %v, want %v", err, ErrOutOfOrder)
	}
	mustGroupSave(t, s.Group(1), hardState(1, 1, 61), entries(61, 62, 1))
	mustCloseShared(t, s)
	want[1] = groupState{hs: hardState(1, 1, 61), snap: snapA, ents: entries(61, 62, 1)}
	checkShared(t, dir, cfg, want)
}

// TestSharedPartialPrefix checks that a segment whose prefix was cut short
// in a crash does not lose a group's state once older segments go.
func TestSharedPartialPrefix(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(0)
	s := mustOpenShared(t, dir, cfg)
	mustGroupSave(t, s.Group(1), hardState(1, 1, 10), entries(1, 10, 1))
	mustGroupSave(t, s.Group(2), hardState(4, 2, 0), nil)
	mustCloseShared(t, s)
	// A crash while the next segment was started: its header and group
	// 1's hard state reached the disk, group 2's did not.
	b := appendHeader(nil, kindShared, 2)
	b = appendGroupHardState(b, 1, hardState(1, 1, 10))
	if err := os.WriteFile(filepath.Join(dir, fileName(2, segExt)), b, 0o644); err != nil {
		t.Fatal(err)
	}

	s = mustOpenShared(t, dir, cfg)
	mustGroupSnapshot(t, s.Group(1), snapshot(10, 1))
	if got := files(t, dir, segExt); len(got) != 1 {
		t.Fatalf("got segments %v, want only the current one", got)
	}
	mustCloseShared(t, s)
	checkShared(t, dir, cfg, map[uint32]groupState{
		1: {hs: hardState(1, 1, 10), snap: snapshot(10, 1)},
		2: {hs: hardState(4, 2, 0)},
	})
}

// TestSharedSnapshotStale checks that a group's snapshot that does not
// match its log drops the entries after it, while the other groups keep
// theirs.
func TestSharedSnapshotStale(t *testing.T) {
	tests := []struct {
		name          string
		before, after []*raftpb.Entry
		snap          *raftpb.Snapshot
		cut           bool // the snapmark record is lost
		want          []*raftpb.Entry
		wantHS        *raftpb.HardState
	}{
		{name: "matching snapshot keeps the entries after it", before: entries(1, 10, 1), snap: snapshot(5, 1), want: entries(6, 10, 1), wantHS: hardState(1, 0, 5)},
		{name: "other term drops the entries after it", before: entries(1, 10, 1), snap: snapshot(5, 2), wantHS: hardState(2, 0, 5)},
		{name: "beyond the log", before: entries(1, 10, 1), snap: snapshot(20, 2), wantHS: hardState(2, 0, 20)},
		{name: "entries after a stale snapshot stay", before: entries(1, 10, 1), snap: snapshot(5, 2), after: entries(6, 7, 2), want: entries(6, 7, 2), wantHS: hardState(2, 0, 5)},
		{name: "lost snapmark", before: entries(1, 10, 1), snap: snapshot(5, 2), cut: true, wantHS: hardState(2, 0, 5)},
		{name: "lost snapmark of a matching snapshot", before: entries(1, 10, 1), snap: snapshot(5, 1), cut: true, want: entries(6, 10, 1), wantHS: hardState(1, 0, 5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(0)
			s := mustOpenShared(t, dir, cfg)
			g, other := s.Group(4), s.Group(5)
			mustGroupSave(t, other, hardState(1, 1, 3), entries(1, 3, 1))
			mustGroupSave(t, g, hardState(1, 0, 0), tt.before)
			mark := s.Size()
			mustGroupSnapshot(t, g, tt.snap)
			if len(tt.after) > 0 {
				mustGroupSave(t, g, nil, tt.after)
			}
			mustCloseShared(t, s)
			if tt.cut {
				if err := os.Truncate(filepath.Join(dir, fileName(1, segExt)), mark); err != nil {
					t.Fatal(err)
				}
			}
			checkShared(t, dir, cfg, map[uint32]groupState{
				4: {hs: tt.wantHS, snap: tt.snap, ents: tt.want},
				5: {hs: hardState(1, 1, 3), ents: entries(1, 3, 1)},
			})
		})
	}
}

func TestSharedSnapshotDamaged(t *testing.T) {
	tests := []struct {
		name      string
		keepOlder bool
		wantErr   bool
	}{
		{name: "older snapshot used", keepOlder: true},
		{name: "no older snapshot", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(0)
			s := mustOpenShared(t, dir, cfg)
			g := s.Group(9)
			mustGroupSave(t, g, hardState(1, 1, 20), entries(1, 20, 1))
			mustGroupSave(t, s.Group(8), hardState(1, 1, 0), entries(1, 2, 1))
			old := snapshot(10, 1)
			mustGroupSnapshot(t, g, old)
			oldPath := filepath.Join(dir, groupSnapName(9, 10))
			oldBytes, err := os.ReadFile(oldPath)
			if err != nil {
				t.Fatal(err)
			}
			mustGroupSnapshot(t, g, snapshot(15, 1))
			mustCloseShared(t, s)
			if tt.keepOlder {
				if err := os.WriteFile(oldPath, oldBytes, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			newPath := filepath.Join(dir, groupSnapName(9, 15))
			flipByte(t, newPath, -3)

			s, err = OpenShared(dir, cfg)
			if tt.wantErr {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("got %v, want %v", err, ErrCorrupt)
				}
				if !strings.Contains(err.Error(), newPath) {
					t.Errorf("got %q, want it to name %s", err, newPath)
				}
				return
			}
			if err != nil {
				t.Fatalf("OpenShared: %v", err)
			}
			checkGroup(t, s.Group(9), groupState{hs: hardState(1, 1, 20), snap: old, ents: entries(11, 20, 1)})
			checkGroup(t, s.Group(8), groupState{hs: hardState(1, 1, 0), ents: entries(1, 2, 1)})
			mustCloseShared(t, s)
			if _, err := os.Stat(newPath + corruptExt); err != nil {
				t.Errorf("damaged snapshot not kept aside: %v", err)
			}
		})
	}
}

// tornShared is a sequence of saves of three groups, each writing one
// record.
var tornShared = []gop{
	{id: 1, ents: entries(1, 3, 1)},
	{id: 2, hs: hardState(1, 1, 0)},
	{id: 3, ents: entries(1, 2, 1)},
	{id: 1, hs: hardState(1, 1, 3)},
	{id: 2, ents: entries(1, 4, 1)},
	{id: 1, ents: entries(4, 6, 1)},
	{id: 3, ents: entries(2, 3, 2)},
	{id: 1, ents: entries(5, 7, 2)},
	{id: 2, hs: hardState(2, 2, 4)},
	{id: 3, hs: hardState(2, 0, 3)},
}

// TestSharedTornTail cuts the only segment at every byte and checks that
// every whole record of every group is recovered, and the rest cut away.
func TestSharedTornTail(t *testing.T) {
	cfg := testConfig(0)
	src := t.TempDir()
	starts, size := writeShared(t, src, cfg, tornShared)
	data, err := os.ReadFile(filepath.Join(src, fileName(1, segExt)))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != size {
		t.Fatalf("got a segment of %d bytes, want %d", len(data), size)
	}
	ends := append(slices.Clone(starts[1:]), size)
	for cut := int64(0); cut < size; cut++ {
		k, _ := slices.BinarySearch(ends, cut+1) // the records whole before cut
		dir := t.TempDir()
		path := filepath.Join(dir, fileName(1, segExt))
		if err := os.WriteFile(path, data[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprintf("cut at %d", cut), func(t *testing.T) {
			checkShared(t, dir, cfg, sharedModel(tornShared[:k]))
			fi, err := os.Stat(path)
			switch {
			case k == 0 && cut >= starts[0]:
				// Cut to its header, the segment holds no entry
				// and is deleted.
				if !errors.Is(err, os.ErrNotExist) {
					t.Errorf("got %v, %v, want the segment deleted", fi, err)
				}
			case err != nil:
				t.Fatal(err)
			case k == 0 && fi.Size() != starts[0]:
				// Torn in its header, the segment is written anew.
				t.Errorf("got file size %d after recovery, want %d", fi.Size(), starts[0])
			case k > 0 && fi.Size() != ends[k-1]:
				t.Errorf("got file size %d after recovery, want %d", fi.Size(), ends[k-1])
			}
		})
	}
}

func TestSharedTornTailKinds(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
		keep   int // saves recovered
	}{
		{"bad checksum of the last record", func(t *testing.T, path string) { flipByte(t, path, -1) }, len(tornShared) - 1},
		{"zeros after the last record", func(t *testing.T, path string) { appendBytes(t, path, make([]byte, 4096)) }, len(tornShared)},
		{"a few garbage bytes", func(t *testing.T, path string) { appendBytes(t, path, []byte{1, 2, 3}) }, len(tornShared)},
		{"torn header of a new segment", func(t *testing.T, path string) {
			appendBytes(t, filepath.Join(filepath.Dir(path), fileName(2, segExt)), []byte{9, 0, 0})
		}, len(tornShared)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(0)
			writeShared(t, dir, cfg, tornShared)
			tt.damage(t, filepath.Join(dir, fileName(1, segExt)))
			want := sharedModel(tornShared[:tt.keep])
			checkShared(t, dir, cfg, want)
			// The log goes on from there.
			s := mustOpenShared(t, dir, cfg)
			next := uint64(len(want[1].ents)) + 1
			mustGroupSave(t, s.Group(1), nil, entries(next, next, 3))
			mustCloseShared(t, s)
			w := want[1]
			w.ents = append(slices.Clone(w.ents), entries(next, next, 3)...)
			want[1] = w
			checkShared(t, dir, cfg, want)
		})
	}
}

func TestSharedCorruption(t *testing.T) {
	tests := []struct {
		name string
		// damage harms the files of dir and returns the file the error
		// must name and the offset, -1 for any.
		damage func(t *testing.T, dir string, segs []string) (string, int64)
	}{
		{"payload byte in the first segment", func(t *testing.T, dir string, segs []string) (string, int64) {
			path := filepath.Join(dir, segs[0])
			flipByte(t, path, -5)
			return path, -1
		}},
		{"length byte in a middle segment", func(t *testing.T, dir string, segs []string) (string, int64) {
			path := filepath.Join(dir, segs[1])
			flipByte(t, path, 0)
			return path, 0
		}},
		{"truncated segment before the last", func(t *testing.T, dir string, segs []string) (string, int64) {
			path := filepath.Join(dir, segs[len(segs)-2])
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, fi.Size()-3); err != nil {
				t.Fatal(err)
			}
			return path, -1
		}},
		{"missing segment", func(t *testing.T, dir string, segs []string) (string, int64) {
			path := filepath.Join(dir, segs[1])
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			return path, -1
		}},
		{"segment of a single-group log", func(t *testing.T, dir string, segs []string) (string, int64) {
			path := filepath.Join(dir, segs[0])
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			hdr := appendHeader(nil, kindShared, 1)
			b = append(appendHeader(nil, kindSegment, 1), b[len(hdr):]...)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return path, 0
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(300)
			s := mustOpenShared(t, dir, cfg)
			for i := uint64(1); i <= 40; i += 4 {
				for id := uint32(1); id <= 3; id++ {
					mustGroupSave(t, s.Group(id), hardState(1, 1, i), entries(i, i+3, 1))
				}
			}
			mustCloseShared(t, s)
			segs := files(t, dir, segExt)
			if len(segs) < 3 {
				t.Fatalf("got %d segments, want at least 3", len(segs))
			}
			path, off := tt.damage(t, dir, segs)
			_, err := OpenShared(dir, cfg)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want %v", err, ErrCorrupt)
			}
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Path != path || (off >= 0 && ce.Offset != off) {
				t.Fatalf("got %v, want a *CorruptError naming %s at offset %d", err, path, off)
			}
		})
	}
}

// TestSharedCorruptionOffset damages each record in the middle of the last
// segment and checks the error names it.
func TestSharedCorruptionOffset(t *testing.T) {
	cfg := testConfig(0)
	src := t.TempDir()
	starts, _ := writeShared(t, src, cfg, tornShared)
	data, err := os.ReadFile(filepath.Join(src, fileName(1, segExt)))
	if err != nil {
		t.Fatal(err)
	}
	for k := range len(tornShared) - 1 {
		for _, at := range []int64{0, 5, 9, headerSize + 1} {
			t.Run(fmt.Sprintf("record %d byte %d", k, at), func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, fileName(1, segExt))
				b := slices.Clone(data)
				b[starts[k]+at] ^= 0x40
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
				_, err := OpenShared(dir, cfg)
				var ce *CorruptError
				if !errors.As(err, &ce) || ce.Path != path || ce.Offset != starts[k] {
					t.Fatalf("got %v, want a *CorruptError naming %s at offset %d", err, path, starts[k])
				}
			})
		}
	}
}

// TestSharedGroupCommit holds the first fdatasync until seven other groups
// have written, and checks that one fdatasync released all eight Saves.
func TestSharedGroupCommit(t *testing.T) {
	cfg := testConfig(0)
	cfg.Sync = SyncAlways
	dir := t.TempDir()
	s := mustOpenShared(t, dir, cfg)
	const groups = 8
	var first atomic.Bool
	entered, release := make(chan struct{}), make(chan struct{})
	s.beforeSync = func() {
		if first.CompareAndSwap(false, true) {
			close(entered)
			<-release
		}
	}
	var want int64
	for id := range uint32(groups) {
		want += int64(len(must(appendGroupEntries(nil, id, entries(1, 2, 1)))))
	}
	want += s.Size()
	before := s.Syncs()

	errs := make(chan error, groups)
	save := func(id uint32) { errs <- s.Group(id).Save(nil, entries(1, 2, 1), true) }
	go save(0)
	<-entered
	for id := uint32(1); id < groups; id++ {
		go save(id)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Size() < want {
		if time.Now().After(deadline) {
			t.Fatalf("got %d bytes written, want %d", s.Size(), want)
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	for range groups {
		if err := <-errs; err != nil {
			t.Fatalf("Save: %v", err)
		}
	}
	if got := s.Syncs() - before; got != 1 {
		t.Errorf("got %d fdatasyncs for %d Saves written before the first began, want 1", got, groups)
	}
	var waited int64
	for id := range uint32(groups) {
		n := s.Group(id).Syncs()
		if n > 1 {
			t.Errorf("group %d: got %d fdatasyncs waited for, want at most 1", id, n)
		}
		waited += n
	}
	if waited < 1 {
		t.Errorf("got %d fdatasyncs waited for by all groups, want at least 1", waited)
	}
	s.beforeSync = nil
	mustCloseShared(t, s)
	want2 := map[uint32]groupState{}
	for id := range uint32(groups) {
		want2[id] = groupState{ents: entries(1, 2, 1)}
	}
	checkShared(t, dir, cfg, want2)
}

// TestSharedConcurrentSaves runs eight groups' Saves concurrently with
// SyncAlways, across segment rolls and snapshots, and checks that
// everything is recovered and that no Save needed more than one fdatasync.
func TestSharedConcurrentSaves(t *testing.T) {
	cfg := testConfig(4096)
	cfg.Sync = SyncAlways
	dir := t.TempDir()
	s := mustOpenShared(t, dir, cfg)
	const (
		groups = 8
		saves  = 40
	)
	before := s.Syncs()
	var wg sync.WaitGroup
	errs := make(chan error, groups)
	for id := range uint32(groups) {
		wg.Go(func() {
			g := s.Group(id)
			for i := uint64(1); i <= saves; i++ {
				if err := g.Save(hardState(1, 1, i-1), entries(2*i-1, 2*i, 1), true); err != nil {
					errs <- err
					return
				}
				if id%2 == 0 && i == saves/2 {
					if err := g.SaveSnapshot(snapshot(i, 1)); err != nil {
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
		t.Fatalf("Save: %v", err)
	}
	syncs := s.Syncs() - before
	s.mu.Lock()
	rolls := int64(s.segs[len(s.segs)-1].seq - 1)
	s.mu.Unlock()
	// Each roll fdatasyncs the old segment and the new one's prefix.
	if limit := int64(groups*saves+groups/2) + 2*rolls; syncs > limit {
		t.Errorf("got %d fdatasyncs, want at most %d (one per Save and snapshot, two per roll)", syncs, limit)
	}
	for id := range uint32(groups) {
		if n := s.Group(id).Syncs(); n > saves+1 {
			t.Errorf("group %d: got %d fdatasyncs waited for, want at most %d", id, n, saves+1)
		}
	}
	t.Logf("%d sync Saves and snapshots, %d fdatasyncs (%d segment rolls)", groups*saves+groups/2, syncs, rolls)
	mustCloseShared(t, s)

	want := map[uint32]groupState{}
	for id := range uint32(groups) {
		w := groupState{hs: hardState(1, 1, saves-1), ents: entries(1, 2*saves, 1)}
		if id%2 == 0 {
			w.snap = snapshot(saves/2, 1)
			w.ents = entries(saves/2+1, 2*saves, 1)
		}
		want[id] = w
	}
	checkShared(t, dir, cfg, want)
}

func TestSharedSyncModes(t *testing.T) {
	defer func(d time.Duration) { syncInterval = d }(syncInterval)
	syncInterval = time.Millisecond
	for _, mode := range []SyncMode{SyncAlways, SyncEverySec, SyncNever} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(256)
			cfg.Sync = mode
			s := mustOpenShared(t, dir, cfg)
			for i := uint64(1); i <= 30; i += 3 {
				for id := uint32(1); id <= 2; id++ {
					g := s.Group(id)
					before := g.Syncs()
					sync := i%2 == 1
					if err := g.Save(hardState(1, 1, i-1), entries(i, i+2, 1), sync); err != nil {
						t.Fatalf("Save: %v", err)
					}
					if got := g.Syncs() > before; got != (mode == SyncAlways && sync) {
						t.Fatalf("group %d, Save %d with sync %v in %v: got an fdatasync waited for %v", id, i, sync, mode, got)
					}
				}
			}
			if mode == SyncEverySec {
				deadline := time.Now().Add(5 * time.Second)
				for {
					s.mu.Lock()
					pos := s.written
					s.mu.Unlock()
					if s.durable() >= pos {
						break
					}
					if time.Now().After(deadline) {
						t.Fatal("the background fsync did not run")
					}
					time.Sleep(time.Millisecond)
				}
			}
			if err := s.Sync(); err != nil {
				t.Fatalf("Sync: %v", err)
			}
			mustGroupSnapshot(t, s.Group(1), snapshot(12, 1))
			mustCloseShared(t, s)
			checkShared(t, dir, cfg, map[uint32]groupState{
				1: {hs: hardState(1, 1, 27), snap: snapshot(12, 1), ents: entries(13, 30, 1)},
				2: {hs: hardState(1, 1, 27), ents: entries(1, 30, 1)},
			})
		})
	}
}

func TestSharedSaveErrors(t *testing.T) {
	tests := []struct {
		name string
		ents []*raftpb.Entry
	}{
		{"gap", entries(12, 12, 1)},
		{"not consecutive", slices.Concat(entries(11, 11, 1), entries(13, 13, 1))},
		{"covered by the snapshot", entries(5, 5, 1)},
		{"index zero", entries(0, 0, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustOpenShared(t, t.TempDir(), testConfig(0))
			defer mustCloseShared(t, s)
			g := s.Group(1)
			mustGroupSave(t, g, nil, entries(1, 10, 1))
			mustGroupSave(t, s.Group(2), nil, entries(1, 3, 1))
			mustGroupSnapshot(t, g, snapshot(5, 1))
			size := s.Size()
			if err := g.Save(nil, tt.ents, true); !errors.Is(err, ErrOutOfOrder) {
				t.Fatalf("got %v, want %v", err, ErrOutOfOrder)
			}
			if got := s.Size(); got != size {
				t.Errorf("got size %d, want %d: nothing written", got, size)
			}
			// The groups are still usable, and the other group's
			// indexes are its own.
			mustGroupSave(t, g, nil, entries(11, 11, 1))
			mustGroupSave(t, s.Group(2), nil, entries(4, 4, 1))
		})
	}
}

func TestSharedLocked(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenShared(t, dir, testConfig(0))
	if _, err := OpenShared(dir, testConfig(0)); !errors.Is(err, ErrLocked) {
		t.Fatalf("second OpenShared: got %v, want %v", err, ErrLocked)
	}
	mustCloseShared(t, s)
	s = mustOpenShared(t, dir, testConfig(0))
	mustCloseShared(t, s)
}

func TestSharedOpenCreatesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s := mustOpenShared(t, dir, testConfig(0))
	mustCloseShared(t, s)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("got %v, %v, want a directory", fi, err)
	}
}

func TestSharedConfigInvalid(t *testing.T) {
	cfg := testConfig(0)
	cfg.SegmentSize = 0
	if _, err := OpenShared(t.TempDir(), cfg); !errors.Is(err, ErrConfig) {
		t.Fatalf("got %v, want %v", err, ErrConfig)
	}
}

func TestSharedClosed(t *testing.T) {
	s := mustOpenShared(t, t.TempDir(), testConfig(0))
	g := s.Group(1)
	mustCloseShared(t, s)
	calls := []struct {
		name string
		call func() error
	}{
		{"Save", func() error { return g.Save(nil, entries(1, 1, 1), true) }},
		{"Save of a group asked for after Close", func() error { return s.Group(2).Save(hardState(1, 1, 0), nil, true) }},
		{"SaveSnapshot", func() error { return g.SaveSnapshot(snapshot(1, 1)) }},
		{"Sync", s.Sync},
		{"Close", s.Close},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, ErrClosed) {
				t.Fatalf("got %v, want %v", err, ErrClosed)
			}
		})
	}
}

func TestSharedFailed(t *testing.T) {
	s := mustOpenShared(t, t.TempDir(), testConfig(0))
	defer mustCloseShared(t, s)
	g := s.Group(1)
	mustGroupSave(t, g, nil, entries(1, 1, 1))
	s.fail(errors.New("disk on fire"))
	for id := uint32(1); id <= 2; id++ {
		if err := s.Group(id).Save(nil, entries(2, 2, 1), true); !errors.Is(err, ErrFailed) {
			t.Fatalf("group %d: got %v, want %v", id, err, ErrFailed)
		}
	}
	if err := s.Sync(); !errors.Is(err, ErrFailed) {
		t.Fatalf("Sync: got %v, want %v", err, ErrFailed)
	}
}

// rebuildState makes a raft.MemoryStorage from what a group recovered.
func rebuildState(t *testing.T, g *GroupLog) *raft.MemoryStorage {
	t.Helper()
	hs, snap, ents := g.State()
	ms := raft.NewMemoryStorage()
	if !raft.IsEmptySnap(snap) {
		if err := ms.ApplySnapshot(snap); err != nil {
			t.Fatalf("ApplySnapshot: %v", err)
		}
	}
	if err := ms.SetHardState(hs); err != nil {
		t.Fatalf("SetHardState: %v", err)
	}
	if err := ms.Append(ents); err != nil {
		t.Fatalf("Append: %v", err)
	}
	return ms
}

func TestSharedMemoryStorage(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(400)
	s := mustOpenShared(t, dir, cfg)
	a, b := s.Group(1), s.Group(2)
	mustGroupSave(t, a, hardState(1, 1, 20), entries(1, 20, 1))
	mustGroupSave(t, b, hardState(3, 2, 4), entries(1, 5, 3))
	mustGroupSnapshot(t, a, snapshot(10, 1, 1, 2, 3))
	mustGroupSave(t, a, hardState(2, 2, 25), entries(21, 30, 2))
	mustGroupSave(t, b, hardState(3, 2, 6), entries(6, 6, 3))
	mustCloseShared(t, s)

	s = mustOpenShared(t, dir, cfg)
	defer mustCloseShared(t, s)
	tests := []struct {
		id                  uint32
		first, last, commit uint64
		term                uint64
		applied             uint64
	}{
		{id: 1, first: 11, last: 30, commit: 25, term: 2, applied: 10},
		{id: 2, first: 1, last: 6, commit: 6, term: 3},
		{id: 3, first: 1, last: 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("group %d", tt.id), func(t *testing.T) {
			ms := rebuildState(t, s.Group(tt.id))
			first, _ := ms.FirstIndex()
			last, _ := ms.LastIndex()
			if first != tt.first || last != tt.last {
				t.Fatalf("got first %d, last %d, want %d, %d", first, last, tt.first, tt.last)
			}
			if tt.last == 0 {
				return
			}
			rn, err := raft.NewRawNode(&raft.Config{
				ID:              1,
				ElectionTick:    10,
				HeartbeatTick:   1,
				Storage:         ms,
				Applied:         tt.applied,
				MaxSizePerMsg:   1 << 20,
				MaxInflightMsgs: 256,
				Logger:          &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)},
			})
			if err != nil {
				t.Fatal(err)
			}
			if st := rn.Status(); st.GetTerm() != tt.term || st.GetCommit() != tt.commit {
				t.Fatalf("got term %d, commit %d, want %d, %d", st.GetTerm(), st.GetCommit(), tt.term, tt.commit)
			}
		})
	}
}

// FuzzReplayShared checks that no segment content makes recovery panic,
// and that what it accepts replays to consecutive entries in every group.
func FuzzReplayShared(f *testing.F) {
	seg := appendHeader(nil, kindShared, 1)
	seg = appendGroupHardState(seg, 1, hardState(1, 1, 0))
	seg = must(appendGroupEntries(seg, 1, entries(1, 3, 1)))
	seg = must(appendGroupEntries(seg, 2, entries(1, 2, 1)))
	seg = appendGroupSnapMark(seg, 1, 2, 1)
	seg = must(appendGroupEntries(seg, 1, entries(2, 4, 2)))
	seg = appendGroupDrop(seg, 2)
	seg = appendGroupSnapMark(seg, 2, 5, 3)
	seg = must(appendGroupEntries(seg, 2, entries(6, 7, 3)))
	seg = appendGroupDrop(seg, 1)
	f.Add(seg)
	f.Add(seg[:len(seg)-3])
	f.Add(appendHeader(nil, kindShared, 1))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, last := range []bool{false, true} {
			rs := map[uint32]*replayer{}
			if _, _, err := replayShared(data, "seg", 1, last, rs); err != nil {
				continue
			}
			for id, r := range rs {
				if r.dropSeq == 0 && len(r.marks) > 0 {
					t.Fatalf("group %d: snapmarks noted with no drop record", id)
				}
				for i, e := range r.ents {
					if e.GetIndex() != r.base+uint64(i)+1 {
						t.Fatalf("group %d: entry %d at position %d after base %d", id, e.GetIndex(), i, r.base)
					}
				}
			}
		}
	})
}

func TestSharedPins(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(256)
	s, err := OpenShared(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	quiet, busy := s.Group(1), s.Group(2)
	if err := quiet.Save(hardState(1, 1, 1), entries(1, 1, 1), true); err != nil {
		t.Fatal(err)
	}
	if quiet.Pins() {
		t.Fatal("a group pins the only segment")
	}
	if n := quiet.Groups(); n != 2 {
		t.Fatalf("Groups() = %d with two groups, want 2", n)
	}
	for i := uint64(1); i <= 60; i++ {
		if err := busy.Save(hardState(1, 1, i), entries(i, i, 1), true); err != nil {
			t.Fatal(err)
		}
	}
	if !quiet.Pins() {
		t.Fatal("a group whose one entry is in the oldest segment does not pin it")
	}
	if err := quiet.SaveSnapshot(snapshot(1, 1)); err != nil {
		t.Fatal(err)
	}
	if quiet.Pins() {
		t.Fatal("a group pins a segment after its snapshot covered its entries")
	}
	if err := busy.Drop(); err != nil {
		t.Fatal(err)
	}
	if n := quiet.Groups(); n != 1 {
		t.Fatalf("Groups() = %d after one of two groups dropped, want 1", n)
	}
}

// A snapshot file written while the group goes on saving is used once
// marked, and on reopening even when the mark never made it; a stale one
// is refused and its file removed, leaving the current one.
func TestSharedSnapshotWriteThenMark(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(1 << 20)
	s := mustOpenShared(t, dir, cfg)
	g := s.Group(1)
	mustGroupSave(t, g, hardState(1, 1, 20), entries(1, 20, 1))
	snap10 := snapshot(10, 1, 1, 2, 3)
	done := make(chan error, 1)
	go func() { done <- g.WriteSnapshot(snap10) }()
	mustGroupSave(t, g, hardState(1, 1, 30), entries(21, 30, 1)) // while the file is written
	if err := <-done; err != nil {
		t.Fatalf("WriteSnapshot: %v", err)
	}
	if err := g.MarkSnapshot(10, 1); err != nil {
		t.Fatalf("MarkSnapshot: %v", err)
	}
	// A crash between the file and its mark: the file is recovered.
	snap25 := snapshot(25, 1, 1, 2, 3)
	if err := g.WriteSnapshot(snap25); err != nil {
		t.Fatalf("WriteSnapshot: %v", err)
	}
	mustCloseShared(t, s)
	checkShared(t, dir, cfg, map[uint32]groupState{1: {hs: hardState(1, 1, 30), snap: snap25, ents: entries(26, 30, 1)}})

	s = mustOpenShared(t, dir, cfg)
	g = s.Group(1)
	if err := g.WriteSnapshot(snapshot(20, 1, 1, 2, 3)); err != nil {
		t.Fatalf("WriteSnapshot: %v", err)
	}
	if err := g.MarkSnapshot(20, 1); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("marking a snapshot older than the recovered one: got %v, want %v", err, ErrOutOfOrder)
	}
	if err := g.MarkSnapshot(25, 1); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("marking the recovered snapshot again: got %v, want %v", err, ErrOutOfOrder)
	}
	if got, want := files(t, dir, snapExt), []string{groupSnapName(1, 25)}; !slices.Equal(got, want) {
		t.Errorf("got snapshot files %v, want %v", got, want)
	}
	mustCloseShared(t, s)
	checkShared(t, dir, cfg, map[uint32]groupState{1: {hs: hardState(1, 1, 30), snap: snap25, ents: entries(26, 30, 1)}})
}

// TestSharedWriteSnapshotFrom: a snapshot whose data is written as it comes
// makes the file WriteSnapshot makes of the same snapshot, byte for byte,
// and is recovered; data of another size than announced, or a failing
// writer, leaves no file.
func TestSharedWriteSnapshotFrom(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	cfg := testConfig(1 << 20)
	s, s2 := mustOpenShared(t, dir, cfg), mustOpenShared(t, other, cfg)
	g, g2 := s.Group(1), s2.Group(1)
	snap := snapshot(10, 2, 1, 2, 3)
	snap.Data = bytes.Repeat([]byte("0123456789abcdef"), 200_000) // past the writer's buffer
	write := func(parts int) func(io.Writer) error {
		return func(w io.Writer) error {
			for part := range slices.Chunk(snap.Data, len(snap.Data)/parts+1) {
				if _, err := w.Write(part); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if err := g.WriteSnapshotFrom(snap.GetMetadata(), len(snap.Data), write(7)); err != nil {
		t.Fatalf("WriteSnapshotFrom: %v", err)
	}
	if err := g2.WriteSnapshot(snap); err != nil {
		t.Fatalf("WriteSnapshot: %v", err)
	}
	name := groupSnapName(1, 10)
	streamed, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(filepath.Join(other, name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(streamed, whole) {
		t.Fatalf("the streamed file (%d bytes) differs from WriteSnapshot's (%d bytes)", len(streamed), len(whole))
	}
	got, err := g.ReadSnapshot(10)
	if err != nil || !bytes.Equal(got.GetData(), snap.Data) || !proto.Equal(got.GetMetadata(), snap.GetMetadata()) {
		t.Fatalf("ReadSnapshot of the streamed file: %v, data equal %v, metadata %v", err, bytes.Equal(got.GetData(), snap.Data), got.GetMetadata())
	}

	bad := snapshot(20, 2, 1, 2, 3)
	if err := g.WriteSnapshotFrom(bad.GetMetadata(), len(snap.Data)+1, write(3)); err == nil {
		t.Fatal("WriteSnapshotFrom with fewer bytes than announced: no error")
	}
	failed := errors.New("the encoder failed")
	if err := g.WriteSnapshotFrom(bad.GetMetadata(), 5, func(io.Writer) error { return failed }); !errors.Is(err, failed) {
		t.Fatalf("WriteSnapshotFrom with a failing writer: got %v, want %v", err, failed)
	}
	if got, want := files(t, dir, snapExt), []string{name}; !slices.Equal(got, want) {
		t.Errorf("snapshot files %v, want %v", got, want)
	}
	if err := g.MarkSnapshot(10, 2); err != nil {
		t.Fatalf("MarkSnapshot: %v", err)
	}
	mustCloseShared(t, s)
	mustCloseShared(t, s2)
	checkShared(t, dir, cfg, map[uint32]groupState{1: {hs: hardState(2, 0, 10), snap: snap}})
}

// TestSharedSnapshotDataChanged: the reader of a recovered snapshot's data
// checks the file's checksum again at its end, so a file changed or cut
// after OpenShared checked it fails the last Read with ErrCorrupt instead of
// passing for the snapshot.
func TestSharedSnapshotDataChanged(t *testing.T) {
	for _, change := range []struct {
		name string
		edit func(b []byte) []byte
	}{
		{"a byte of the data changed", func(b []byte) []byte { b[len(b)-200] ^= 1; return b }},
		{"cut short", func(b []byte) []byte { return b[:len(b)-100] }},
	} {
		dir := t.TempDir()
		cfg := testConfig(1 << 20)
		s := mustOpenShared(t, dir, cfg)
		snap := snapshot(10, 1, 1, 2, 3)
		snap.Data = bytes.Repeat([]byte("data"), 10_000)
		mustGroupSnapshot(t, s.Group(1), snap)
		mustCloseShared(t, s)

		s = mustOpenShared(t, dir, cfg)
		path := filepath.Join(dir, groupSnapName(1, 10))
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, change.edit(b), 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := s.Group(1).SnapshotData()
		if err != nil {
			t.Fatalf("%s: SnapshotData: %v", change.name, err)
		}
		if _, err := io.ReadAll(r); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: reading the data: got %v, want an ErrCorrupt error", change.name, err)
		}
		r.Close()
		mustCloseShared(t, s)
	}
}

// TestSharedForget: once a replica has its recovered state, the log lets
// go of the entries and the snapshot's data, and still tells that the
// group has a log here.
func TestSharedForget(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(1 << 20)
	s := mustOpenShared(t, dir, cfg)
	g := s.Group(1)
	snap := snapshot(10, 1, 1, 2, 3)
	mustGroupSnapshot(t, g, snap)
	mustGroupSave(t, g, hardState(1, 1, 12), entries(11, 12, 1))
	mustCloseShared(t, s)

	s = mustOpenShared(t, dir, cfg)
	defer mustCloseShared(t, s)
	g = s.Group(1)
	checkGroup(t, g, groupState{hs: hardState(1, 1, 12), snap: snap, ents: entries(11, 12, 1)})
	g.Forget()
	hs, rsnap, ents := g.State()
	if !hardStateEqual(hs, hardState(1, 1, 12)) {
		t.Errorf("after Forget: got hard state %v, want it kept", hs)
	}
	if rsnap.Data != nil || rsnap.GetMetadata().GetIndex() != 10 || rsnap.GetMetadata().GetTerm() != 1 {
		t.Errorf("after Forget: got snapshot %v, want its metadata (index 10, term 1) without data", rsnap)
	}
	if len(ents) != 1 || ents[0].GetIndex() != 12 {
		t.Errorf("after Forget: got entries %v, want the last one only", ents)
	}
	// The log goes on as before.
	mustGroupSave(t, g, hardState(1, 1, 13), entries(13, 13, 1))
}

// TestSharedRoundGathersReadyEntries: under SyncAlways the syncer of a
// round lets the ready goroutines run first (fsutil.Gather), and the
// entries other groups save meanwhile are covered by the round's one
// fdatasync.
func TestSharedRoundGathersReadyEntries(t *testing.T) {
	saved := syncsInline
	syncsInline = func() bool { return true }
	defer func() { syncsInline = saved }()
	cfg := testConfig(0)
	cfg.Sync = SyncAlways
	s := mustOpenShared(t, t.TempDir(), cfg)
	defer mustCloseShared(t, s)
	yields := 0
	s.yield = func() {
		yields++
		if yields <= 2 {
			// Another group's entries, written without waiting.
			if err := s.Group(uint32(yields)).Save(nil, entries(1, 1, 1), false); err != nil {
				t.Error(err)
			}
		}
	}
	before := s.Syncs()
	if err := s.Group(0).Save(nil, entries(1, 2, 1), true); err != nil {
		t.Fatal(err)
	}
	if yields != 3 {
		t.Fatalf("entries saved at 2 yields: got %d yields, want 3", yields)
	}
	if got := s.Syncs() - before; got != 1 {
		t.Fatalf("got %d fdatasyncs, want 1 for the round", got)
	}
	if d, w := s.durable(), s.writtenPos(); d != w {
		t.Fatalf("durable up to %d, want everything written (%d): the entries saved while the syncer yielded", d, w)
	}
}

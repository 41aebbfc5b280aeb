package raftlog

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// quiet is a logger that drops everything, for tests that expect warnings.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testConfig returns a config for tests: no fsync, the given segment size
// (the default when 0), no logging.
func testConfig(segmentSize int64) Config {
	cfg := DefaultConfig()
	cfg.Sync = SyncNever
	if segmentSize > 0 {
		cfg.SegmentSize = segmentSize
	}
	cfg.Logger = quiet
	return cfg
}

// entries returns entries first..last of term, each with a small payload.
func entries(first, last, term uint64) []*raftpb.Entry {
	var ents []*raftpb.Entry
	for i := first; i <= last; i++ {
		ents = append(ents, &raftpb.Entry{Index: new(i), Term: new(term), Data: fmt.Appendf(nil, "entry %d of term %d", i, term)})
	}
	return ents
}

func hardState(term, vote, commit uint64) *raftpb.HardState {
	return &raftpb.HardState{Term: new(term), Vote: new(vote), Commit: new(commit)}
}

// snapshot returns a snapshot at index and term, with every field set as in
// the snapshots raft makes.
func snapshot(index, term uint64, voters ...uint64) *raftpb.Snapshot {
	return &raftpb.Snapshot{
		Data: fmt.Appendf(nil, "state at %d", index),
		Metadata: &raftpb.SnapshotMetadata{
			Index:     new(index),
			Term:      new(term),
			ConfState: &raftpb.ConfState{Voters: voters, AutoLeave: new(false)},
		},
	}
}

func mustOpen(t testing.TB, dir string, cfg Config) *Log {
	t.Helper()
	l, err := Open(dir, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

func mustClose(t testing.TB, l *Log) {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func mustSave(t testing.TB, l *Log, hs *raftpb.HardState, ents []*raftpb.Entry) {
	t.Helper()
	if err := l.Save(hs, ents, true); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

// describe prints entries as index/term pairs.
func describe(ents []*raftpb.Entry) string {
	var b strings.Builder
	for _, e := range ents {
		fmt.Fprintf(&b, "%d/%d ", e.GetIndex(), e.GetTerm())
	}
	return b.String()
}

func checkEntries(t *testing.T, got, want []*raftpb.Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got entries %s, want %s", describe(got), describe(want))
	}
	for i := range got {
		if !proto.Equal(got[i], want[i]) {
			t.Fatalf("entry %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

// checkState reopens dir and checks what it recovers.
func checkState(t *testing.T, dir string, cfg Config, hs *raftpb.HardState, snap *raftpb.Snapshot, ents []*raftpb.Entry) {
	t.Helper()
	l := mustOpen(t, dir, cfg)
	defer mustClose(t, l)
	ghs, gsnap, gents := l.State()
	if hs == nil {
		hs = &raftpb.HardState{}
	}
	if snap == nil {
		snap = &raftpb.Snapshot{}
	}
	if !hardStateEqual(ghs, hs) {
		t.Errorf("got hard state %v, want %v", ghs, hs)
	}
	if !proto.Equal(gsnap, snap) {
		t.Errorf("got snapshot %v, want %v", gsnap, snap)
	}
	checkEntries(t, gents, ents)
}

func files(t *testing.T, dir, ext string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	for i := range names {
		names[i] = filepath.Base(names[i])
	}
	return names
}

func TestRoundTrip(t *testing.T) {
	type save struct {
		hs   *raftpb.HardState
		ents []*raftpb.Entry
	}
	tests := []struct {
		name     string
		segSize  int64
		saves    []save
		wantHS   *raftpb.HardState
		wantEnts []*raftpb.Entry
	}{
		{name: "empty"},
		{name: "hard state only", saves: []save{{hs: hardState(3, 2, 0)}}, wantHS: hardState(3, 2, 0)},
		{name: "entries only", saves: []save{{ents: entries(1, 5, 1)}}, wantEnts: entries(1, 5, 1)},
		{
			name:     "both",
			saves:    []save{{hs: hardState(1, 1, 0), ents: entries(1, 3, 1)}, {hs: hardState(1, 1, 3), ents: entries(4, 4, 1)}},
			wantHS:   hardState(1, 1, 3),
			wantEnts: entries(1, 4, 1),
		},
		{
			name:     "many segments",
			segSize:  200,
			saves:    []save{{ents: entries(1, 3, 1)}, {hs: hardState(2, 0, 3)}, {ents: entries(4, 9, 2)}, {hs: hardState(2, 0, 9), ents: entries(10, 12, 2)}, {hs: hardState(3, 3, 9)}},
			wantHS:   hardState(3, 3, 9),
			wantEnts: slices.Concat(entries(1, 3, 1), entries(4, 12, 2)),
		},
		{
			name:     "empty entry",
			saves:    []save{{ents: []*raftpb.Entry{{Index: new(uint64(1)), Term: new(uint64(1))}}}},
			wantEnts: []*raftpb.Entry{{Index: new(uint64(1)), Term: new(uint64(1))}},
		},
		{
			name: "conf change entry",
			saves: []save{{ents: []*raftpb.Entry{{
				Index: new(uint64(1)), Term: new(uint64(1)), Type: raftpb.EntryType_EntryConfChangeV2.Enum(), Data: []byte{1, 2, 3},
			}}}},
			wantEnts: []*raftpb.Entry{{Index: new(uint64(1)), Term: new(uint64(1)), Type: raftpb.EntryType_EntryConfChangeV2.Enum(), Data: []byte{1, 2, 3}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(tt.segSize)
			l := mustOpen(t, dir, cfg)
			for _, s := range tt.saves {
				mustSave(t, l, s.hs, s.ents)
			}
			mustClose(t, l)
			checkState(t, dir, cfg, tt.wantHS, nil, tt.wantEnts)
			if tt.segSize > 0 {
				if got := len(files(t, dir, segExt)); got < 2 {
					t.Errorf("got %d segments, want several", got)
				}
			}
		})
	}
}

func TestOverwrite(t *testing.T) {
	tests := []struct {
		name    string
		segSize int64
		saves   [][]*raftpb.Entry
		want    []*raftpb.Entry
	}{
		{
			name:  "middle",
			saves: [][]*raftpb.Entry{entries(1, 10, 1), entries(6, 8, 2)},
			want:  slices.Concat(entries(1, 5, 1), entries(6, 8, 2)),
		},
		{
			name:  "from the first entry",
			saves: [][]*raftpb.Entry{entries(1, 10, 1), entries(1, 2, 2)},
			want:  entries(1, 2, 2),
		},
		{
			name:  "last entry",
			saves: [][]*raftpb.Entry{entries(1, 10, 1), entries(10, 12, 3)},
			want:  slices.Concat(entries(1, 9, 1), entries(10, 12, 3)),
		},
		{
			name:  "twice",
			saves: [][]*raftpb.Entry{entries(1, 10, 1), entries(6, 8, 2), entries(7, 9, 3), entries(10, 10, 3)},
			want:  slices.Concat(entries(1, 5, 1), entries(6, 6, 2), entries(7, 10, 3)),
		},
		{
			name:    "across segments",
			segSize: 300,
			saves:   [][]*raftpb.Entry{entries(1, 4, 1), entries(5, 8, 1), entries(9, 12, 1), entries(3, 5, 2), entries(6, 6, 2)},
			want:    slices.Concat(entries(1, 2, 1), entries(3, 6, 2)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(tt.segSize)
			l := mustOpen(t, dir, cfg)
			for _, ents := range tt.saves {
				mustSave(t, l, nil, ents)
			}
			mustClose(t, l)
			checkState(t, dir, cfg, nil, nil, tt.want)
		})
	}
}

func TestSnapshot(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(512)
	l := mustOpen(t, dir, cfg)
	for i := uint64(1); i <= 100; i += 5 {
		mustSave(t, l, hardState(1, 1, i+4), entries(i, i+4, 1))
	}
	segsBefore, sizeBefore := files(t, dir, segExt), l.Size()
	if len(segsBefore) < 10 {
		t.Fatalf("got %d segments, want at least 10", len(segsBefore))
	}
	snap := snapshot(50, 1, 1, 2, 3)
	if err := l.SaveSnapshot(snap); err != nil {
		t.Fatalf("SaveSnapshot: %v", err)
	}
	segsAfter := files(t, dir, segExt)
	if len(segsAfter) >= len(segsBefore) {
		t.Fatalf("got %d segments after the snapshot, want fewer than %d", len(segsAfter), len(segsBefore))
	}
	if got := l.Size(); got >= sizeBefore {
		t.Errorf("got size %d after the snapshot, want less than %d", got, sizeBefore)
	}
	if got, want := files(t, dir, snapExt), []string{fileName(50, snapExt)}; !slices.Equal(got, want) {
		t.Errorf("got snapshot files %v, want %v", got, want)
	}
	// The segments that remain are the newest ones.
	if got, want := segsAfter, segsBefore[len(segsBefore)-len(segsAfter):]; !slices.Equal(got, want) {
		t.Errorf("got segments %v, want %v", got, want)
	}
	// Every removed segment held only entries at or below 50: the first
	// segment left must hold entry 51 or an earlier one.
	if got := l.segs[0].maxIndex; got <= 50 && len(l.segs) > 1 {
		t.Errorf("first segment left holds entries up to %d only", got)
	}
	sizeOnDisk := int64(0)
	for _, name := range segsAfter {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		sizeOnDisk += fi.Size()
	}
	if got := l.Size(); got != sizeOnDisk {
		t.Errorf("got Size %d, want the %d bytes on disk", got, sizeOnDisk)
	}
	mustClose(t, l)
	checkState(t, dir, cfg, hardState(1, 1, 100), snap, entries(51, 100, 1))

	// A second snapshot replaces the first.
	l = mustOpen(t, dir, cfg)
	mustSave(t, l, hardState(2, 1, 101), entries(101, 110, 2))
	snap2 := snapshot(105, 2, 1, 2, 3)
	if err := l.SaveSnapshot(snap2); err != nil {
		t.Fatalf("SaveSnapshot: %v", err)
	}
	if got, want := files(t, dir, snapExt), []string{fileName(105, snapExt)}; !slices.Equal(got, want) {
		t.Errorf("got snapshot files %v, want %v", got, want)
	}
	if err := l.SaveSnapshot(snap); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("older snapshot: got %v, want %v", err, ErrOutOfOrder)
	}
	mustClose(t, l)
	checkState(t, dir, cfg, hardState(2, 1, 105), snap2, entries(106, 110, 2))
}

// TestSnapshotStale checks that a snapshot that does not match the log
// drops the entries after it, as raft does when it restores one.
func TestSnapshotStale(t *testing.T) {
	tests := []struct {
		name string
		// before is saved, then snap, then after; cut truncates the log
		// where the snapmark record begins.
		before, after []*raftpb.Entry
		snap          *raftpb.Snapshot
		cut           bool
		want          []*raftpb.Entry
		wantHS        *raftpb.HardState
	}{
		{
			name:   "matching snapshot keeps the entries after it",
			before: entries(1, 10, 1), snap: snapshot(5, 1),
			want:   entries(6, 10, 1),
			wantHS: hardState(1, 0, 5),
		},
		{
			name:   "other term drops the entries after it",
			before: entries(1, 10, 1), snap: snapshot(5, 2),
			wantHS: hardState(2, 0, 5),
		},
		{
			name:   "beyond the log",
			before: entries(1, 10, 1), snap: snapshot(20, 2),
			wantHS: hardState(2, 0, 20),
		},
		{
			name:   "entries after a stale snapshot stay",
			before: entries(1, 10, 1), snap: snapshot(5, 2), after: entries(6, 7, 2),
			want:   entries(6, 7, 2),
			wantHS: hardState(2, 0, 5),
		},
		{
			name:   "lost snapmark",
			before: entries(1, 10, 1), snap: snapshot(5, 2), cut: true,
			wantHS: hardState(2, 0, 5),
		},
		{
			name:   "lost snapmark of a matching snapshot",
			before: entries(1, 10, 1), snap: snapshot(5, 1), cut: true,
			want:   entries(6, 10, 1),
			wantHS: hardState(1, 0, 5),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(0)
			l := mustOpen(t, dir, cfg)
			mustSave(t, l, hardState(1, 0, 0), tt.before)
			mark := l.Size()
			if err := l.SaveSnapshot(tt.snap); err != nil {
				t.Fatalf("SaveSnapshot: %v", err)
			}
			if len(tt.after) > 0 {
				mustSave(t, l, nil, tt.after)
			}
			mustClose(t, l)
			if tt.cut {
				if err := os.Truncate(filepath.Join(dir, fileName(1, segExt)), mark); err != nil {
					t.Fatal(err)
				}
			}
			checkState(t, dir, cfg, tt.wantHS, tt.snap, tt.want)
		})
	}
}

func TestSnapshotDamaged(t *testing.T) {
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
			l := mustOpen(t, dir, cfg)
			mustSave(t, l, hardState(1, 1, 20), entries(1, 20, 1))
			old := snapshot(10, 1)
			if err := l.SaveSnapshot(old); err != nil {
				t.Fatal(err)
			}
			oldPath := filepath.Join(dir, fileName(10, snapExt))
			oldBytes, err := os.ReadFile(oldPath)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.SaveSnapshot(snapshot(15, 1)); err != nil {
				t.Fatal(err)
			}
			mustClose(t, l)
			if tt.keepOlder {
				if err := os.WriteFile(oldPath, oldBytes, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			newPath := filepath.Join(dir, fileName(15, snapExt))
			flipByte(t, newPath, -3)

			l, err = Open(dir, cfg)
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
				t.Fatalf("Open: %v", err)
			}
			_, snap, ents := l.State()
			mustClose(t, l)
			if !proto.Equal(snap, old) {
				t.Errorf("got snapshot %v, want %v", snap, old)
			}
			checkEntries(t, ents, entries(11, 20, 1))
			if _, err := os.Stat(newPath + corruptExt); err != nil {
				t.Errorf("damaged snapshot not kept aside: %v", err)
			}
		})
	}
}

// flipByte inverts the byte at off in the file at path; a negative off
// counts from the end.
func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += int64(len(b))
	}
	b[off] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// op is one Save of a test log, writing exactly one record.
type op struct {
	hs   *raftpb.HardState
	ents []*raftpb.Entry
}

var tornOps = []op{
	{ents: entries(1, 3, 1)},
	{hs: hardState(1, 1, 3)},
	{ents: entries(4, 6, 1)},
	{ents: entries(5, 7, 2)},
	{hs: hardState(2, 2, 6)},
	{ents: entries(8, 8, 2)},
}

// model returns what recovering the first n of ops gives.
func model(ops []op) (*raftpb.HardState, []*raftpb.Entry) {
	hs := &raftpb.HardState{}
	var ents []*raftpb.Entry
	for _, o := range ops {
		if o.hs != nil {
			hs = o.hs
		}
		if len(o.ents) > 0 {
			first := o.ents[0].GetIndex()
			ents = append(ents[:first-1:first-1], o.ents...)
		}
	}
	return hs, ents
}

// writeOps saves ops into a new log in dir and returns the offset at which
// each op's record starts, and the size of the file.
func writeOps(t *testing.T, dir string, ops []op) ([]int64, int64) {
	t.Helper()
	l := mustOpen(t, dir, testConfig(0))
	var starts []int64
	for _, o := range ops {
		starts = append(starts, l.Size())
		mustSave(t, l, o.hs, o.ents)
	}
	size := l.Size()
	mustClose(t, l)
	return starts, size
}

func TestTornTail(t *testing.T) {
	starts, size := writeOps(t, t.TempDir(), tornOps)
	ends := append(starts[1:], size)
	for k := range tornOps {
		// Cut record k at several places, from its first byte to its last.
		length := ends[k] - starts[k]
		for _, at := range []int64{0, 1, 4, 8, 11, 12, 13, length / 2, length - 1} {
			t.Run(fmt.Sprintf("record %d cut at %d", k, at), func(t *testing.T) {
				dir := t.TempDir()
				writeOps(t, dir, tornOps)
				path := filepath.Join(dir, fileName(1, segExt))
				if err := os.Truncate(path, starts[k]+at); err != nil {
					t.Fatal(err)
				}
				hs, ents := model(tornOps[:k])
				checkState(t, dir, testConfig(0), hs, nil, ents)
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Size() != starts[k] {
					t.Errorf("got file size %d after recovery, want %d", fi.Size(), starts[k])
				}
			})
		}
	}
}

func TestTornTailKinds(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
		keep   int // ops recovered
	}{
		{"bad checksum of the last record", func(t *testing.T, path string) { flipByte(t, path, -1) }, len(tornOps) - 1},
		{"zeros after the last record", func(t *testing.T, path string) { appendBytes(t, path, make([]byte, 4096)) }, len(tornOps)},
		{"a few garbage bytes", func(t *testing.T, path string) { appendBytes(t, path, []byte{1, 2, 3}) }, len(tornOps)},
		{"torn header of a new segment", func(t *testing.T, path string) {
			appendBytes(t, filepath.Join(filepath.Dir(path), fileName(2, segExt)), []byte{9, 0, 0})
		}, len(tornOps)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeOps(t, dir, tornOps)
			tt.damage(t, filepath.Join(dir, fileName(1, segExt)))
			hs, ents := model(tornOps[:tt.keep])
			checkState(t, dir, testConfig(0), hs, nil, ents)
			// The log goes on from there.
			l := mustOpen(t, dir, testConfig(0))
			next := uint64(len(ents)) + 1
			mustSave(t, l, nil, entries(next, next, 3))
			mustClose(t, l)
			checkState(t, dir, testConfig(0), hs, nil, append(ents, entries(next, next, 3)...))
		})
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCorruption(t *testing.T) {
	tests := []struct {
		name string
		// damage harms the files of dir and returns the file the error
		// must name.
		damage func(t *testing.T, dir string, segs []string) string
	}{
		{"payload byte in the first segment", func(t *testing.T, dir string, segs []string) string {
			path := filepath.Join(dir, segs[0])
			flipByte(t, path, -5)
			return path
		}},
		{"length byte in a middle segment", func(t *testing.T, dir string, segs []string) string {
			path := filepath.Join(dir, segs[1])
			flipByte(t, path, 0)
			return path
		}},
		{"truncated segment before the last", func(t *testing.T, dir string, segs []string) string {
			path := filepath.Join(dir, segs[len(segs)-2])
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, fi.Size()-3); err != nil {
				t.Fatal(err)
			}
			return path
		}},
		{"record in the middle of the last segment", func(t *testing.T, dir string, segs []string) string {
			path := filepath.Join(dir, segs[len(segs)-1])
			flipByte(t, path, 30)
			return path
		}},
		{"missing segment", func(t *testing.T, dir string, segs []string) string {
			path := filepath.Join(dir, segs[1])
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			return path
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(300)
			l := mustOpen(t, dir, cfg)
			for i := uint64(1); i <= 40; i += 4 {
				mustSave(t, l, hardState(1, 1, i), entries(i, i+3, 1))
			}
			mustClose(t, l)
			segs := files(t, dir, segExt)
			if len(segs) < 3 {
				t.Fatalf("got %d segments, want at least 3", len(segs))
			}
			path := tt.damage(t, dir, segs)
			_, err := Open(dir, cfg)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want %v", err, ErrCorrupt)
			}
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Path != path {
				t.Fatalf("got %v, want a *CorruptError naming %s", err, path)
			}
		})
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, testConfig(0))
	if _, err := Open(dir, testConfig(0)); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: got %v, want %v", err, ErrLocked)
	}
	mustClose(t, l)
	l = mustOpen(t, dir, testConfig(0))
	mustClose(t, l)
}

func TestOpenCreatesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	l := mustOpen(t, dir, testConfig(0))
	mustClose(t, l)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.IsDir() {
		t.Fatalf("got mode %v, want a directory", fi.Mode())
	}
}

func TestSyncEverySec(t *testing.T) {
	defer func(d time.Duration) { syncInterval = d }(syncInterval)
	syncInterval = time.Millisecond
	cfg := testConfig(0)
	cfg.Sync = SyncEverySec
	l := mustOpen(t, t.TempDir(), cfg)
	defer mustClose(t, l)
	mustSave(t, l, hardState(1, 1, 0), entries(1, 3, 1))
	if !l.dirty.Load() {
		t.Fatal("got a Save that fsynced itself, want it left to the background")
	}
	deadline := time.Now().Add(2 * time.Second)
	for l.dirty.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the background fsync did not run")
		}
		time.Sleep(time.Millisecond)
	}
	mustSave(t, l, nil, entries(4, 4, 1))
}

func TestSaveErrors(t *testing.T) {
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
			dir := t.TempDir()
			l := mustOpen(t, dir, testConfig(0))
			defer mustClose(t, l)
			mustSave(t, l, nil, entries(1, 10, 1))
			if err := l.SaveSnapshot(snapshot(5, 1)); err != nil {
				t.Fatal(err)
			}
			size := l.Size()
			if err := l.Save(nil, tt.ents, true); !errors.Is(err, ErrOutOfOrder) {
				t.Fatalf("got %v, want %v", err, ErrOutOfOrder)
			}
			if got := l.Size(); got != size {
				t.Errorf("got size %d, want %d: nothing written", got, size)
			}
			// The log is still usable.
			mustSave(t, l, nil, entries(11, 11, 1))
		})
	}
}

func TestClosed(t *testing.T) {
	l := mustOpen(t, t.TempDir(), testConfig(0))
	mustClose(t, l)
	calls := []struct {
		name string
		call func() error
	}{
		{"Save", func() error { return l.Save(nil, entries(1, 1, 1), true) }},
		{"SaveSnapshot", func() error { return l.SaveSnapshot(snapshot(1, 1)) }},
		{"Sync", l.Sync},
		{"Close", l.Close},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, ErrClosed) {
				t.Fatalf("got %v, want %v", err, ErrClosed)
			}
		})
	}
}

func TestSyncModes(t *testing.T) {
	for _, mode := range []SyncMode{SyncAlways, SyncEverySec, SyncNever} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(256)
			cfg.Sync = mode
			l := mustOpen(t, dir, cfg)
			for i := uint64(1); i <= 30; i += 3 {
				before := l.Syncs()
				sync := i%2 == 1
				if err := l.Save(hardState(1, 1, i-1), entries(i, i+2, 1), sync); err != nil {
					t.Fatalf("Save: %v", err)
				}
				if mode == SyncAlways && sync && l.Syncs() == before {
					t.Fatalf("Save %d with sync in SyncAlways: no fdatasync counted", i)
				}
			}
			if err := l.Sync(); err != nil {
				t.Fatalf("Sync: %v", err)
			}
			if err := l.SaveSnapshot(snapshot(12, 1)); err != nil {
				t.Fatalf("SaveSnapshot: %v", err)
			}
			mustClose(t, l)
			checkState(t, dir, cfg, hardState(1, 1, 27), snapshot(12, 1), entries(13, 30, 1))
		})
	}
}

func TestHardStateFixed(t *testing.T) {
	tests := []struct {
		name string
		hs   *raftpb.HardState
		snap *raftpb.Snapshot
		last uint64
		want *raftpb.HardState
	}{
		{"unchanged", hardState(3, 2, 7), snapshot(5, 3), 9, hardState(3, 2, 7)},
		{"commit raised to the snapshot", hardState(3, 2, 2), snapshot(5, 3), 9, hardState(3, 2, 5)},
		{"term raised to the snapshot's", hardState(2, 2, 7), snapshot(5, 3), 9, hardState(3, 0, 7)},
		{"commit lowered to the last entry", hardState(3, 2, 12), snapshot(5, 3), 9, hardState(3, 2, 9)},
		{"none", nil, &raftpb.Snapshot{}, 0, &raftpb.HardState{}},
		{"none with a snapshot", nil, snapshot(5, 3), 5, hardState(3, 0, 5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			si, st := tt.snap.GetMetadata().GetIndex(), tt.snap.GetMetadata().GetTerm()
			got := fixHardState(tt.hs, si, st, tt.last, "dir", quiet)
			if !proto.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		ok     bool
	}{
		{"default", func(*Config) {}, true},
		{"everysec", func(c *Config) { c.Sync = SyncEverySec }, true},
		{"unknown sync mode", func(c *Config) { c.Sync = 7 }, false},
		{"negative sync mode", func(c *Config) { c.Sync = -1 }, false},
		{"zero segment size", func(c *Config) { c.SegmentSize = 0 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.modify(&cfg)
			err := cfg.Validate()
			if got := err == nil; got != tt.ok {
				t.Fatalf("got %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Fatalf("got %v, want %v", err, ErrConfig)
			}
			l, err := Open(t.TempDir(), cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("Open: got %v, want ok %v", err, tt.ok)
			}
			if l != nil {
				mustClose(t, l)
			}
		})
	}
}

func TestParseSyncMode(t *testing.T) {
	tests := []struct {
		in   string
		want SyncMode
		ok   bool
	}{
		{"always", SyncAlways, true},
		{"everysec", SyncEverySec, true},
		{"no", SyncNever, true},
		{"ALWAYS", SyncAlways, true},
		{"never", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSyncMode(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("got %v, %v, want %v, ok %v", got, err, tt.want, tt.ok)
			}
			if tt.ok && got.String() != strings.ToLower(tt.in) {
				t.Fatalf("got String %q, want %q", got.String(), strings.ToLower(tt.in))
			}
		})
	}
}

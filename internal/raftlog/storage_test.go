package raftlog

import (
	"errors"
	"io"
	"log"
	"slices"
	"testing"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// rebuild makes a raft.MemoryStorage from what l recovered, as a group does
// on start.
func rebuild(t *testing.T, l *Log) *raft.MemoryStorage {
	t.Helper()
	hs, snap, ents := l.State()
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

func TestMemoryStorage(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(400)
	l := mustOpen(t, dir, cfg)
	mustSave(t, l, hardState(1, 1, 20), entries(1, 20, 1))
	snap := snapshot(10, 1, 1, 2, 3)
	if err := l.SaveSnapshot(snap); err != nil {
		t.Fatal(err)
	}
	mustSave(t, l, hardState(2, 2, 25), entries(21, 30, 2))
	mustClose(t, l)

	l = mustOpen(t, dir, cfg)
	defer mustClose(t, l)
	ms := rebuild(t, l)

	t.Run("indexes", func(t *testing.T) {
		tests := []struct {
			name string
			get  func() (uint64, error)
			want uint64
		}{
			{"FirstIndex", ms.FirstIndex, 11},
			{"LastIndex", ms.LastIndex, 30},
			{"Term(10)", func() (uint64, error) { return ms.Term(10) }, 1},
			{"Term(20)", func() (uint64, error) { return ms.Term(20) }, 1},
			{"Term(21)", func() (uint64, error) { return ms.Term(21) }, 2},
			{"Term(30)", func() (uint64, error) { return ms.Term(30) }, 2},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := tt.get()
				if err != nil || got != tt.want {
					t.Fatalf("got %d, %v, want %d", got, err, tt.want)
				}
			})
		}
	})
	t.Run("compacted", func(t *testing.T) {
		if _, err := ms.Term(9); !errors.Is(err, raft.ErrCompacted) {
			t.Fatalf("Term(9): got %v, want %v", err, raft.ErrCompacted)
		}
		if _, err := ms.Entries(5, 12, 1<<20); !errors.Is(err, raft.ErrCompacted) {
			t.Fatalf("Entries(5, 12): got %v, want %v", err, raft.ErrCompacted)
		}
	})
	t.Run("entries", func(t *testing.T) {
		got, err := ms.Entries(11, 31, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		checkEntries(t, got, slices.Concat(entries(11, 20, 1), entries(21, 30, 2)))
	})
	t.Run("initial state", func(t *testing.T) {
		hs, cs, err := ms.InitialState()
		if err != nil {
			t.Fatal(err)
		}
		if want := hardState(2, 2, 25); !hardStateEqual(hs, want) {
			t.Errorf("got hard state %v, want %v", hs, want)
		}
		if want := snap.GetMetadata().GetConfState(); !proto.Equal(cs, want) {
			t.Errorf("got conf state %v, want %v", cs, want)
		}
		got, err := ms.Snapshot()
		if err != nil || !proto.Equal(got, snap) {
			t.Errorf("got snapshot %v, %v, want %v", got, err, snap)
		}
	})
	t.Run("raft node", func(t *testing.T) {
		rn, err := raft.NewRawNode(&raft.Config{
			ID:              1,
			ElectionTick:    10,
			HeartbeatTick:   1,
			Storage:         ms,
			Applied:         10,
			MaxSizePerMsg:   1 << 20,
			MaxInflightMsgs: 256,
			Logger:          &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)},
		})
		if err != nil {
			t.Fatal(err)
		}
		st := rn.Status()
		if st.GetTerm() != 2 || st.GetCommit() != 25 || st.Applied != 10 {
			t.Fatalf("got term %d, commit %d, applied %d, want 2, 25, 10", st.GetTerm(), st.GetCommit(), st.Applied)
		}
	})
}

// TestMemoryStorageAfterFollowerSnapshot rebuilds a storage after a
// follower received a snapshot that replaced its log, before it saved the
// hard state that goes with it.
func TestMemoryStorageAfterFollowerSnapshot(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(0)
	l := mustOpen(t, dir, cfg)
	mustSave(t, l, hardState(1, 1, 5), entries(1, 8, 1))
	if err := l.SaveSnapshot(snapshot(40, 3, 1, 2, 3)); err != nil {
		t.Fatal(err)
	}
	mustClose(t, l)

	l = mustOpen(t, dir, cfg)
	defer mustClose(t, l)
	ms := rebuild(t, l)
	first, _ := ms.FirstIndex()
	last, _ := ms.LastIndex()
	if first != 41 || last != 40 {
		t.Fatalf("got first %d, last %d, want 41, 40", first, last)
	}
	rn, err := raft.NewRawNode(&raft.Config{
		ID:              2,
		ElectionTick:    10,
		HeartbeatTick:   1,
		Storage:         ms,
		Applied:         40,
		MaxSizePerMsg:   1 << 20,
		MaxInflightMsgs: 256,
		Logger:          &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if st := rn.Status(); st.GetTerm() != 3 || st.GetCommit() != 40 {
		t.Fatalf("got term %d, commit %d, want 3, 40", st.GetTerm(), st.GetCommit())
	}
	// The log continues after the snapshot.
	if err := l.Save(hardState(3, 0, 41), []*raftpb.Entry{{Index: new(uint64(41)), Term: new(uint64(3))}}, true); err != nil {
		t.Fatal(err)
	}
}

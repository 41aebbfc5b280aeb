package raftlog_test

import (
	"fmt"
	"os"

	"github.com/data-cluster/data-cluster/internal/raftlog"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// ExampleLog_State rebuilds the raft.MemoryStorage of a group from its log,
// as the group does when it starts.
func ExampleLog_State() {
	dir, err := os.MkdirTemp("", "raftlog")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	l, err := raftlog.Open(dir, raftlog.DefaultConfig())
	if err != nil {
		panic(err)
	}
	var ents []*raftpb.Entry
	for i := uint64(1); i <= 5; i++ {
		ents = append(ents, &raftpb.Entry{Index: new(i), Term: new(uint64(1)), Data: []byte("x")})
	}
	hs := &raftpb.HardState{Term: new(uint64(1)), Vote: new(uint64(1)), Commit: new(uint64(5))}
	if err := l.Save(hs, ents, true); err != nil {
		panic(err)
	}
	snap := &raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{
		Index: new(uint64(3)), Term: new(uint64(1)), ConfState: &raftpb.ConfState{Voters: []uint64{1}},
	}}
	if err := l.SaveSnapshot(snap); err != nil {
		panic(err)
	}
	if err := l.Close(); err != nil {
		panic(err)
	}

	l, err = raftlog.Open(dir, raftlog.DefaultConfig())
	if err != nil {
		panic(err)
	}
	defer l.Close()
	hs, snap, ents = l.State()
	ms := raft.NewMemoryStorage()
	if !raft.IsEmptySnap(snap) {
		if err := ms.ApplySnapshot(snap); err != nil {
			panic(err)
		}
	}
	if err := ms.SetHardState(hs); err != nil {
		panic(err)
	}
	if err := ms.Append(ents); err != nil {
		panic(err)
	}
	first, _ := ms.FirstIndex()
	last, _ := ms.LastIndex()
	fmt.Printf("entries %d to %d, commit %d\n", first, last, hs.GetCommit())
	// Output: entries 4 to 5, commit 5
}

package raftlog_test

import (
	"errors"
	"fmt"
	"os"

	"github.com/data-cluster/data-cluster/internal/raftlog"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// ExampleShared_Group keeps two groups' logs in one shared log and rebuilds
// each group's raft.MemoryStorage from it, as a node does when it starts.
func ExampleShared_Group() {
	dir, err := os.MkdirTemp("", "raftlog")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	s, err := raftlog.OpenShared(dir, raftlog.DefaultConfig())
	if err != nil {
		panic(err)
	}
	for id := uint32(1); id <= 2; id++ {
		var ents []*raftpb.Entry
		for i := uint64(1); i <= uint64(3*id); i++ {
			ents = append(ents, &raftpb.Entry{Index: new(i), Term: new(uint64(1)), Data: []byte("x")})
		}
		hs := &raftpb.HardState{Term: new(uint64(1)), Vote: new(uint64(id)), Commit: new(uint64(2))}
		// Each group saves from its own goroutine in a node; the Saves
		// of groups that run at once share an fdatasync.
		if err := s.Group(id).Save(hs, ents, true); err != nil {
			panic(err)
		}
	}
	if err := s.Close(); err != nil {
		panic(err)
	}

	s, err = raftlog.OpenShared(dir, raftlog.DefaultConfig())
	if err != nil {
		panic(err)
	}
	defer s.Close()
	for id := uint32(1); id <= 3; id++ {
		hs, snap, ents := s.Group(id).State()
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
		last, _ := ms.LastIndex()
		fmt.Printf("group %d: last entry %d, vote %d\n", id, last, hs.GetVote())
	}
	// Output:
	// group 1: last entry 3, vote 1
	// group 2: last entry 6, vote 2
	// group 3: last entry 0, vote 0
}

// ExampleGroupLog_Drop drops the log of a group whose replica left the
// node; the group's id then serves a new replica, which starts empty.
func ExampleGroupLog_Drop() {
	dir, err := os.MkdirTemp("", "raftlog")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	s, err := raftlog.OpenShared(dir, raftlog.DefaultConfig())
	if err != nil {
		panic(err)
	}
	defer s.Close()
	g := s.Group(7)
	ents := []*raftpb.Entry{{Index: new(uint64(1)), Term: new(uint64(3)), Data: []byte("x")}}
	hs := &raftpb.HardState{Term: new(uint64(3)), Vote: new(uint64(2)), Commit: new(uint64(1))}
	if err := g.Save(hs, ents, true); err != nil {
		panic(err)
	}
	// The replica was removed from group 7: once its goroutine has
	// stopped, it drops the log, then the node deletes the replica's data.
	if err := g.Drop(); err != nil {
		panic(err)
	}
	fmt.Println(errors.Is(g.Save(hs, nil, true), raftlog.ErrDropped))
	nhs, nsnap, nents := s.Group(7).State()
	fmt.Println(raft.IsEmptyHardState(nhs), raft.IsEmptySnap(nsnap), len(nents))
	// Output:
	// true
	// true true 0
}

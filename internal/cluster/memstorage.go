package cluster

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// MemStorage is a Storage that keeps the log in memory, for tests: it
// survives the restart of a Group that is given its State again, as a disk
// would, but not the process.
type MemStorage struct {
	mu   sync.Mutex
	hs   *raftpb.HardState
	snap *raftpb.Snapshot
	ents []*raftpb.Entry
}

var _ Storage = (*MemStorage)(nil)

// Save implements Storage.
func (s *MemStorage) Save(hs *raftpb.HardState, ents []*raftpb.Entry, _ bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if hs != nil {
		s.hs = proto.CloneOf(hs)
	}
	if len(ents) == 0 {
		return nil
	}
	first := ents[0].GetIndex()
	keep := 0
	for keep < len(s.ents) && s.ents[keep].GetIndex() < first {
		keep++
	}
	s.ents = s.ents[:keep]
	for _, e := range ents {
		s.ents = append(s.ents, proto.CloneOf(e))
	}
	return nil
}

// SaveSnapshot implements Storage.
func (s *MemStorage) SaveSnapshot(snap *raftpb.Snapshot) error {
	if err := s.WriteSnapshot(snap); err != nil {
		return err
	}
	return s.MarkSnapshot(snap.GetMetadata().GetIndex(), snap.GetMetadata().GetTerm())
}

// WriteSnapshot stores snap, as SaveSnapshot's first step. Like a
// snapshot file on disk, the newest snapshot written is the one State
// recovers.
func (s *MemStorage) WriteSnapshot(snap *raftpb.Snapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if snap.GetMetadata().GetIndex() > s.snap.GetMetadata().GetIndex() {
		s.snap = proto.CloneOf(snap)
	}
	return nil
}

// WriteSnapshotFrom implements Storage: the data is gathered, then written
// as WriteSnapshot writes it.
func (s *MemStorage) WriteSnapshotFrom(md *raftpb.SnapshotMetadata, size int, write func(io.Writer) error) error {
	var buf bytes.Buffer
	buf.Grow(size)
	if err := write(&buf); err != nil {
		return err
	}
	if buf.Len() != size {
		return fmt.Errorf("cluster: snapshot data of %d bytes, %d announced", buf.Len(), size)
	}
	return s.WriteSnapshot(&raftpb.Snapshot{Data: buf.Bytes(), Metadata: md})
}

// ReadSnapshot implements Storage.
func (s *MemStorage) ReadSnapshot(index uint64) (*raftpb.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if got := s.snap.GetMetadata().GetIndex(); got != index {
		return nil, fmt.Errorf("cluster: no snapshot at %d stored (the latest is at %d)", index, got)
	}
	return s.snap, nil
}

// MarkSnapshot implements Storage.
func (s *MemStorage) MarkSnapshot(index, _ uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	drop := 0
	for drop < len(s.ents) && s.ents[drop].GetIndex() <= index {
		drop++
	}
	s.ents = append([]*raftpb.Entry(nil), s.ents[drop:]...)
	return nil
}

// State returns what was saved, as a Storage on disk would recover it.
func (s *MemStorage) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{HardState: s.hs, Snapshot: s.snap}
	for _, e := range s.ents {
		if e.GetIndex() > s.snap.GetMetadata().GetIndex() {
			st.Entries = append(st.Entries, proto.CloneOf(e))
		}
	}
	return st
}

// Drop forgets everything saved, as raftlog's GroupLog.Drop does for a
// replica removed from its group.
func (s *MemStorage) Drop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hs, s.snap, s.ents = nil, nil, nil
	return nil
}

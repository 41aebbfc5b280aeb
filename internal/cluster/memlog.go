package cluster

import (
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// memLog is the log Raft reads, raft.MemoryStorage, but for the latest
// snapshot's data, which memLog keeps and hands out without copying it:
// MemoryStorage copies a snapshot whole when it is created, applied and
// every time Raft asks for it, and a snapshot of a million keys is tens of
// megabytes that the group would wait for each time. The data is never
// changed once in a snapshot, so sharing it is safe. memLog is used by the
// group's goroutine only.
type memLog struct {
	*raft.MemoryStorage
	snap *raftpb.Snapshot // the latest snapshot, with its data; nil: none
}

var _ raft.Storage = (*memLog)(nil)

func newMemLog() *memLog { return &memLog{MemoryStorage: raft.NewMemoryStorage()} }

// Snapshot implements raft.Storage.
func (m *memLog) Snapshot() (*raftpb.Snapshot, error) {
	if m.snap == nil {
		return m.MemoryStorage.Snapshot()
	}
	return m.snap, nil
}

// ApplySnapshot replaces the log with snap, as MemoryStorage does.
func (m *memLog) ApplySnapshot(snap *raftpb.Snapshot) error {
	if err := m.MemoryStorage.ApplySnapshot(&raftpb.Snapshot{Metadata: snap.GetMetadata()}); err != nil {
		return err
	}
	m.snap = snap
	return nil
}

// CreateSnapshot records snap, taken by this replica at an index its log
// holds, as the latest; entries before it stay until Compact. It returns
// raft.ErrSnapOutOfDate when a snapshot at or after snap's index is
// recorded.
func (m *memLog) CreateSnapshot(snap *raftpb.Snapshot) error {
	md := snap.GetMetadata()
	if _, err := m.MemoryStorage.CreateSnapshot(md.GetIndex(), md.GetConfState(), nil); err != nil {
		return err
	}
	m.snap = snap
	return nil
}

package cluster

import (
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// memLog is the log Raft reads, raft.MemoryStorage, holding of its latest
// snapshot the metadata only. The data, tens of megabytes for a million
// keys, is in the group's Storage, which wrote it; keeping it here too
// would hold a second keyspace's worth of memory per group, and
// MemoryStorage would copy it whole each time Raft asks for the snapshot.
// When Raft sends the snapshot to a replica, the group reads the data back
// from its Storage on the sending goroutine (Group.withData). memLog is
// used by the group's goroutine only.
type memLog struct {
	*raft.MemoryStorage
}

var _ raft.Storage = (*memLog)(nil)

func newMemLog() *memLog { return &memLog{MemoryStorage: raft.NewMemoryStorage()} }

// ApplySnapshot replaces the log with snap, as MemoryStorage does, keeping
// its metadata only.
func (m *memLog) ApplySnapshot(snap *raftpb.Snapshot) error {
	return m.MemoryStorage.ApplySnapshot(&raftpb.Snapshot{Metadata: snap.GetMetadata()})
}

// CreateSnapshot records the metadata of snap, taken by this replica at an
// index its log holds, as the latest snapshot; entries before it stay
// until Compact. It returns raft.ErrSnapOutOfDate when a snapshot at or
// after snap's index is recorded.
func (m *memLog) CreateSnapshot(snap *raftpb.Snapshot) error {
	md := snap.GetMetadata()
	_, err := m.MemoryStorage.CreateSnapshot(md.GetIndex(), md.GetConfState(), nil)
	return err
}

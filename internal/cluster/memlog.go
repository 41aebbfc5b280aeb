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
//
// Its entries may be compacted past the latest snapshot, to bound the
// memory they hold (Group.trimLog): the entries since a snapshot of a large
// keyspace would otherwise stay until the next, as large as the data. Raft
// then asks for a snapshot to send a replica that needs the entries
// dropped, and Snapshot answers with one at the compaction point, which the
// group builds fresh from its keyspace when it sends it (Group.send).
type memLog struct {
	*raft.MemoryStorage

	// sizes holds the data size of each entry from index base on, up to
	// the last; bytes is their sum.
	base  uint64
	sizes []uint32
	bytes uint64
}

var _ raft.Storage = (*memLog)(nil)

func newMemLog() *memLog { return &memLog{MemoryStorage: raft.NewMemoryStorage(), base: 1} }

// ApplySnapshot replaces the log with snap, as MemoryStorage does, keeping
// its metadata only.
func (m *memLog) ApplySnapshot(snap *raftpb.Snapshot) error {
	if err := m.MemoryStorage.ApplySnapshot(&raftpb.Snapshot{Metadata: snap.GetMetadata()}); err != nil {
		return err
	}
	m.base, m.sizes, m.bytes = snap.GetMetadata().GetIndex()+1, m.sizes[:0], 0
	return nil
}

// Append appends ents as MemoryStorage does (those before the first index
// are ignored, those from an index held replace the rest), and counts
// their sizes.
func (m *memLog) Append(ents []*raftpb.Entry) error {
	if len(ents) == 0 {
		return nil
	}
	if err := m.MemoryStorage.Append(ents); err != nil {
		return err
	}
	for _, e := range ents {
		if e.GetIndex() < m.base {
			continue
		}
		if i := e.GetIndex() - m.base; i < uint64(len(m.sizes)) {
			for _, n := range m.sizes[i:] {
				m.bytes -= uint64(n)
			}
			m.sizes = m.sizes[:i]
		}
		m.sizes = append(m.sizes, uint32(len(e.GetData())))
		m.bytes += uint64(len(e.GetData()))
	}
	return nil
}

// Compact drops the entries up to i, as MemoryStorage does.
func (m *memLog) Compact(i uint64) error {
	if err := m.MemoryStorage.Compact(i); err != nil {
		return err
	}
	if i >= m.base {
		n := min(i-m.base+1, uint64(len(m.sizes)))
		for _, s := range m.sizes[:n] {
			m.bytes -= uint64(s)
		}
		m.sizes = append(m.sizes[:0], m.sizes[n:]...)
		m.base = i + 1
	}
	return nil
}

// Bytes returns the data size of the entries held.
func (m *memLog) Bytes() uint64 { return m.bytes }

// cutFor returns the index up to which to compact so that the entries
// after it hold at most keep bytes, but not past limit (the applied index):
// 0 when nothing is to be dropped.
func (m *memLog) cutFor(keep, limit uint64) uint64 {
	rest, cut := m.bytes, uint64(0)
	for i, n := range m.sizes {
		index := m.base + uint64(i)
		if rest <= keep || index > limit {
			break
		}
		rest -= uint64(n)
		cut = index
	}
	return cut
}

// Snapshot returns the latest snapshot, as MemoryStorage does, unless the
// entries were compacted past it: then a snapshot at the compaction point,
// its metadata only (its configuration the latest snapshot's), which
// Stored reports as not stored.
func (m *memLog) Snapshot() (*raftpb.Snapshot, error) {
	snap, err := m.MemoryStorage.Snapshot()
	if err != nil {
		return nil, err
	}
	first, _ := m.FirstIndex()
	if snap.GetMetadata().GetIndex()+1 >= first {
		return snap, nil
	}
	term, err := m.Term(first - 1)
	if err != nil {
		return nil, err
	}
	md := snap.GetMetadata()
	return &raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{
		Index: new(first - 1), Term: new(term), ConfState: md.GetConfState(),
	}}, nil
}

// Stored reports whether a snapshot at index is the latest one recorded
// (by CreateSnapshot or ApplySnapshot), whose data the group's Storage
// holds.
func (m *memLog) Stored(index uint64) bool {
	snap, err := m.MemoryStorage.Snapshot()
	return err == nil && snap.GetMetadata().GetIndex() == index
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

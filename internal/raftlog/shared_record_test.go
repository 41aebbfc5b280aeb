package raftlog

import (
	"bytes"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

// appendGroupSnapshot appends a group record of id holding a snapshot
// record, encoded by proto in one piece: what groupSnapshotParts must
// produce.
func appendGroupSnapshot(b []byte, id uint32, snap *raftpb.Snapshot) ([]byte, error) {
	b, start := beginGroup(b, id, recSnapshot)
	return finishSnapshot(b, start, snap)
}

// TestGroupSnapshotParts checks that the parts groupSnapshotParts returns
// are, one after the other, the bytes of the record encoded in one piece,
// that they decode to the snapshot, and that the data part is the
// snapshot's own memory.
func TestGroupSnapshotParts(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	snaps := map[string]*raftpb.Snapshot{
		"nil data":    {Metadata: &raftpb.SnapshotMetadata{Index: new(uint64(7)), Term: new(uint64(2))}},
		"empty data":  {Data: []byte{}, Metadata: &raftpb.SnapshotMetadata{Index: new(uint64(7)), Term: new(uint64(2))}},
		"no metadata": {Data: []byte("x")},
		"large data":  snapshot(1<<40, 3, 1, 2, 3),
	}
	snaps["large data"].Data = big
	for name, snap := range snaps {
		t.Run(name, func(t *testing.T) {
			prefix := []byte("before")
			want, err := appendGroupSnapshot(bytes.Clone(prefix), 9, snap)
			if err != nil {
				t.Fatal(err)
			}
			parts, err := groupSnapshotParts(bytes.Clone(prefix), 9, snap)
			if err != nil {
				t.Fatal(err)
			}
			if got := bytes.Join(parts[:], nil); !bytes.Equal(got, want) {
				t.Fatalf("parts joined differ from the one-piece record:\n got %x\nwant %x", trim(got), trim(want))
			}
			if len(snap.Data) > 0 && &parts[1][0] != &snap.Data[0] {
				t.Error("the data part is a copy of the snapshot's data")
			}
		})
	}
}

func trim(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

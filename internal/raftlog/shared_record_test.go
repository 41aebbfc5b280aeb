package raftlog

import (
	"bytes"
	"errors"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
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

// TestSharedReadSnapshot checks that a group reads back the snapshot it
// wrote, data and metadata, from any goroutine, and that reading fails
// once a newer snapshot was marked (the older file is gone) or the group
// dropped its log.
func TestSharedReadSnapshot(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenShared(t, dir, testConfig(1<<20))
	defer mustCloseShared(t, s)
	g := s.Group(1)
	mustGroupSave(t, g, hardState(1, 1, 30), entries(1, 30, 1))
	snap10 := snapshot(10, 1, 1, 2, 3)
	snap10.Data = bytes.Repeat([]byte("keyspace"), 1<<14)
	if err := g.WriteSnapshot(snap10); err != nil {
		t.Fatal(err)
	}
	got := make(chan *raftpb.Snapshot, 1)
	go func() {
		snap, err := g.ReadSnapshot(10)
		if err != nil {
			t.Error(err)
		}
		got <- snap
	}()
	if snap := <-got; !proto.Equal(snap, snap10) {
		t.Fatalf("read back a snapshot other than the one written: index %d, %d bytes", snap.GetMetadata().GetIndex(), len(snap.GetData()))
	}
	if err := g.MarkSnapshot(10, 1); err != nil {
		t.Fatal(err)
	}
	if err := g.SaveSnapshot(snapshot(20, 1, 1, 2, 3)); err != nil {
		t.Fatal(err)
	}
	if _, err := g.ReadSnapshot(10); err == nil {
		t.Fatal("read back a snapshot a newer one replaced")
	}
	if snap, err := g.ReadSnapshot(20); err != nil || snap.GetMetadata().GetIndex() != 20 {
		t.Fatalf("ReadSnapshot(20): %v, %v", snap.GetMetadata(), err)
	}
	if err := g.Drop(); err != nil {
		t.Fatal(err)
	}
	if _, err := g.ReadSnapshot(20); !errors.Is(err, ErrDropped) {
		t.Fatalf("after Drop: %v, want ErrDropped", err)
	}
}

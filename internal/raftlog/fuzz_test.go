package raftlog

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unsafe"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// FuzzDecode checks that no record payload makes decode panic, and that the
// entries it accepts are consecutive.
func FuzzDecode(f *testing.F) {
	for _, rec := range [][]byte{
		appendHeader(nil, kindSegment, 7),
		appendHardState(nil, hardState(3, 2, 1)),
		appendSnapMark(nil, 10, 2),
		must(appendEntries(nil, entries(4, 6, 2))),
		must(appendSnapshot(nil, snapshot(5, 1, 1, 2))),
		finishDrop(begin(nil, recDrop)),
		appendGroupDrop(nil, 3),
	} {
		f.Add(rec[headerSize:])
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		rec, err := decode(p)
		if err != nil {
			return
		}
		for i := 1; i < len(rec.ents); i++ {
			if rec.ents[i].GetIndex() != rec.ents[i-1].GetIndex()+1 {
				t.Fatalf("entry %d follows entry %d", rec.ents[i].GetIndex(), rec.ents[i-1].GetIndex())
			}
		}
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzDecodeSnapshot checks that decodeSnapshot reads what proto.Unmarshal
// reads, and refuses what it refuses, while its data aliases the input.
func FuzzDecodeSnapshot(f *testing.F) {
	for _, snap := range []*raftpb.Snapshot{
		snapshot(5, 1, 1, 2),
		{Metadata: snapshot(9, 3).GetMetadata()},
		{Data: []byte{}},
		{},
	} {
		b, err := proto.Marshal(snap)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		// The data after the metadata, and given twice: the last wins.
		md, _ := proto.Marshal(&raftpb.Snapshot{Metadata: snap.GetMetadata()})
		twice := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte("first"))
		f.Add(append(append(md, twice...), b...))
	}
	f.Add([]byte{0x0a, 0x05, 'a'}) // data cut short
	f.Fuzz(func(t *testing.T, p []byte) {
		want := &raftpb.Snapshot{}
		werr := proto.Unmarshal(p, want)
		got, err := decodeSnapshot(p)
		if (err == nil) != (werr == nil) {
			t.Fatalf("decodeSnapshot error %v, proto.Unmarshal's %v", err, werr)
		}
		if err != nil {
			return
		}
		if !proto.Equal(got, want) {
			t.Fatalf("decodeSnapshot gave %v, proto.Unmarshal %v", got, want)
		}
		if d := got.GetData(); len(d) > 0 && !aliases(d, p) {
			t.Fatal("the snapshot's data is a copy, not the input's bytes")
		}
	})
}

// aliases reports whether b lies within p's memory.
func aliases(b, p []byte) bool {
	start, end := &p[0], &p[len(p)-1]
	return uintptr(unsafe.Pointer(&b[0])) >= uintptr(unsafe.Pointer(start)) &&
		uintptr(unsafe.Pointer(&b[len(b)-1])) <= uintptr(unsafe.Pointer(end))
}

// FuzzScanGroupSnapshot checks that a snapshot file scanned a part at a
// time (scanGroupSnapshot, then its data reader) is accepted or refused
// as reading it whole refuses or accepts it (readGroupSnapshot), with the
// same metadata and data.
func FuzzScanGroupSnapshot(f *testing.F) {
	file := func(head []byte, payload ...[]byte) []byte {
		b, start := beginGroup(head, 3, recSnapshot)
		b, err := sealParts(b, start, payload...)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range payload {
			b = append(b, p...)
		}
		return b
	}
	snap := snapshot(9, 2, 1, 2, 3)
	whole := must(proto.Marshal(snap))
	md := must(proto.Marshal(&raftpb.Snapshot{Metadata: snap.GetMetadata()}))
	data := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), bytes.Repeat([]byte("kv"), 3000))
	head := appendHeader(nil, kindGroupSnapshot, 9)
	valid := file(head, whole)
	// An unknown field that is a group, longer than a tag and a length,
	// which proto skips.
	group := protowire.AppendTag(nil, 5, protowire.StartGroupType)
	group = protowire.AppendBytes(protowire.AppendTag(group, 1, protowire.BytesType), bytes.Repeat([]byte("g"), 100))
	group = protowire.AppendTag(group, 5, protowire.EndGroupType)
	for _, b := range [][]byte{
		valid,
		file(head, md, data),       // the metadata first
		file(head, data, md, data), // the data twice: the last wins
		file(head, md),             // no data
		file(head, md, group, data),
		file(appendHeader(nil, kindGroupSnapshot, 8), whole),
		valid[:len(valid)-3],
		append(slices.Clone(valid), 0),
		head,
	} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "s")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		want, werr := readGroupSnapshot(path, 3, 9)
		sf, err := scanGroupSnapshot(path, 3, 9)
		if (err == nil) != (werr == nil) {
			t.Fatalf("scanned: error %v; read whole: error %v", err, werr)
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("scanned: error %v is not ErrCorrupt", err)
			}
			return
		}
		r, err := sf.open()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("reading the data: %v", err)
		}
		if !proto.Equal(sf.meta.GetMetadata(), want.GetMetadata()) || !bytes.Equal(got, want.GetData()) {
			t.Fatalf("scanned: %v and %d bytes of data; read whole: %v and %d bytes", sf.meta.GetMetadata(), len(got), want.GetMetadata(), len(want.GetData()))
		}
	})
}

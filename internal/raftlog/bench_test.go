package raftlog

import (
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

// BenchmarkSave measures one Save of a batch of small entries (16-byte
// payloads) with SyncNever: encoding and one write call.
func BenchmarkSave1(b *testing.B)  { benchmarkSave(b, 1) }
func BenchmarkSave16(b *testing.B) { benchmarkSave(b, 16) }

func benchmarkSave(b *testing.B, batch int) {
	l := mustOpen(b, b.TempDir(), testConfig(0))
	defer mustClose(b, l)
	ents := make([]*raftpb.Entry, batch)
	for i := range ents {
		ents[i] = &raftpb.Entry{Index: new(uint64(i + 1)), Term: new(uint64(1)), Data: []byte("set key:00001234")}
	}
	rec, err := appendEntries(nil, ents)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Save(nil, ents, true); err != nil {
			b.Fatal(err)
		}
		for _, e := range ents {
			*e.Index += uint64(batch)
		}
	}
}

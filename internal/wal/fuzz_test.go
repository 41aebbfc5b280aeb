package wal

import (
	"bytes"
	"testing"

	"github.com/data-cluster/data-cluster/internal/storage"
)

// FuzzReadRecords feeds arbitrary bytes to the record reader as a log of
// the previous layout, a snapshot and a journal segment: it must never panic, never deliver a record past the damage it
// reports, and account for every byte.
func FuzzReadRecords(f *testing.F) {
	tl := makeTestLog()
	f.Add(tl.data)
	f.Add(tl.data[:len(tl.data)-5])
	snap := appendHeader(nil, kindSnapshot, 0, 1)
	snap = appendSet(snap, []byte("k"), []byte("v"), 0)
	snap = appendEnd(snap, 1)
	f.Add(snap)
	coll := appendHeader(nil, kindSnapshot, 0, 1)
	coll = appendElems(coll, storage.KindHash, []byte("h"), 0, true, [][]byte{[]byte("f"), []byte("v")})
	coll = appendElems(coll, storage.KindHash, []byte("h"), 0, false, [][]byte{[]byte("g"), []byte("w")})
	coll = appendEnd(coll, 2)
	f.Add(coll)
	f.Add([]byte{})
	journal := appendHeader(nil, kindJournal, 3, 1)
	journal = appendShard(journal, 2)
	journal = appendSet(journal, []byte("k"), []byte("v"), 0)
	journal = appendShard(journal, 0)
	journal = appendDelete(journal, []byte("k"))
	f.Add(journal)
	f.Add(append(bytes.Clone(journal), make([]byte, 600)...)) // written ahead with zeros
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, kind := range []byte{kindLog, kindSnapshot, kindJournal} {
			shard := 0
			if kind == kindJournal {
				shard = 3 // the number of shards
			}
			for _, tornOK := range []bool{false, true} {
				n := 0
				res, err := readRecords(bytes.NewReader(data), int64(len(data)), "fuzz", kind, shard, 1, tornOK, func(r *Record) {
					if r.Op < OpSet || r.Op > OpRange || r.Op == OpHeader || r.Op == OpEnd {
						t.Fatalf("delivered a record with operation %d", r.Op)
					}
					if kind == kindJournal && (r.Shard < 0 || r.Shard >= 3) {
						t.Fatalf("delivered a record of shard %d of 3", r.Shard)
					}
					n++
				})
				if int64(n) != res.records || res.end > res.size {
					t.Fatalf("delivered %d records, counted %d; end %d of %d", n, res.records, res.end, res.size)
				}
				if res.zeros && kind != kindJournal {
					t.Fatal("zeros taken for the end of a file other than a journal segment")
				}
				if err == nil && res.torn == nil && !res.zeros && res.end != res.size {
					t.Fatalf("no error and no torn tail, yet only %d of %d bytes read", res.end, res.size)
				}
				if res.torn != nil && !tornOK {
					t.Fatal("torn tail reported without tornOK")
				}
			}
		}
	})
}

package raftlog

import (
	"testing"
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

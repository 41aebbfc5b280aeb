package raftlog

import (
	"testing"
)

// FuzzReplaySegment checks that no segment content makes recovery panic,
// and that what it accepts replays to consecutive entries.
func FuzzReplaySegment(f *testing.F) {
	seg := appendHeader(nil, kindSegment, 1)
	seg = appendHardState(seg, hardState(1, 1, 0))
	seg, _ = appendEntries(seg, entries(1, 3, 1))
	seg = appendSnapMark(seg, 2, 1)
	seg, _ = appendEntries(seg, entries(2, 4, 2))
	f.Add(seg)
	f.Add(seg[:len(seg)-3])
	f.Add(appendHeader(nil, kindSegment, 1))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, last := range []bool{false, true} {
			var r replayer
			if _, _, err := replaySegment(data, "seg", 1, last, &r); err != nil {
				continue
			}
			for i, e := range r.ents {
				if e.GetIndex() != r.base+uint64(i)+1 {
					t.Fatalf("entry %d at position %d after base %d", e.GetIndex(), i, r.base)
				}
			}
		}
	})
}

// FuzzDecode checks that no record payload makes decode panic, and that the
// entries it accepts are consecutive.
func FuzzDecode(f *testing.F) {
	for _, rec := range [][]byte{
		appendHeader(nil, kindSegment, 7),
		appendHardState(nil, hardState(3, 2, 1)),
		appendSnapMark(nil, 10, 2),
		must(appendEntries(nil, entries(4, 6, 2))),
		must(appendSnapshot(nil, snapshot(5, 1, 1, 2))),
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

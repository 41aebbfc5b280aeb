package object

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestPrefetchElementsChangesNothing checks that reading ahead in sets and
// hashes of every encoding, for present, absent, removed, empty and
// repeated elements in groups of every size, leaves their elements, values
// and memory figures as they were.
func TestPrefetchElementsChangesNothing(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	r := rand.New(rand.NewPCG(seed, 3))
	for _, n := range []int{5, 100, 5000} {
		s := NewSetFor([]byte("m"), n)
		h := NewHash()
		for i := range n {
			s.Add(fmt.Appendf(nil, "member:%d", i))
			h.Set(fmt.Appendf(nil, "field:%d", i), fmt.Appendf(nil, "value:%d", i))
		}
		h.Convert()
		// Removals move elements and shift index slots back.
		for range n / 5 {
			i := r.IntN(n)
			s.Remove(fmt.Appendf(nil, "member:%d", i))
			h.Delete(fmt.Appendf(nil, "field:%d", i))
		}
		wantS, wantH := s.Clone().(*Set), h.Clone().(*Hash)
		memS, memH := s.MemoryUsage(), h.MemoryUsage()
		var members, fields [][]byte
		for i := range n + 100 { // the last 100 never present
			members = append(members, fmt.Appendf(nil, "member:%d", i))
			fields = append(fields, fmt.Appendf(nil, "field:%d", i))
		}
		members = append(members, nil, []byte("member:1"), []byte("member:1"))
		fields = append(fields, []byte{}, []byte("field:1"), []byte("field:1"))
		for _, size := range []int{1, 2, prefetchGroup - 1, prefetchGroup, prefetchGroup + 1, len(members)} {
			s.PrefetchElements(members[:size])
			h.PrefetchElements(fields[:size])
		}
		if s.Len() != wantS.Len() || s.MemoryUsage() != memS || s.Encoding() != wantS.Encoding() {
			t.Fatalf("seed %d, set of %d: len %d mem %d %s, want %d %d %s", seed, n,
				s.Len(), s.MemoryUsage(), s.Encoding(), wantS.Len(), memS, wantS.Encoding())
		}
		if h.Len() != wantH.Len() || h.MemoryUsage() != memH || h.Encoding() != wantH.Encoding() {
			t.Fatalf("seed %d, hash of %d: len %d mem %d %s, want %d %d %s", seed, n,
				h.Len(), h.MemoryUsage(), h.Encoding(), wantH.Len(), memH, wantH.Encoding())
		}
		for i := range members {
			if got, want := s.Has(members[i]), wantS.Has(members[i]); got != want {
				t.Fatalf("seed %d, set of %d: Has(%q) = %v, want %v", seed, n, members[i], got, want)
			}
			gv, gok := h.Get(fields[i])
			wv, wok := wantH.Get(fields[i])
			if gok != wok || string(gv) != string(wv) {
				t.Fatalf("seed %d, hash of %d: Get(%q) = %q %v, want %q %v", seed, n, fields[i], gv, gok, wv, wok)
			}
		}
	}
}

package object

import "github.com/data-cluster/data-cluster/internal/storage"

// prefetchGroup is how many lookups a read ahead follows at a time: enough
// cache misses in flight to overlap, few enough that what they bring in
// stays in the cache until the lookups run.
const prefetchGroup = 16

var (
	_ storage.ElementPrefetcher = (*Set)(nil)
	_ storage.ElementPrefetcher = (*Hash)(nil)
)

// PrefetchElements reads ahead for lookups of the members elems (see
// storage.ElementPrefetcher): in a table, the index slots, the elements'
// headers and their first bytes. Intsets and listpacks are small and read
// in order, so it reads nothing for them. It changes nothing.
func (s *Set) PrefetchElements(elems [][]byte) uint64 {
	if s.enc != setTable {
		return 0
	}
	return s.t().prefetch(elems)
}

// PrefetchElements reads ahead for lookups of the fields elems (see
// storage.ElementPrefetcher), in a table only, as Set.PrefetchElements
// does. It changes nothing.
func (h *Hash) PrefetchElements(elems [][]byte) uint64 {
	if !h.isTable {
		return 0
	}
	return h.t().prefetch(elems)
}

// prefetch brings into the CPU cache what finding keys reads, and returns a
// sum of what it read, for the caller to keep, so that the loads are not
// left out by the compiler. A lookup is three dependent cache misses on a
// large table: the index slot, the element's string header, the element's
// bytes. One lookup after another waits for each in turn; prefetch takes a
// group of keys a stage at a time, each stage a loop of independent loads
// the processor overlaps.
func (t *table) prefetch(keys [][]byte) uint64 {
	var (
		hs    [prefetchGroup]uint64
		elems [prefetchGroup]string
		sink  uint64
	)
	x := &t.index
	mask := uint64(len(x.slots) - 1)
	for len(keys) > 0 {
		n := min(len(keys), prefetchGroup)
		for j, k := range keys[:n] {
			hs[j] = hashBytes(k)
			sink += uint64(x.slots[hs[j]&mask])
		}
		// The first slot from each key's home whose tag matches, for most
		// keys present the key's own; an empty slot ends the search.
		for j, h := range hs[:n] {
			elems[j] = ""
			tag := x.tag(h)
			for i := h & mask; ; i = (i + 1) & mask {
				v := x.slots[i]
				if v == 0 {
					break
				}
				if x.posBits == 32 || v&^(1<<x.posBits-1) == tag {
					elems[j] = t.elems[x.at(int(i))]
					break
				}
			}
		}
		for _, e := range elems[:n] {
			if len(e) > 0 {
				sink += uint64(e[0])
			}
		}
		keys = keys[n:]
	}
	return sink
}

package arena

import "github.com/data-cluster/data-cluster/internal/storage"

// prefetchGroup is how many keys Prefetch follows at a time: enough misses
// to keep the processor's outstanding loads busy, few enough that the
// group's hashes and slots stay in registers and on the stack.
const prefetchGroup = 16

// Prefetch brings into the CPU cache what lookups of keys will read: for
// each key, its index entry, its slot and the start of its entry. It
// implements storage.Prefetcher.
//
// A lookup follows three dependent loads (index entry, slot, entry bytes),
// each a likely cache miss in a large engine, and lookups one after the
// other wait for every miss in turn. Prefetch takes the keys a stage at a
// time, so that the loads of one stage do not depend on each other and the
// processor overlaps their misses. It changes nothing in the engine.
func (e *Engine) Prefetch(keys [][]byte) {
	var (
		hs    [prefetchGroup]uint32
		idx   [prefetchGroup]uint32
		found [prefetchGroup]bool
		slots [prefetchGroup]uint64
		sink  uint64
	)
	for len(keys) > 0 {
		n := min(len(keys), prefetchGroup)
		// Each stage is a loop of independent loads, short enough that the
		// processor has many of them in flight at once; the work between
		// the loads (hashing, probing) is done in stages of its own.
		for j, k := range keys[:n] {
			hs[j] = e.hash(k)
		}
		for _, h := range hs[:n] {
			t := e.tableFor(h)
			sink += t.e[t.home(h)]
		}
		for j, h := range hs[:n] {
			idx[j], found[j] = e.firstWithHash(h)
		}
		for j := range n {
			slots[j] = 0
			if found[j] {
				slots[j] = *e.slot(idx[j])
			}
		}
		for _, s := range slots[:n] {
			if s == 0 {
				continue
			}
			c, off := splitLoc(e.locOf(s))
			sink += uint64(e.chunks[c].b[off])
		}
		keys = keys[n:]
	}
	e.prefetched += sink
}

// firstWithHash returns the slot of the first index entry with hash h.
func (e *Engine) firstWithHash(h uint32) (uint32, bool) {
	t := e.tableFor(h)
	lo := uint64(h) << 32
	hi := lo | 0xffffffff
	for p := t.home(h); ; p++ {
		x := t.e[p]
		if x == 0 || x > hi {
			return 0, false
		}
		if x >= lo {
			return uint32(x) - 1, true
		}
	}
}

var (
	_ storage.Prefetcher           = (*Engine)(nil)
	_ storage.CollectionPrefetcher = (*Engine)(nil)
)

// PrefetchCollection reads ahead for lookups of elems in the collection
// key holds, when it is a storage.ElementPrefetcher. It implements
// storage.CollectionPrefetcher: it changes nothing, not even key's usage.
func (e *Engine) PrefetchCollection(key []byte, elems [][]byte) {
	i, _, loc, _, ok := e.find(key, e.hash(key))
	if !ok || !e.typed(loc) {
		return
	}
	if p, isP := e.objs.Get(i).(storage.ElementPrefetcher); isP {
		e.prefetched += p.PrefetchElements(elems)
	}
}

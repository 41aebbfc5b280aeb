package arena

import "unsafe"

// The index maps keys to slot numbers. It is an extendible hash table: a
// directory of 1<<depth pointers, indexed by the top depth bits of a key's
// 32-bit hash, to tables that each hold the keys whose hashes start with the
// same t.depth bits (t.depth <= depth, so 1<<(depth-t.depth) consecutive
// directory entries share a table).
//
// A table is an array of entries, each packing a key's hash into its high 32
// bits and its slot number plus one into the low 32; zero marks an empty
// entry. Entries hold no pointers: comparing a key means reading it from the
// arena, which is only done when the hashes match.
//
// Keys are placed by the top bits of their hash, both in the directory and
// within a table, so the index relies on a hash whose top bits are as
// uniform as maphash's.
//
// Within a table, entries are kept sorted (ordered linear probing, which is
// Robin Hood hashing with a monotone home): the home of hash h is the
// position h' * size / 2^32, where h' is h without the table's depth bits,
// and every entry sits at or after its home with no empty position in
// between. Because homes grow with hashes, a lookup stops at the first entry
// with a larger hash, so a miss costs about as much as a hit even when a
// table is seven eighths full. Positions past size form a small overflow
// area; the last position always stays empty and ends every probe. Sorted
// entries also make a table's split point a single position, and rebuilding
// a table a single pass.
//
// A table holds between 11/16 and 7/8 entries per home position: it is
// rebuilt larger when it passes 7/8, and split in two on the next hash bit
// instead once it would grow past maxTableSize. It is rebuilt smaller when
// it falls below a quarter. Sizes need not be powers of two, so the index
// stays near 11 bytes per key whatever the number of keys, and no insert
// rebuilds more than one small table.
//
// Rebuilding leaves the old table to the garbage collector: while the index
// grows, each new entry leaves about five entries' worth of garbage, which
// GOGC lets the heap hold until the next collection. Tables stay separate
// allocations all the same: carving them out of large chunks, as entries
// are, would only move that garbage into the chunks, since tables are
// rebuilt in waves and chunks would empty in bursts.

const (
	minTableSize = 8
	maxTableSize = 2048

	// maxPad is the largest overflow area a table starts with. A table
	// whose entries do not fit is rebuilt larger, with twice the area.
	maxPad = 64

	// maxDepth caps the directory at 1<<maxDepth entries. A table that
	// cannot split, because of the cap or because all its keys share the
	// next hash bit, grows past maxTableSize instead.
	maxDepth = 24

	tableBytes = int64(unsafe.Sizeof(table{}))
)

// table is one table of the index.
type table struct {
	e     []uint64 // entries; e[size:] is the overflow area, and e[len(e)-1] is 0
	size  uint32   // number of home positions
	n     int      // entries in use
	depth uint8    // every key here shares the top depth bits of its hash
}

// home returns the home position of hash h in t.
func (t *table) home(h uint32) int {
	return int(uint64(h<<t.depth) * uint64(t.size) >> 32)
}

// sizeFor returns the number of home positions for a table of n entries.
func sizeFor(n int) int {
	return max(minTableSize, (n*16/11+8)&^7)
}

// padFor returns the overflow area a table of size home positions starts
// with.
func padFor(size int) int {
	return min(maxPad, size/8+4)
}

// fill places the entries of src, which are sorted, into t, which is empty,
// and reports whether they fit.
func (t *table) fill(src []uint64) bool {
	next, last := 0, len(t.e)-1
	for _, x := range src {
		if x == 0 {
			continue
		}
		p := max(next, t.home(uint32(x>>32)))
		if p >= last {
			return false
		}
		t.e[p] = x
		next = p + 1
		t.n++
	}
	return true
}

// build returns a table at depth holding the entries of src, which are
// sorted, with at least size home positions and pad overflow positions.
func build(src []uint64, depth uint8, size, pad int) *table {
	for {
		t := &table{e: make([]uint64, size+pad), size: uint32(size), depth: depth}
		if t.fill(src) {
			return t
		}
		size += size/4 + minTableSize
		pad = max(2*pad, padFor(size))
	}
}

// resetIndex makes the index empty.
func (e *Engine) resetIndex() {
	t := build(nil, 0, minTableSize, padFor(minTableSize))
	e.dir = []*table{t}
	e.depth = 0
	e.indexBytes = int64(unsafe.Sizeof(t)) + tableBytes + 8*int64(len(t.e))
}

// tableFor returns the table that holds hash h.
func (e *Engine) tableFor(h uint32) *table {
	return e.dir[h>>(32-e.depth)]
}

// find returns the number, value and location of the slot holding key,
// whose hash is h, the key's value, and whether key is present.
func (e *Engine) find(key []byte, h uint32) (i uint32, s, loc uint64, value []byte, ok bool) {
	t := e.tableFor(h)
	lo := uint64(h) << 32
	hi := lo | 0xffffffff
	for p := t.home(h); ; p++ {
		x := t.e[p]
		if x == 0 || x > hi {
			return 0, 0, 0, nil, false
		}
		if x < lo {
			continue
		}
		i = uint32(x) - 1
		s = *e.slot(i)
		loc = e.locOf(s)
		c, off := splitLoc(loc)
		b := e.chunks[c].b[off:]
		if b[1]|b[0] < 0x80 {
			// Both lengths fit a byte: the common case, decoded here.
			if int(b[0]>>1) == len(key) && string(b[2:2+len(key)]) == string(key) {
				v := 2 + len(key)
				end := v + int(b[1])
				return i, s, loc, b[v:end:end], true
			}
			continue
		}
		if k, v := e.entry(loc); string(k) == string(key) {
			return i, s, loc, v, true
		}
	}
}

// insert adds slot i, whose key has hash h and is not in the index yet.
func (e *Engine) insert(h, i uint32) {
	x := uint64(h)<<32 | (uint64(i) + 1)
	t := e.tableFor(h)
	if 8*(t.n+1) > 7*int(t.size) {
		if sizeFor(t.n+1) <= maxTableSize || !e.split(t, h) {
			e.resize(t, sizeFor(t.n+1), padFor(sizeFor(t.n+1)))
		}
		t = e.tableFor(h)
	}
	for !t.put(x) {
		// No empty position before the end: rebuild with more room.
		size := int(t.size)
		e.resize(t, size+size/4+minTableSize, 2*(len(t.e)-size))
	}
}

// put adds entry x to t and reports whether it could: it cannot when no
// empty position but the last follows x's place.
func (t *table) put(x uint64) bool {
	p := t.home(uint32(x >> 32))
	for t.e[p] != 0 && t.e[p] < x {
		p++
	}
	q := p
	for t.e[q] != 0 {
		q++
	}
	if q == len(t.e)-1 {
		return false
	}
	copy(t.e[p+1:q+1], t.e[p:q])
	t.e[p] = x
	t.n++
	return true
}

// remove deletes slot i, whose key has hash h, from the index.
func (e *Engine) remove(h, i uint32) {
	t := e.tableFor(h)
	x := uint64(h)<<32 | (uint64(i) + 1)
	p := t.home(h)
	for t.e[p] != x {
		p++
	}
	// Entries are sorted and homes grow with them, so the entries that may
	// move back are exactly those that follow, up to the first one at its
	// home or an empty position.
	q := p + 1
	for t.e[q] != 0 && t.home(uint32(t.e[q]>>32)) < q {
		q++
	}
	copy(t.e[p:q-1], t.e[p+1:q])
	t.e[q-1] = 0
	t.n--
	if t.size > minTableSize && 4*t.n < int(t.size) {
		e.resize(t, sizeFor(t.n), padFor(sizeFor(t.n)))
	}
}

// resize rebuilds t with size home positions and pad overflow positions, or
// more if its entries need them.
func (e *Engine) resize(t *table, size, pad int) {
	nt := build(t.e, t.depth, size, pad)
	e.indexBytes += 8 * int64(len(nt.e)-len(t.e))
	*t = *nt
}

// split replaces t, which holds hash h, with two tables divided on the next
// bit of the hash, and reports whether it did. It does not split when that
// would leave one side empty or the directory would exceed maxDepth.
func (e *Engine) split(t *table, h uint32) bool {
	if t.depth >= maxDepth {
		return false
	}
	// Entries with the next bit clear sort before those with it set.
	bit := uint64(1) << (63 - t.depth)
	at := 0
	for p, x := range t.e {
		if x != 0 && x&bit != 0 {
			at = p
			break
		}
		if p == len(t.e)-1 {
			return false // none set
		}
	}
	ones := 0
	for _, x := range t.e[at:] {
		if x != 0 {
			ones++
		}
	}
	if ones == t.n {
		return false
	}
	if t.depth == e.depth {
		dir := make([]*table, 2*len(e.dir))
		for i, d := range e.dir {
			dir[2*i], dir[2*i+1] = d, d
		}
		e.indexBytes += int64(unsafe.Sizeof(t)) * int64(len(dir)-len(e.dir))
		e.dir = dir
		e.depth++
	}
	s0, s1 := sizeFor(t.n-ones), sizeFor(ones)
	t0 := build(t.e[:at], t.depth+1, s0, padFor(s0))
	t1 := build(t.e[at:], t.depth+1, s1, padFor(s1))
	e.indexBytes += tableBytes + 8*int64(len(t0.e)+len(t1.e)-len(t.e))

	// t covers 1<<shift directory entries from start: the first half now
	// goes to t0, the second to t1.
	shift := e.depth - t.depth
	start := int(h>>(32-t.depth)) << shift
	half := 1 << (shift - 1)
	for k := start; k < start+half; k++ {
		e.dir[k] = t0
	}
	for k := start + half; k < start+2*half; k++ {
		e.dir[k] = t1
	}
	return true
}

package memory

import "unsafe"

// The index maps keys to slot numbers. It is an extendible hash table: a
// directory of 1<<depth pointers, indexed by the top depth bits of a key's
// 32-bit hash, to tables that each hold the keys whose hashes start with the
// same t.depth bits (t.depth <= depth, so 1<<(depth-t.depth) consecutive
// directory entries share a table).
//
// A table is an open-addressing array with linear probing. Each entry packs
// the key's hash into its high 32 bits and its slot number plus one into the
// low 32; zero marks an empty entry. A key's home position is its hash masked
// by the table size, so the low bits of the hash place a key within a table
// and the high bits choose the table. Entries hold no pointers: comparing a
// key means reading it from its slot, which is only done when the hashes
// match. Because every entry carries its hash, tables resize and split
// without rehashing any key.
//
// A table grows by doubling until it reaches maxTableSize and then splits in
// two on the next hash bit, doubling the directory if needed; it halves when
// it is mostly empty. Deletions shift later entries back, so there are no
// tombstones.

const (
	minTableSize = 8
	maxTableSize = 1024

	// maxDepth caps the directory at 1<<maxDepth entries. A table that
	// cannot split, because of the cap or because all its keys share the
	// next hash bit, grows past maxTableSize instead.
	maxDepth = 24

	tableBytes = int64(unsafe.Sizeof(table{}))
)

// table is one open-addressing table of the index.
type table struct {
	e     []uint64 // entries; len is a power of two
	n     int      // entries in use
	depth uint8    // every key here shares the top depth bits of its hash
}

func newTable(size int, depth uint8) *table {
	return &table{e: make([]uint64, size), depth: depth}
}

// sizeFor returns the table size for n entries: twice n rounded up to a power
// of two, so that a new table is at most half full.
func sizeFor(n int) int {
	size := minTableSize
	for size < 2*n {
		size *= 2
	}
	return size
}

// put adds entry x to t, which must have room.
func (t *table) put(x uint64) {
	mask := uint32(len(t.e) - 1)
	for i := uint32(x>>32) & mask; ; i = (i + 1) & mask {
		if t.e[i] == 0 {
			t.e[i] = x
			return
		}
	}
}

// resetIndex makes the index empty.
func (e *Engine) resetIndex() {
	e.dir = []*table{newTable(minTableSize, 0)}
	e.depth = 0
	e.indexBytes = int64(unsafe.Sizeof((*table)(nil))) + tableBytes + 8*minTableSize
}

// tableFor returns the table that holds hash h.
func (e *Engine) tableFor(h uint32) *table {
	return e.dir[h>>(32-e.depth)]
}

// find returns the number and address of the slot holding key, whose hash
// is h, and whether key is present.
func (e *Engine) find(key []byte, h uint32) (uint32, *slot, bool) {
	t := e.tableFor(h)
	mask := uint32(len(t.e) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		x := t.e[i]
		if x == 0 {
			return 0, nil, false
		}
		if uint32(x>>32) == h {
			n := uint32(x) - 1
			if s := e.slot(n); string(s.key()) == string(key) {
				return n, s, true
			}
		}
	}
}

// insert adds slot s, whose key has hash h and is not in the index yet.
func (e *Engine) insert(h, s uint32) {
	t := e.tableFor(h)
	t.put(uint64(h)<<32 | (uint64(s) + 1))
	t.n++
	if 4*t.n > 3*len(t.e) {
		if len(t.e) < maxTableSize || !e.split(t, h) {
			e.resize(t, 2*len(t.e))
		}
	}
}

// remove deletes slot s, whose key has hash h, from the index.
func (e *Engine) remove(h, s uint32) {
	t := e.tableFor(h)
	mask := uint32(len(t.e) - 1)
	x := uint64(h)<<32 | (uint64(s) + 1)
	i := h & mask
	for t.e[i] != x {
		i = (i + 1) & mask
	}
	// Shift back every later entry of the run that may sit at i: one whose
	// home is not cyclically within (i, j].
	for j := (i + 1) & mask; t.e[j] != 0; j = (j + 1) & mask {
		home := uint32(t.e[j]>>32) & mask
		if (j-home)&mask >= (j-i)&mask {
			t.e[i] = t.e[j]
			i = j
		}
	}
	t.e[i] = 0
	t.n--
	if len(t.e) > minTableSize && 8*t.n < len(t.e) {
		e.resize(t, len(t.e)/2)
	}
}

// resize rebuilds t with size entries.
func (e *Engine) resize(t *table, size int) {
	old := t.e
	t.e = make([]uint64, size)
	for _, x := range old {
		if x != 0 {
			t.put(x)
		}
	}
	e.indexBytes += 8 * int64(size-len(old))
}

// split replaces t, which holds hash h, with two tables divided on the next
// bit of the hash, and reports whether it did. It does not split when that
// would leave one side empty or the directory would exceed maxDepth.
func (e *Engine) split(t *table, h uint32) bool {
	if t.depth >= maxDepth {
		return false
	}
	bit := uint32(1) << (31 - t.depth)
	ones := 0
	for _, x := range t.e {
		if x != 0 && uint32(x>>32)&bit != 0 {
			ones++
		}
	}
	if ones == 0 || ones == t.n {
		return false
	}
	if t.depth == e.depth {
		dir := make([]*table, 2*len(e.dir))
		for i, d := range e.dir {
			dir[2*i], dir[2*i+1] = d, d
		}
		e.indexBytes += int64(unsafe.Sizeof((*table)(nil))) * int64(len(dir)-len(e.dir))
		e.dir = dir
		e.depth++
	}
	t0 := newTable(sizeFor(t.n-ones), t.depth+1)
	t1 := newTable(sizeFor(ones), t.depth+1)
	for _, x := range t.e {
		switch {
		case x == 0:
		case uint32(x>>32)&bit == 0:
			t0.put(x)
			t0.n++
		default:
			t1.put(x)
			t1.n++
		}
	}
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

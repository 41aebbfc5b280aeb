package object

import (
	"hash/maphash"
	"math/bits"
)

// posIndex is a hash index of the positions of a collection's elements,
// an open-addressing table with linear probing and no tombstones. Each
// slot is 4 bytes: the position plus one in the low bits (0: empty) and,
// while positions fit in 24 bits, the top 8 bits of the element's hash
// above them, so that most probes of other elements are told apart
// without reading the element. About 7 bytes per element at the loads a
// doubling index goes through, where a Go map from strings to positions
// takes about 50.
//
// The index does not hold the elements' keys: its methods take the
// element's hash, and a function that tells whether the element at a
// position is the one looked for, or the hash of the element at a
// position.
type posIndex struct {
	slots   []uint32
	posBits uint8 // 24, or 32 (no hash bits) once positions outgrow 24 bits
	n       int   // positions held
}

// indexSeed keys the hashes of every index: an index's order is never
// seen outside it, so one seed per process is enough.
var indexSeed = maphash.MakeSeed()

func hashBytes(b []byte) uint64  { return maphash.Bytes(indexSeed, b) }
func hashString(s string) uint64 { return maphash.String(indexSeed, s) }

// newPosIndex returns an index with room for hint positions.
func newPosIndex(hint int) posIndex {
	size := 8
	for size*3/4 < hint {
		size *= 2
	}
	return posIndex{slots: make([]uint32, size), posBits: 24}
}

func (x *posIndex) tag(h uint64) uint32 {
	if x.posBits == 32 {
		return 0
	}
	return uint32(h>>56) << x.posBits
}

// at returns the position in slot i, which is not empty.
func (x *posIndex) at(i int) uint32 {
	v := x.slots[i]
	if x.posBits < 32 {
		v &= 1<<x.posBits - 1
	}
	return v - 1
}

// lookup returns the slot of the element of hash h for which eq is true,
// and whether there is one; when there is none, the slot is the empty one
// where it would go.
func (x *posIndex) lookup(h uint64, eq func(pos uint32) bool) (slot int, found bool) {
	tag := x.tag(h)
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		v := x.slots[i]
		if v == 0 {
			return int(i), false
		}
		if x.posBits == 32 || v&^(1<<x.posBits-1) == tag {
			if eq(x.at(int(i))) {
				return int(i), true
			}
		}
	}
}

// set puts pos, of an element of hash h, in slot i, which lookup of that
// element returned.
func (x *posIndex) set(i int, h uint64, pos uint32) {
	if x.slots[i] == 0 {
		x.n++
	}
	x.slots[i] = pos + 1 | x.tag(h)
}

// grows reports whether adding a position pos calls for a rebuild first
// (the index too full, or pos past 24 bits), after which the element's
// slot must be looked up again.
func (x *posIndex) grows(pos uint32) bool {
	return (x.n+1)*4 > len(x.slots)*3 || x.posBits < 32 && pos+1 >= 1<<x.posBits
}

// rebuild makes the index hold the n positions next gives, with their
// hashes, in a table with room for one more at least; next reports
// false at the end.
func (x *posIndex) rebuild(n int, maxPos uint32, next func() (pos uint32, h uint64, ok bool)) {
	wide := x.posBits == 32 || maxPos+1 >= 1<<24
	*x = newPosIndex(n + 1)
	if wide {
		x.posBits = 32 // and for good, as positions rarely shrink back
	}
	mask := uint64(len(x.slots) - 1)
	for {
		pos, h, ok := next()
		if !ok {
			return
		}
		i := h & mask
		for x.slots[i] != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = pos + 1 | x.tag(h)
		x.n++
	}
}

// remove empties slot i, moving back the slots after it that belong
// before it; hash returns the hash of the element at a position.
func (x *posIndex) remove(i int, hash func(pos uint32) uint64) {
	mask := len(x.slots) - 1
	for j := (i + 1) & mask; x.slots[j] != 0; j = (j + 1) & mask {
		home := int(hash(x.at(j))) & mask
		// The slot at j may move to i if i lies between its home and j.
		if (j-home)&mask >= (j-i)&mask {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = 0
	x.n--
}

// replace makes slot i, not empty, hold pos instead, for the same element.
func (x *posIndex) replace(i int, pos uint32) {
	x.slots[i] = x.slots[i]&^(1<<x.posBits-1) | (pos + 1)
	if x.posBits == 32 {
		x.slots[i] = pos + 1
	}
}

// bytes returns the index's size in bytes.
func (x *posIndex) bytes() int64 { return int64(len(x.slots)) * 4 }

func (x *posIndex) clone() posIndex {
	c := *x
	c.slots = append([]uint32(nil), x.slots...)
	return c
}

// scan calls fn with the positions whose home is a slot from cursor on,
// in Redis's reverse-binary order of buckets, until it has called fn count
// times or visited 10·count slots, and returns the cursor to go on from, 0
// at the end; hash returns the hash of the element at a position. The
// elements whose home is a slot lie in the run of filled slots that starts
// there, whatever was inserted or removed since, so each slot stands for a
// bucket as in Redis's dictScan, and an element present for a whole
// iteration is visited at least once, even across a growth of the index.
func (x *posIndex) scan(cursor uint64, count int, hash func(pos uint32) uint64, fn func(pos uint32)) uint64 {
	mask := uint64(len(x.slots) - 1)
	called := 0
	for range 10 * count {
		b := cursor & mask
		for i := b; x.slots[i] != 0; i = (i + 1) & mask {
			if pos := x.at(int(i)); hash(pos)&mask == b {
				fn(pos)
				called++
			}
		}
		cursor |= ^mask
		cursor = bits.Reverse64(bits.Reverse64(cursor) + 1)
		if cursor == 0 || called >= count {
			break
		}
	}
	return cursor
}

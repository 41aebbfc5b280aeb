package arena

import (
	"math/bits"
	"slices"
	"sync/atomic"
)

const (
	// minChunk and maxChunk bound the size of a shared chunk. A new chunk
	// holds an eighth of the live bytes, rounded up to a power of two,
	// within these bounds: a small engine holds little memory, a large one
	// few chunks, and no single chunk is a large part of either, so one
	// chunk emptying as its keys are deleted does not start a sweep.
	minChunk = 1 << 10
	maxChunk = 1 << 20

	// hugeEntry is the size above which an entry gets a chunk of its own.
	// Such a chunk is released as soon as its entry is deleted or moved,
	// so compaction never copies more than hugeEntry bytes for one entry.
	hugeEntry = 32 << 10

	// noChunk is the value of arena.cur when there is no current chunk.
	noChunk = -1

	// maxChunks bounds the number of chunks: a location keeps the chunk
	// number plus one in 31 bits.
	maxChunks = 1<<31 - 2
)

// chunk is a byte array holding entries back to back, or a free chunk
// number when b is nil.
type chunk struct {
	b    []byte // entries; len is the bytes written, cap the chunk's size
	live int    // bytes of b that belong to live entries
	huge bool   // holds a single entry larger than hugeEntry
	evac bool   // marked for evacuation by the running sweep
}

// arena is the part of an Engine that holds entry bytes.
//
// A location is a uint64 with the chunk number plus one in bits 32 to 62
// and the offset of the entry within the chunk in the low 32 bits, so that
// no location is zero and bit 63 stays clear. An entry is its key length
// (shifted left one bit, the low bit set for an entry whose value is an
// Object) and value length as varints, then the key, then the value; a
// value replaced in place by a shorter one keeps the width of its length.
// An Object entry has an empty value: its object is kept by slot number.
type arena struct {
	// frozen counts the Freeze copies not yet released, which share the
	// chunks' bytes: while there are any, no byte an entry was written
	// to is written again (see Engine.Freeze). It is kept across reset.
	frozen *atomic.Int32

	chunks     []chunk
	spare      []uint32 // free chunk numbers, to reuse
	cur        int      // shared chunk that new entries are appended to, or noChunk
	chunkBytes int64    // capacity of the shared chunks
	chunkLive  int64    // live bytes in the shared chunks
	hugeBytes  int64    // capacity of the huge chunks
}

func makeLoc(c, off int) uint64 { return uint64(c+1)<<32 | uint64(uint32(off)) }

func splitLoc(loc uint64) (c, off int) { return int(loc>>32) - 1, int(uint32(loc)) }

// entry returns the key and value at loc. Their capacity ends with them, so
// appending to them never writes into the chunk.
func (a *arena) entry(loc uint64) (key, value []byte) {
	c, off := splitLoc(loc)
	b := a.chunks[c].b[off:]
	klen, vlen, k := header(b)
	v := k + klen
	end := v + vlen
	return b[k:v:v], b[v:end:end]
}

// header decodes the lengths at the start of the entry b and returns them
// and the header's width.
func header(b []byte) (klen, vlen, width int) {
	if b[1]|b[0] < 0x80 {
		return int(b[0] >> 1), int(b[1]), 2
	}
	return headerLong(b)
}

func headerLong(b []byte) (klen, vlen, width int) {
	klen, kw := uvarint(b)
	vlen, vw := uvarint(b[kw:])
	return klen >> 1, vlen, kw + vw
}

// typedAt reports whether the entry at the start of b holds an Object: the
// low bit of its key length's first byte.
func typedAt(b []byte) bool { return b[0]&1 != 0 }

// entrySize returns the number of bytes of the entry at the start of b.
func entrySize(b []byte) int {
	klen, vlen, width := header(b)
	return width + klen + vlen
}

// put writes an entry holding key and value, marked as an Object entry when
// typed, and returns its location. key and value may lie in a chunk: put
// only writes past the end of the current chunk's entries, or into a new
// chunk.
func (a *arena) put(key, value []byte, typed bool) uint64 {
	kraw := len(key) << 1
	if typed {
		kraw |= 1
	}
	kw, vw := uvarintLen(kraw), uvarintLen(len(value))
	n := kw + vw + len(key) + len(value)
	var c int
	if n > hugeEntry {
		c = a.newChunk(slices.Grow([]byte(nil), n))
		a.chunks[c].huge = true
		a.hugeBytes += int64(cap(a.chunks[c].b))
	} else {
		c = a.room(n)
		a.chunkLive += int64(n)
	}
	ch := &a.chunks[c]
	off := len(ch.b)
	ch.b = ch.b[:off+n]
	ch.live += n
	b := ch.b[off:]
	putUvarintWidth(b, kraw, kw)
	putUvarintWidth(b[kw:], len(value), vw)
	copy(b[kw+vw:], key)
	copy(b[kw+vw+len(key):], value)
	return makeLoc(c, off)
}

// room returns the current chunk, replaced by a new one if it has fewer
// than n free bytes; n is at most hugeEntry.
func (a *arena) room(n int) int {
	if a.cur != noChunk {
		if ch := &a.chunks[a.cur]; cap(ch.b)-len(ch.b) >= n {
			return a.cur
		}
		a.retire()
	}
	size := a.chunkSize()
	for size < n {
		size *= 2
	}
	a.cur = a.newChunk(make([]byte, 0, size))
	a.chunkBytes += int64(size)
	return a.cur
}

// chunkSize returns the size of a new shared chunk.
func (a *arena) chunkSize() int {
	want := a.chunkLive / 8
	if want <= minChunk {
		return minChunk
	}
	return min(maxChunk, 1<<bits.Len64(uint64(want-1)))
}

// retire stops appending to the current chunk, releasing it if it holds no
// live entry. Its unused end becomes garbage.
func (a *arena) retire() {
	c := a.cur
	a.cur = noChunk
	if a.chunks[c].live == 0 {
		a.freeChunk(c)
	}
}

// newChunk adds a chunk holding b and returns its number.
func (a *arena) newChunk(b []byte) int {
	ch := chunk{b: b}
	if n := len(a.spare); n > 0 {
		c := int(a.spare[n-1])
		a.spare = shrink(a.spare[:n-1])
		a.chunks[c] = ch
		return c
	}
	if len(a.chunks) == maxChunks {
		panic("arena: too many chunks")
	}
	a.chunks = append(a.chunks, ch)
	return len(a.chunks) - 1
}

// freeChunk releases chunk c, which holds no live entry unless it is huge.
func (a *arena) freeChunk(c int) {
	ch := &a.chunks[c]
	if ch.huge {
		a.hugeBytes -= int64(cap(ch.b))
	} else {
		a.chunkBytes -= int64(cap(ch.b))
	}
	*ch = chunk{}
	a.spare = append(a.spare, uint32(c))
}

// release accounts for the entry of size bytes in chunk c being gone,
// releasing the chunk when nothing in it is live any more. It returns the
// bytes of shared chunks that became garbage.
func (a *arena) release(c, size int) int {
	ch := &a.chunks[c]
	ch.live -= size
	if ch.huge {
		a.freeChunk(c)
		return 0
	}
	a.chunkLive -= int64(size)
	if ch.live == 0 {
		switch {
		case c != a.cur:
			a.freeChunk(c)
		case cap(ch.b) > a.chunkSize():
			a.retire()
		case a.shared():
			// A Freeze copy may still read its old entries.
			a.retire()
		default:
			// Nothing in it is live: write it again from the start.
			ch.b = ch.b[:0]
		}
	}
	return size
}

// shared reports whether a Freeze copy may read the chunks' bytes, so
// that nothing may be written over an entry.
func (a *arena) shared() bool { return a.frozen.Load() > 0 }

// shrunk accounts for an entry in chunk c having lost n bytes of its value
// to a shorter one written in place, and returns the bytes of shared chunks
// that became garbage.
func (a *arena) shrunk(c, n int) int {
	ch := &a.chunks[c]
	ch.live -= n
	if ch.huge {
		return 0
	}
	a.chunkLive -= int64(n)
	return n
}

// garbage returns the bytes of shared chunks that hold no live entry, not
// counting the unused end of the current chunk.
func (a *arena) garbage() int64 {
	g := a.chunkBytes - a.chunkLive
	if a.cur != noChunk {
		ch := &a.chunks[a.cur]
		g -= int64(cap(ch.b) - len(ch.b))
	}
	return g
}

// uvarintLen returns the number of bytes of v as a varint.
func uvarintLen(v int) int {
	return (bits.Len64(uint64(v)|1) + 6) / 7
}

// putUvarintWidth writes v as a varint of exactly w bytes, padding it with
// continuation bytes when it needs fewer; w must be at least uvarintLen(v).
func putUvarintWidth(b []byte, v, w int) {
	b = b[:w]
	for i := range w - 1 {
		b[i] = byte(v) | 0x80
		v >>= 7
	}
	b[w-1] = byte(v)
}

// uvarint decodes the varint at the start of b and returns it and its
// width.
func uvarint(b []byte) (int, int) {
	if b[0] < 0x80 {
		return int(b[0]), 1
	}
	return uvarintLong(b)
}

func uvarintLong(b []byte) (int, int) {
	v, shift := 0, 0
	for i, x := range b {
		v |= int(x&0x7f) << shift
		if x < 0x80 {
			return v, i + 1
		}
		shift += 7
	}
	panic("arena: corrupt entry header")
}

// Package arena implements storage.Engine with keys and values packed into
// large byte chunks: a million entries with 16-byte keys and values take
// about 54 bytes each, and give the garbage collector a few thousand
// pointer-free objects to track instead of a million.
//
// # Layout
//
// Every entry lives in a numbered slot and keeps its slot number for as long
// as its key is present; freed slots are reused by later inserts, and free
// slots at the end of the array are given back a page at a time. A slot is a
// single uint64 with no pointer in it: zero for a free slot, else the
// location of the entry's bytes (a chunk number and an offset), or, for an
// entry with an expiry, the position of a record in a dense array of
// expiring entries that holds the location, the expiry and the slot number.
// Entries without an expiry, the common case, thus cost 8 bytes of slot.
//
// An entry's bytes are its key length and value length as varints, then the
// key, then the value. They are appended to the current chunk, a []byte of
// up to maxChunk bytes (smaller while the engine is small); an entry larger
// than hugeEntry gets a chunk of its own, released as soon as the entry goes.
// A value replaced by one that is no longer is written in place; otherwise
// the entry is appended anew and its old bytes become garbage. Each chunk
// counts its live bytes and is released when none are left.
//
// Garbage is reclaimed by compaction, which only runs inside Set and Delete.
// When garbage exceeds a quarter of the chunk bytes, the chunks with the most
// garbage are marked for evacuation, and a sweep walks the slot array a
// bounded number of slots per Set or Delete, copying each entry it finds in
// a marked chunk to the current chunk and updating its location. Slots never
// move, so Scan's cursors stay valid; the index, which maps hashes to slot
// numbers, is not touched. Entries written while a sweep runs go to the
// current chunk, which is never marked, so when the sweep reaches the end of
// the slot array every marked chunk is empty and has been released.
//
// Keys are found through an index from a 32-bit hash to slot number (see
// index.go): an extendible hash table of small pointer-free tables, kept
// sorted by hash, that grow and split one at a time.
//
// Scan's cursor is a slot number. Because a key never changes slot, an
// iteration visits every key that is present for its whole duration, however
// many other keys are set or deleted between calls.
//
// # Concurrency
//
// An Engine is owned by one goroutine at a time, as storage.Engine requires:
// it has no locks and must not be used concurrently.
package arena

import (
	"hash/maphash"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"unsafe"

	"github.com/data-cluster/data-cluster/internal/storage"
)

// MaxEntrySize is the largest combined length of a key and its value that
// Set accepts.
const MaxEntrySize = 1 << 31

const (
	pageShift = 12
	pageSize  = 1 << pageShift // slots per page
	pageMask  = pageSize - 1

	// firstPageCap is the initial capacity of the first page, which grows
	// by doubling up to pageSize so that small engines stay small.
	firstPageCap = 8

	// maxSlots bounds the number of slots: the index stores slot+1 in 32
	// bits.
	maxSlots = 1<<32 - 1

	// randomTries is how many random slots RandomKey probes before it
	// walks to the next live slot.
	randomTries = 16

	// expFlag marks a slot whose low 32 bits are a position in
	// Engine.exps rather than a location.
	expFlag = 1 << 63
)

var _ storage.Engine = (*Engine)(nil)

// expEntry is the record of an entry with an expiry.
type expEntry struct {
	loc  uint64 // location of the entry's bytes
	at   int64  // expiry
	slot uint32 // the entry's slot, whose value is expFlag | position here
}

// Engine is an in-memory storage.Engine whose entries live in byte chunks.
// Create one with New; the zero value is not usable.
//
// An Engine is not safe for concurrent use: it belongs to one goroutine at a
// time, which alone may call its methods.
type Engine struct {
	pages     [][]uint64 // slot i is pages[i>>pageShift][i&pageMask]
	pageBytes int64      // capacity of the pages, in bytes
	nslots    uint32     // slots below nslots exist, live or free
	free      []uint32   // free slots to reuse, last in first out; stale entries are skipped
	exps      []expEntry // entries with an expiry, in no particular order
	live      int        // live entries

	arena // chunks; see chunks.go
	sweep // compaction; see compact.go

	// The index; see index.go.
	dir        []*table // indexed by the top depth bits of a key's hash
	depth      uint8
	indexBytes int64 // memory held by dir and its tables
	seed       maphash.Seed
	hashFunc   func(key []byte) uint32 // replaces maphash when not nil, in tests

	usage storage.UsageWords // per-key usage words for eviction, when tracked (usage.go)
	objs  storage.Objects    // the Objects of entries that hold one, by slot

	// thaw, in a Freeze copy, is its engine's count of copies, which
	// Release decrements.
	thaw *atomic.Int32

	// prefetched sums what Prefetch reads, so that its loads are not
	// optimized away.
	prefetched uint64
}

// New returns an empty Engine.
func New() *Engine {
	e := &Engine{seed: maphash.MakeSeed(), arena: arena{frozen: new(atomic.Int32)}}
	e.reset()
	return e
}

// reset makes e empty, keeping its hash function and usage tracking.
func (e *Engine) reset() {
	*e = Engine{seed: e.seed, hashFunc: e.hashFunc, usage: e.usage, prefetched: e.prefetched, arena: arena{frozen: e.frozen}}
	e.usage.Reset()
	e.cur = noChunk
	e.resetIndex()
}

// hash returns the 32-bit hash of key that the index is built on.
func (e *Engine) hash(key []byte) uint32 {
	if e.hashFunc != nil {
		return e.hashFunc(key)
	}
	return uint32(maphash.Bytes(e.seed, key))
}

// slot returns the address of slot i, which must be below e.nslots.
func (e *Engine) slot(i uint32) *uint64 {
	return &e.pages[i>>pageShift][i&pageMask]
}

// locOf returns the location held by s, the value of a live slot.
func (e *Engine) locOf(s uint64) uint64 {
	if s&expFlag != 0 {
		return e.exps[uint32(s)].loc
	}
	return s
}

// expOf returns the expiry held by s, the value of a live slot.
func (e *Engine) expOf(s uint64) int64 {
	if s&expFlag != 0 {
		return e.exps[uint32(s)].at
	}
	return storage.NoExpiry
}

// setLoc moves live slot i, whose value is s, to location loc.
func (e *Engine) setLoc(i uint32, s, loc uint64) {
	if s&expFlag != 0 {
		e.exps[uint32(s)].loc = loc
		return
	}
	*e.slot(i) = loc
}

// Lookup returns the value and expiry of key, and whether it is present. The
// value is valid until the next call that modifies the engine; it is nil for
// a key that holds an Object.
func (e *Engine) Lookup(key []byte) (value []byte, expireAt int64, ok bool) {
	i, s, loc, value, ok := e.find(key, e.hash(key))
	if !ok {
		return nil, storage.NoExpiry, false
	}
	if e.usage.Tracking() {
		e.usage.Use(i, false)
	}
	if e.typed(loc) {
		value = nil
	}
	return value, e.expOf(s), true
}

// Find returns key's value as bytes or as an Object, its expiry, and
// whether it is present.
func (e *Engine) Find(key []byte) (value []byte, obj storage.Object, expireAt int64, ok bool) {
	i, s, loc, value, ok := e.find(key, e.hash(key))
	if !ok {
		return nil, nil, storage.NoExpiry, false
	}
	if e.usage.Tracking() {
		e.usage.Use(i, false)
	}
	if e.typed(loc) {
		return nil, e.objs.Get(i), e.expOf(s), true
	}
	return value, nil, e.expOf(s), true
}

// typed reports whether the entry at loc holds an Object.
func (e *Engine) typed(loc uint64) bool {
	if e.objs.Len() == 0 {
		return false
	}
	c, off := splitLoc(loc)
	return typedAt(e.chunks[c].b[off:])
}

// SetObject stores obj under a copy of key with expiry expireAt, replacing
// any previous value and expiry.
func (e *Engine) SetObject(key []byte, obj storage.Object, expireAt int64) {
	if len(key) > MaxEntrySize {
		panic("arena: entry larger than MaxEntrySize")
	}
	h := e.hash(key)
	garbage := 0
	if i, s, loc, _, ok := e.find(key, h); ok {
		if !e.typed(loc) {
			c, off := splitLoc(loc)
			b := e.chunks[c].b[off:]
			klen, _, hdr := header(b)
			size := entrySize(b)
			e.setLoc(i, s, e.put(b[hdr:hdr+klen:hdr+klen], nil, true))
			garbage = e.release(c, size)
		}
		e.objs.Put(i, obj)
		e.setExpiry(i, expireAt)
		if e.usage.Tracking() {
			e.usage.Use(i, false)
		}
	} else {
		i := e.allocSlot()
		*e.slot(i) = e.put(key, nil, true)
		e.objs.Put(i, obj)
		e.setExpiry(i, expireAt)
		e.insert(h, i)
		e.live++
		if e.usage.Tracking() {
			e.usage.Use(i, true)
		}
	}
	e.maintain(garbage)
}

// Resized accounts for an Object changed in place; see storage.Engine.
func (e *Engine) Resized(delta int64) { e.objs.Resized(delta) }

// Set stores copies of key and value with expiry expireAt, replacing any
// previous value and expiry. It panics if len(key)+len(value) exceeds
// MaxEntrySize.
//
// key and value may be slices the engine handed out.
func (e *Engine) Set(key, value []byte, expireAt int64) {
	if len(key)+len(value) > MaxEntrySize {
		panic("arena: entry larger than MaxEntrySize")
	}
	h := e.hash(key)
	garbage := 0
	if i, s, loc, _, ok := e.find(key, h); ok {
		if e.typed(loc) {
			e.objs.Drop(i)
			c, off := splitLoc(loc)
			b := e.chunks[c].b[off:]
			klen, _, hdr := header(b)
			size := entrySize(b)
			e.setLoc(i, s, e.put(b[hdr:hdr+klen:hdr+klen], value, false))
			garbage = e.release(c, size)
		} else {
			garbage = e.replace(i, s, loc, value)
		}
		e.setExpiry(i, expireAt)
		if e.usage.Tracking() {
			e.usage.Use(i, false)
		}
	} else {
		i := e.allocSlot()
		*e.slot(i) = e.put(key, value, false)
		e.setExpiry(i, expireAt)
		e.insert(h, i)
		e.live++
		if e.usage.Tracking() {
			e.usage.Use(i, true)
		}
	}
	e.maintain(garbage)
}

// replace gives live slot i, whose value is s and location loc, a new value,
// and returns how many bytes of shared chunks it turned into garbage. A value
// no longer than the old one is written over it; otherwise the entry is
// written anew.
func (e *Engine) replace(i uint32, s, loc uint64, value []byte) int {
	c, off := splitLoc(loc)
	ch := &e.chunks[c]
	b := ch.b[off:]
	klen, vlen, hdr := header(b)
	vw := hdr - uvarintLen(klen)
	size := hdr + klen + vlen
	if len(value) <= vlen && (!ch.huge || 2*(hdr+klen+len(value)) >= cap(ch.b)) && !e.shared() {
		// The length keeps its width, so the key does not move.
		putUvarintWidth(b[hdr-vw:hdr], len(value), vw)
		copy(b[hdr+klen:], value)
		return e.shrunk(c, vlen-len(value))
	}
	// put copies the key before release may drop the chunk it is in, and
	// the chunk's memory stays valid while the key slice refers to it.
	e.setLoc(i, s, e.put(b[hdr:hdr+klen:hdr+klen], value, false))
	return e.release(c, size)
}

var _ storage.RangeWriter = (*Engine)(nil)

// WriteAt copies data over key's string value from byte off, in its chunk;
// see storage.RangeWriter.
func (e *Engine) WriteAt(key []byte, off int, data []byte) bool {
	i, _, loc, value, ok := e.find(key, e.hash(key))
	if !ok || e.typed(loc) || off < 0 || off > len(value)-len(data) || e.shared() {
		return false
	}
	copy(value[off:], data)
	if e.usage.Tracking() {
		e.usage.Use(i, false)
	}
	return true
}

// SetExpire sets the expiry of key and reports whether key is present.
func (e *Engine) SetExpire(key []byte, expireAt int64) bool {
	i, _, _, _, ok := e.find(key, e.hash(key))
	if !ok {
		return false
	}
	e.setExpiry(i, expireAt)
	return true
}

// setExpiry sets the expiry of live slot i and keeps e.exps in step.
func (e *Engine) setExpiry(i uint32, at int64) {
	p := e.slot(i)
	s := *p
	switch {
	case s&expFlag != 0 && at != storage.NoExpiry:
		e.exps[uint32(s)].at = at
	case s&expFlag != 0:
		pos := uint32(s)
		*p = e.exps[pos].loc
		last := len(e.exps) - 1
		if moved := e.exps[last]; int(pos) != last {
			e.exps[pos] = moved
			*e.slot(moved.slot) = expFlag | uint64(pos)
		}
		e.exps = shrink(e.exps[:last])
	case at != storage.NoExpiry:
		*p = expFlag | uint64(len(e.exps))
		e.exps = append(e.exps, expEntry{loc: s, at: at, slot: i})
	}
}

// Delete removes key and reports whether it was present.
func (e *Engine) Delete(key []byte) bool {
	h := e.hash(key)
	i, s, loc, _, ok := e.find(key, h)
	if !ok {
		return false
	}
	e.remove(h, i)
	if s&expFlag != 0 {
		e.setExpiry(i, storage.NoExpiry)
	}
	if e.typed(loc) {
		// The object goes to the garbage collector, which frees it in the
		// background however large it is.
		e.objs.Drop(i)
	}
	c, off := splitLoc(loc)
	garbage := e.release(c, entrySize(e.chunks[c].b[off:]))
	*e.slot(i) = 0
	e.live--
	e.freeSlot(i)
	e.maintain(garbage)
	return true
}

// allocSlot returns a free slot, reusing one if it can.
func (e *Engine) allocSlot() uint32 {
	for len(e.free) > 0 {
		i := e.free[len(e.free)-1]
		e.free = shrink(e.free[:len(e.free)-1])
		if i < e.nslots && *e.slot(i) == 0 {
			return i
		}
	}
	if e.nslots == maxSlots {
		panic("arena: too many keys")
	}
	i := e.nslots
	pg := int(i >> pageShift)
	if pg == len(e.pages) {
		c := pageSize
		if pg == 0 {
			c = firstPageCap
		}
		e.pages = append(e.pages, make([]uint64, 0, c))
		e.pageBytes += 8 * int64(c)
	}
	page := e.pages[pg]
	if len(page) == cap(page) {
		page = append(make([]uint64, 0, min(2*cap(page), pageSize)), page...)
		e.pageBytes += 8 * int64(cap(page)-len(page))
	}
	e.pages[pg] = page[:len(page)+1]
	e.nslots++
	return i
}

// freeSlot puts slot i, already cleared, up for reuse. Free slots at the end
// of the array are dropped instead, with their pages when they empty.
func (e *Engine) freeSlot(i uint32) {
	if i+1 < e.nslots {
		e.free = append(e.free, i)
		return
	}
	for e.nslots > 0 && *e.slot(e.nslots - 1) == 0 {
		e.nslots--
		pg := len(e.pages) - 1
		e.pages[pg] = e.pages[pg][:len(e.pages[pg])-1]
		if len(e.pages[pg]) == 0 {
			e.pageBytes -= 8 * int64(cap(e.pages[pg]))
			e.pages[pg] = nil
			e.pages = e.pages[:pg]
		}
	}
	if e.nslots == 0 {
		// Every entry left in e.free is stale.
		e.free = nil
	}
}

// shrink returns s, reallocated smaller when most of its capacity is unused.
func shrink[T any](s []T) []T {
	if cap(s) > 1024 && len(s) < cap(s)/4 {
		return append(make([]T, 0, 2*len(s)), s...)
	}
	return s
}

// Len returns the number of keys.
func (e *Engine) Len() int { return e.live }

// ExpiresLen returns the number of keys with an expiry.
func (e *Engine) ExpiresLen() int { return len(e.exps) }

// Scan calls fn for entries in slot order, starting at cursor, until fn
// returns false or the last slot has been passed. It returns the cursor to
// continue from, or 0 when the iteration is complete. The entry for which fn
// returns false counts as visited: the returned cursor continues after it.
//
// A cursor is a slot number. Cursor 0 starts an iteration; a returned cursor
// is never 0 unless the iteration is complete, since it follows a visited
// slot.
func (e *Engine) Scan(cursor uint64, fn func(key, value []byte, obj storage.Object, expireAt int64) bool) uint64 {
	n := uint64(e.nslots)
	for pg := cursor >> pageShift; pg < uint64(len(e.pages)); pg++ {
		page := e.pages[pg]
		start := 0
		if pg == cursor>>pageShift {
			start = int(cursor & pageMask)
		}
		for j := start; j < len(page); j++ {
			s := page[j]
			if s == 0 {
				continue
			}
			loc := e.locOf(s)
			k, v := e.entry(loc)
			var obj storage.Object
			if e.typed(loc) {
				v, obj = nil, e.objs.Get(uint32(pg<<pageShift)|uint32(j))
			}
			if !fn(k, v, obj, e.expOf(s)) {
				if next := pg<<pageShift + uint64(j) + 1; next < n {
					return next
				}
				return 0
			}
		}
	}
	return 0
}

// SampleExpiring calls fn for min(n, ExpiresLen()) distinct keys with an
// expiry. It visits positions of the dense expiry array from a random start
// with a random stride coprime to its length, so a call costs O(n) and
// repeated calls cover the whole set.
func (e *Engine) SampleExpiring(n int, fn func(key []byte, expireAt int64)) {
	l := len(e.exps)
	if n <= 0 || l == 0 {
		return
	}
	n = min(n, l)
	pos, stride := storage.RandomWalk(l)
	for range n {
		x := &e.exps[pos]
		k, _ := e.entry(x.loc)
		fn(k, x.at)
		if pos += stride; pos >= l {
			pos -= l
		}
	}
}

// RandomKey returns a key chosen at random, or ok false when the engine is
// empty. It probes random slots and, when those are all free, takes the first
// live slot after a random one.
func (e *Engine) RandomKey() (key []byte, ok bool) {
	if e.live == 0 {
		return nil, false
	}
	n := e.nslots
	for range randomTries {
		if s := *e.slot(rand.Uint32N(n)); s != 0 {
			k, _ := e.entry(e.locOf(s))
			return k, true
		}
	}
	for i := rand.Uint32N(n); ; {
		if s := *e.slot(i); s != 0 {
			k, _ := e.entry(e.locOf(s))
			return k, true
		}
		if i++; i == n {
			i = 0
		}
	}
}

// Clear removes every key and releases the memory that held them.
func (e *Engine) Clear() { e.reset() }

// MemoryUsage returns the memory in bytes that the engine's data takes: the
// bytes of live entries, huge chunks at their capacity, slot pages, index
// tables and bookkeeping arrays. Like Redis's used_memory, it leaves out
// what the data does not use: the garbage that compaction has yet to
// reclaim (between sweeps, under a quarter of the chunk bytes) and the
// unused end of the current chunk. So it goes down as keys are deleted, as
// eviction expects.
func (e *Engine) MemoryUsage() int64 {
	n := int64(unsafe.Sizeof(*e)) + e.chunkLive + e.hugeBytes + e.indexBytes + e.usage.Bytes() + e.objs.Bytes()
	n += int64(cap(e.chunks)) * int64(unsafe.Sizeof(chunk{}))
	n += int64(cap(e.pages))*int64(unsafe.Sizeof([]uint64(nil))) + e.pageBytes
	n += int64(cap(e.exps)) * int64(unsafe.Sizeof(expEntry{}))
	// The free list counts by its length: counting its capacity, which
	// doubles now and then, would make a single Delete look like it took
	// memory, and eviction delete more keys to make up for it.
	n += 4 * int64(len(e.free)+cap(e.spare)+cap(e.candidates))
	return n
}

var _ storage.Freezer = (*Engine)(nil)

// Freeze returns a copy of e's entries, with their slots and expiries,
// that Scan reads in the same order as e's, and that another goroutine
// may use while e changes. The copy has no index, so it only serves Len
// and Scan.
//
// The copy shares e's chunks, whose bytes it reads as they were: until it
// is released, e writes no byte of an entry again. A shorter value is
// written anew rather than over the old one, WriteAt declines, and a chunk
// that empties is dropped rather than written again from its start; new
// entries go past the ends the copy knows, or to new chunks. So a Freeze
// copies only the slot pages, the expiries and the objects (cloned), not
// the entries' bytes, and e's owner is held that long.
func (e *Engine) Freeze() storage.Frozen {
	f := &Engine{nslots: e.nslots, live: e.live, exps: slices.Clone(e.exps), objs: e.objs.Clone()}
	f.pages = make([][]uint64, len(e.pages))
	for i, p := range e.pages {
		f.pages[i] = slices.Clone(p)
	}
	f.chunks = make([]chunk, len(e.chunks))
	for i, c := range e.chunks {
		f.chunks[i].b = c.b
	}
	e.frozen.Add(1)
	f.thaw = e.frozen
	return f
}

// Release ends the use of a Freeze copy: its engine may write over the
// bytes the copy shared once every copy is released. It is called once,
// by the copy's user.
func (e *Engine) Release() {
	if t := e.thaw; t != nil {
		e.thaw = nil
		t.Add(-1)
	}
}

// Package memory implements storage.Engine in memory. It is the default
// engine of a shard.
//
// # Layout
//
// Every entry lives in a numbered slot, and keeps its slot number for as long
// as its key is present. A slot holds a pointer to one allocation with the key
// followed by the value, the lengths of both, and the entry's expiry. The slot
// array is made of pages of pageSize slots, so it grows a page at a time and
// is never copied as a whole. A deleted entry's allocation is dropped at once;
// its slot goes on a free list and is reused by a later insert. Free slots at
// the end of the array are given back, a page at a time.
//
// Scan's cursor is a slot number. Because a key never changes slot, an
// iteration visits every key that is present for its whole duration, however
// many other keys are set or deleted between calls.
//
// Keys are found through an index from hash to slot number (see index.go): an
// extendible hash table whose small linear-probing tables hold no pointers and
// grow, split and shrink one at a time, so that no single insert rehashes more
// than one small table. Apart from the entry allocations themselves, the
// engine holds one pointer per slot and one per index table, which keeps
// garbage collection work low.
//
// Keys with an expiry are also listed in a dense array, each slot knowing its
// position there, so that SampleExpiring picks random keys in time
// proportional to the sample and never walks keys without an expiry.
//
// # Concurrency
//
// An Engine is owned by one goroutine at a time, as storage.Engine requires:
// it has no locks and must not be used concurrently.
package memory

import (
	"hash/maphash"
	"math/rand/v2"
	"slices"
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

	// inPlaceSlack is the allocation size up to which a replaced value is
	// always written into the existing allocation when it fits. Larger
	// allocations are reused only while at least half of them is in use.
	inPlaceSlack = 64
)

var _ storage.Engine = (*Engine)(nil)

// emptyEntry is where entries with an empty key and an empty value point,
// so that a live slot never has a nil pointer. Nothing is ever written to it.
var emptyEntry byte

// slot is one entry of the engine, or a free slot when p is nil. p points to
// size bytes made by allocate (or to emptyEntry when size is 0): the key,
// then the value, then unused capacity. The key bytes are never written after
// allocate, since the index compares keys against them. A slot whose value
// is an Object has vlen objectLen and no value bytes; the object is kept in
// Engine.objs by slot number.
type slot struct {
	p    *byte // key then value; nil when the slot is free
	exp  int64 // expiry, storage.NoExpiry for none
	klen uint32
	vlen uint32
	size uint32 // capacity of the allocation at p
	epos uint32 // position in Engine.expiring when exp != storage.NoExpiry
}

func (s *slot) mem() []byte { return unsafe.Slice(s.p, s.size) }

func (s *slot) key() []byte { return s.mem()[:s.klen:s.klen] }

// objectLen is the vlen of a slot whose value is an Object.
const objectLen = 1<<32 - 1

func (s *slot) typed() bool { return s.vlen == objectLen }

func (s *slot) value() []byte {
	if s.typed() {
		return nil
	}
	end := s.klen + s.vlen
	return s.mem()[s.klen:end:end]
}

// Engine is an in-memory storage.Engine. Create one with New; the zero value
// is not usable.
//
// An Engine is not safe for concurrent use: it belongs to one goroutine at a
// time, which alone may call its methods.
type Engine struct {
	pages    [][]slot // slot i is pages[i>>pageShift][i&pageMask]
	nslots   uint32   // slots below nslots exist, live or free
	free     []uint32 // free slots to reuse, last in first out; entries >= nslots are stale
	expiring []uint32 // slots whose entry has an expiry, in no particular order
	live     int      // live entries
	data     int64    // bytes of entry allocations

	// The index; see index.go.
	dir        []*table // indexed by the top depth bits of a key's hash
	depth      uint8
	indexBytes int64 // memory held by dir and its tables
	seed       maphash.Seed
	hashFunc   func(key []byte) uint32 // replaces maphash when not nil, in tests

	usage storage.UsageWords // per-key usage words for eviction, when tracked (usage.go)
	objs  storage.Objects    // the Objects of entries that hold one, by slot
}

// New returns an empty Engine.
func New() *Engine {
	e := &Engine{seed: maphash.MakeSeed()}
	e.resetIndex()
	return e
}

// hash returns the 32-bit hash of key that the index is built on.
func (e *Engine) hash(key []byte) uint32 {
	if e.hashFunc != nil {
		return e.hashFunc(key)
	}
	return uint32(maphash.Bytes(e.seed, key))
}

// slot returns slot i, which must be below e.nslots.
func (e *Engine) slot(i uint32) *slot {
	return &e.pages[i>>pageShift][i&pageMask]
}

// Lookup returns the value and expiry of key, and whether it is present. The
// value is valid until the next call that modifies the engine.
func (e *Engine) Lookup(key []byte) (value []byte, expireAt int64, ok bool) {
	i, s, ok := e.find(key, e.hash(key))
	if !ok {
		return nil, storage.NoExpiry, false
	}
	if e.usage.Tracking() {
		e.usage.Use(i, false)
	}
	return s.value(), s.exp, true
}

// Find returns key's value as bytes or as an Object, its expiry, and
// whether it is present.
func (e *Engine) Find(key []byte) (value []byte, obj storage.Object, expireAt int64, ok bool) {
	i, s, ok := e.find(key, e.hash(key))
	if !ok {
		return nil, nil, storage.NoExpiry, false
	}
	if e.usage.Tracking() {
		e.usage.Use(i, false)
	}
	if s.typed() {
		return nil, e.objs.Get(i), s.exp, true
	}
	return s.value(), nil, s.exp, true
}

// SetObject stores obj under a copy of key with expiry expireAt, replacing
// any previous value and expiry.
func (e *Engine) SetObject(key []byte, obj storage.Object, expireAt int64) {
	if len(key) > MaxEntrySize {
		panic("memory: entry larger than MaxEntrySize")
	}
	h := e.hash(key)
	if i, s, ok := e.find(key, h); ok {
		e.replace(i, s, nil, expireAt)
		s.vlen = objectLen
		e.objs.Put(i, obj)
		if e.usage.Tracking() {
			e.usage.Use(i, false)
		}
		return
	}
	i := e.allocSlot()
	p, size := allocate(key, nil)
	s := e.slot(i)
	*s = slot{p: p, klen: uint32(len(key)), vlen: objectLen, size: size}
	e.data += int64(size)
	e.objs.Put(i, obj)
	e.setExpiry(i, s, expireAt)
	e.insert(h, i)
	e.live++
	if e.usage.Tracking() {
		e.usage.Use(i, true)
	}
}

var _ storage.RangeWriter = (*Engine)(nil)

// WriteAt copies data over key's string value from byte off, in its
// allocation; see storage.RangeWriter.
func (e *Engine) WriteAt(key []byte, off int, data []byte) bool {
	i, s, ok := e.find(key, e.hash(key))
	if !ok || s.typed() || off < 0 || off > int(s.vlen)-len(data) {
		return false
	}
	copy(s.mem()[int(s.klen)+off:], data)
	if e.usage.Tracking() {
		e.usage.Use(i, false)
	}
	return true
}

// Resized accounts for an Object changed in place; see storage.Engine.
func (e *Engine) Resized(delta int64) { e.objs.Resized(delta) }

// Set stores copies of key and value with expiry expireAt, replacing any
// previous value and expiry. It panics if len(key)+len(value) exceeds
// MaxEntrySize.
//
// key and value may be slices the engine handed out.
func (e *Engine) Set(key, value []byte, expireAt int64) {
	n := len(key) + len(value)
	if n > MaxEntrySize {
		panic("memory: entry larger than MaxEntrySize")
	}
	h := e.hash(key)
	if i, s, ok := e.find(key, h); ok {
		e.replace(i, s, value, expireAt)
		if e.usage.Tracking() {
			e.usage.Use(i, false)
		}
		return
	}
	i := e.allocSlot()
	p, size := allocate(key, value)
	s := e.slot(i)
	*s = slot{p: p, klen: uint32(len(key)), vlen: uint32(len(value)), size: size}
	e.data += int64(size)
	e.setExpiry(i, s, expireAt)
	e.insert(h, i)
	e.live++
	if e.usage.Tracking() {
		e.usage.Use(i, true)
	}
}

// replace gives live slot i, whose address is s, a new value and expiry.
// The value is written over the old one when it fits the allocation without
// wasting most of it; the key bytes, which the index compares against, are
// never written.
func (e *Engine) replace(i uint32, s *slot, value []byte, expireAt int64) {
	if s.typed() {
		e.objs.Drop(i)
		s.vlen = 0
	}
	n := s.klen + uint32(len(value))
	if n <= s.size && (s.size <= inPlaceSlack || 2*uint64(n) >= uint64(s.size)) {
		copy(s.mem()[s.klen:], value)
	} else {
		p, size := allocate(s.key(), value)
		e.data += int64(size) - int64(s.size)
		s.p, s.size = p, size
	}
	s.vlen = uint32(len(value))
	e.setExpiry(i, s, expireAt)
}

// allocate returns a new allocation holding key then value, and its
// capacity, which is rounded up to the allocator's size class so that later
// values may grow into it.
func allocate(key, value []byte) (*byte, uint32) {
	n := len(key) + len(value)
	if n == 0 {
		return &emptyEntry, 0
	}
	b := slices.Grow([]byte(nil), n)
	b = append(append(b, key...), value...)
	return unsafe.SliceData(b), uint32(cap(b))
}

// SetExpire sets the expiry of key and reports whether key is present.
func (e *Engine) SetExpire(key []byte, expireAt int64) bool {
	i, s, ok := e.find(key, e.hash(key))
	if !ok {
		return false
	}
	e.setExpiry(i, s, expireAt)
	return true
}

// setExpiry sets the expiry of live slot i, whose address is s, and keeps
// e.expiring in step.
func (e *Engine) setExpiry(i uint32, s *slot, at int64) {
	switch {
	case at == storage.NoExpiry && s.exp != storage.NoExpiry:
		last := len(e.expiring) - 1
		moved := e.expiring[last]
		e.expiring[s.epos] = moved
		e.slot(moved).epos = s.epos
		e.expiring = shrink(e.expiring[:last])
		s.epos = 0
	case at != storage.NoExpiry && s.exp == storage.NoExpiry:
		s.epos = uint32(len(e.expiring))
		e.expiring = append(e.expiring, i)
	}
	s.exp = at
}

// Delete removes key and reports whether it was present. The entry's
// allocation is released to the garbage collector at once.
func (e *Engine) Delete(key []byte) bool {
	h := e.hash(key)
	i, s, ok := e.find(key, h)
	if !ok {
		return false
	}
	e.remove(h, i)
	e.setExpiry(i, s, storage.NoExpiry)
	if s.typed() {
		e.objs.Drop(i)
	}
	e.data -= int64(s.size)
	*s = slot{}
	e.live--
	e.freeSlot(i)
	return true
}

// allocSlot returns a free slot, reusing one if it can.
func (e *Engine) allocSlot() uint32 {
	for len(e.free) > 0 {
		i := e.free[len(e.free)-1]
		e.free = shrink(e.free[:len(e.free)-1])
		if i < e.nslots && e.slot(i).p == nil {
			return i
		}
	}
	if e.nslots == maxSlots {
		panic("memory: too many keys")
	}
	i := e.nslots
	pg := int(i >> pageShift)
	if pg == len(e.pages) {
		c := pageSize
		if pg == 0 {
			c = firstPageCap
		}
		e.pages = append(e.pages, make([]slot, 0, c))
	}
	page := e.pages[pg]
	if len(page) == cap(page) {
		page = append(make([]slot, 0, min(2*cap(page), pageSize)), page...)
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
	for e.nslots > 0 && e.slot(e.nslots-1).p == nil {
		e.nslots--
		pg := len(e.pages) - 1
		e.pages[pg] = e.pages[pg][:len(e.pages[pg])-1]
		if len(e.pages[pg]) == 0 {
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
func shrink(s []uint32) []uint32 {
	if cap(s) > 1024 && len(s) < cap(s)/4 {
		return append(make([]uint32, 0, 2*len(s)), s...)
	}
	return s
}

// Len returns the number of keys.
func (e *Engine) Len() int { return e.live }

// ExpiresLen returns the number of keys with an expiry.
func (e *Engine) ExpiresLen() int { return len(e.expiring) }

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
			s := &page[j]
			if s.p == nil {
				continue
			}
			var obj storage.Object
			if s.typed() {
				obj = e.objs.Get(uint32(pg<<pageShift) | uint32(j))
			}
			if !fn(s.key(), s.value(), obj, s.exp) {
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
	l := len(e.expiring)
	if n <= 0 || l == 0 {
		return
	}
	n = min(n, l)
	pos, stride := storage.RandomWalk(l)
	for range n {
		s := e.slot(e.expiring[pos])
		fn(s.key(), s.exp)
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
		if s := e.slot(rand.Uint32N(n)); s.p != nil {
			return s.key(), true
		}
	}
	for i := rand.Uint32N(n); ; {
		if s := e.slot(i); s.p != nil {
			return s.key(), true
		}
		if i++; i == n {
			i = 0
		}
	}
}

// Clear removes every key and releases the memory that held them.
func (e *Engine) Clear() {
	*e = Engine{seed: e.seed, hashFunc: e.hashFunc, usage: e.usage}
	e.usage.Reset()
	e.resetIndex()
}

// MemoryUsage returns an estimate in bytes of the memory the engine holds:
// its slot pages, entry allocations (at their size class), index tables and
// bookkeeping arrays.
func (e *Engine) MemoryUsage() int64 {
	const (
		slotBytes  = int64(unsafe.Sizeof(slot{}))
		sliceBytes = int64(unsafe.Sizeof([]slot(nil)))
	)
	n := int64(unsafe.Sizeof(*e)) + e.data + e.indexBytes
	n += int64(cap(e.pages)) * sliceBytes
	for _, p := range e.pages {
		n += int64(cap(p)) * slotBytes
	}
	n += 4 * int64(cap(e.free)+cap(e.expiring))
	n += e.usage.Bytes() + e.objs.Bytes()
	return n
}

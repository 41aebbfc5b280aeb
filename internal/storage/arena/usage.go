package arena

import (
	"math/rand/v2"
	"unsafe"

	"github.com/data-cluster/data-cluster/internal/storage"
)

var _ storage.UsageTracker = (*Engine)(nil)

// TrackUsage implements storage.UsageTracker.
func (e *Engine) TrackUsage(fn func(old uint32, fresh bool) uint32) {
	e.usage = storage.NewUsageWords(fn)
}

// KeyUsage implements storage.UsageTracker.
func (e *Engine) KeyUsage(key []byte) (uint32, bool) {
	if !e.usage.Tracking() {
		return 0, false
	}
	i, _, _, _, ok := e.find(key, e.hash(key))
	if !ok {
		return 0, false
	}
	return e.usage.Of(i), true
}

// SampleUsage implements storage.UsageTracker. Keys without an expiry are
// picked by probing random slots, a bounded number of times; keys with one
// from random positions of the dense expiry array.
func (e *Engine) SampleUsage(n int, volatile bool, fn func(key []byte, expireAt int64, usage uint32)) {
	if n <= 0 {
		return
	}
	if volatile {
		l := len(e.exps)
		if l == 0 {
			return
		}
		for range min(n, l) {
			x := &e.exps[rand.IntN(l)]
			k, _ := e.entry(x.loc)
			fn(k, x.at, e.usage.Of(x.slot))
		}
		return
	}
	if e.live == 0 {
		return
	}
	found := 0
	for try := 0; found < n && try < 8*n; try++ {
		i := rand.Uint32N(e.nslots)
		if s := *e.slot(i); s != 0 {
			k, _ := e.entry(e.locOf(s))
			fn(k, e.expOf(s), e.usage.Of(i))
			found++
		}
	}
}

var _ storage.Sizer = (*Engine)(nil)

// emptyIndexBytes is the index of an empty engine, which no key is charged
// for.
var emptyIndexBytes = func() int64 {
	var e Engine
	e.resetIndex()
	return e.indexBytes
}()

// KeyMemoryUsage implements storage.Sizer: the entry's bytes in its chunk
// (a huge entry's whole chunk), its 8-byte slot, its expiry record if it
// has one, its usage word when tracked, its share of the index (what the
// index holds beyond an empty engine's, over the keys), and for an Object
// the object's MemoryUsage and its pointer in the object pages.
func (e *Engine) KeyMemoryUsage(key []byte) (bytes, expireAt int64, ok bool) {
	i, s, loc, _, ok := e.find(key, e.hash(key))
	if !ok {
		return 0, storage.NoExpiry, false
	}
	c, off := splitLoc(loc)
	ch := &e.chunks[c]
	if ch.huge {
		bytes = int64(cap(ch.b))
	} else {
		bytes = int64(entrySize(ch.b[off:]))
	}
	bytes += int64(unsafe.Sizeof(uint64(0))) + max(0, e.indexBytes-emptyIndexBytes)/int64(e.live)
	if s&expFlag != 0 {
		bytes += int64(unsafe.Sizeof(expEntry{}))
	}
	if e.usage.Tracking() {
		bytes += 4
	}
	if e.typed(loc) {
		bytes += storage.ObjectRefBytes + e.objs.Get(i).MemoryUsage()
	}
	return bytes, e.expOf(s), true
}

package memory

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
	i, _, ok := e.find(key, e.hash(key))
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
		l := len(e.expiring)
		if l == 0 {
			return
		}
		for range min(n, l) {
			i := e.expiring[rand.IntN(l)]
			s := e.slot(i)
			fn(s.key(), s.exp, e.usage.Of(i))
		}
		return
	}
	if e.live == 0 {
		return
	}
	found := 0
	for try := 0; found < n && try < 8*n; try++ {
		i := rand.Uint32N(e.nslots)
		if s := e.slot(i); s.p != nil {
			fn(s.key(), s.exp, e.usage.Of(i))
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

// KeyMemoryUsage implements storage.Sizer: the entry's allocation at its
// size, its slot, its place in the expiring array if it has an expiry, its
// usage word when tracked, its share of the index (what the index holds
// beyond an empty engine's, over the keys), and for an Object the object's
// MemoryUsage and its pointer in the object pages.
func (e *Engine) KeyMemoryUsage(key []byte) (bytes, expireAt int64, ok bool) {
	i, s, ok := e.find(key, e.hash(key))
	if !ok {
		return 0, storage.NoExpiry, false
	}
	bytes = int64(s.size) + int64(unsafe.Sizeof(slot{})) + max(0, e.indexBytes-emptyIndexBytes)/int64(e.live)
	if s.exp != storage.NoExpiry {
		bytes += 4
	}
	if e.usage.Tracking() {
		bytes += 4
	}
	if s.typed() {
		bytes += storage.ObjectRefBytes + e.objs.Get(i).MemoryUsage()
	}
	return bytes, s.exp, true
}

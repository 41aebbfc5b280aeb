package memory

import (
	"math/rand/v2"

	"github.com/data-cluster/data-cluster/internal/storage"
)

var _ storage.UsageTracker = (*Engine)(nil)

// usageTable holds one usage word per slot while usage is tracked, in pages
// parallel to the slot pages, allocated as slots are first used. Words of
// free slots are stale and never read: Set gives a new entry a fresh word.
type usageTable struct {
	fn    func(old uint32, fresh bool) uint32
	pages [][]uint32
}

// TrackUsage implements storage.UsageTracker.
func (e *Engine) TrackUsage(fn func(old uint32, fresh bool) uint32) {
	e.usage = usageTable{fn: fn}
}

// use records a use of live slot i; fresh is true for an entry just inserted.
func (e *Engine) use(i uint32, fresh bool) {
	u := &e.usage
	pg := int(i >> pageShift)
	for pg >= len(u.pages) {
		u.pages = append(u.pages, nil)
	}
	p := u.pages[pg]
	if p == nil {
		p = make([]uint32, pageSize)
		u.pages[pg] = p
	}
	w := &p[i&pageMask]
	old := *w
	if fresh {
		old = 0
	}
	*w = u.fn(old, fresh)
}

// usageOf returns the usage word of live slot i.
func (e *Engine) usageOf(i uint32) uint32 {
	pg := int(i >> pageShift)
	if pg >= len(e.usage.pages) || e.usage.pages[pg] == nil {
		return 0
	}
	return e.usage.pages[pg][i&pageMask]
}

// bytes returns the memory the usage words hold.
func (u *usageTable) bytes() int64 {
	n := int64(24 * cap(u.pages))
	for _, p := range u.pages {
		n += 4 * int64(cap(p))
	}
	return n
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
			fn(s.key(), s.exp, e.usageOf(i))
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
			fn(s.key(), s.exp, e.usageOf(i))
			found++
		}
	}
}

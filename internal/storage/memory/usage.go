package memory

import (
	"math/rand/v2"

	"github.com/data-cluster/data-cluster/internal/storage"
)

var _ storage.UsageTracker = (*Engine)(nil)

// TrackUsage implements storage.UsageTracker.
func (e *Engine) TrackUsage(fn func(old uint32, fresh bool) uint32) {
	e.usage = storage.NewUsageWords(fn)
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

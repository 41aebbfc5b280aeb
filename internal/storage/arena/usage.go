package arena

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

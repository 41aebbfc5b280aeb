package storage

// UsageWords holds one usage word per slot number for an engine that
// implements UsageTracker, in pages allocated as slots are first used. Words
// of free slots are stale and never read: a new entry gets a fresh word. The
// zero value tracks nothing; it is owned by its engine's goroutine.
type UsageWords struct {
	fn    func(old uint32, fresh bool) uint32
	pages [][]uint32
}

const (
	usagePageShift = 12
	usagePageSize  = 1 << usagePageShift
	usagePageMask  = usagePageSize - 1
)

// NewUsageWords returns a table that computes each new word with fn, as
// UsageTracker.TrackUsage describes.
func NewUsageWords(fn func(old uint32, fresh bool) uint32) UsageWords {
	return UsageWords{fn: fn}
}

// Tracking reports whether usage is tracked at all.
func (u *UsageWords) Tracking() bool { return u.fn != nil }

// Reset forgets every word and keeps tracking with the same function.
func (u *UsageWords) Reset() { *u = UsageWords{fn: u.fn} }

// Use records a use of live slot i; fresh is true for an entry just
// inserted. Call it only while Tracking.
func (u *UsageWords) Use(i uint32, fresh bool) {
	pg := int(i >> usagePageShift)
	for pg >= len(u.pages) {
		u.pages = append(u.pages, nil)
	}
	p := u.pages[pg]
	if p == nil {
		p = make([]uint32, usagePageSize)
		u.pages[pg] = p
	}
	w := &p[i&usagePageMask]
	old := *w
	if fresh {
		old = 0
	}
	*w = u.fn(old, fresh)
}

// Of returns the usage word of live slot i.
func (u *UsageWords) Of(i uint32) uint32 {
	pg := int(i >> usagePageShift)
	if pg >= len(u.pages) || u.pages[pg] == nil {
		return 0
	}
	return u.pages[pg][i&usagePageMask]
}

// Bytes returns the memory the words hold.
func (u *UsageWords) Bytes() int64 {
	n := int64(24 * cap(u.pages))
	for _, p := range u.pages {
		n += 4 * int64(cap(p))
	}
	return n
}

package storage

// UsageTracker is implemented by engines that keep a 32-bit usage word per
// key for eviction policies: the owner decides what the word means (an access
// clock for LRU, a logarithmic counter and a decay time for LFU, as Redis
// keeps in 24 bits of each object) and the engine stores it and hands it back
// when sampling. Like Engine, it is used by the engine's owner only.
type UsageTracker interface {
	// TrackUsage makes the engine call fn whenever Lookup finds a key and
	// whenever Set stores one, and keep the word fn returns as the key's
	// usage. old is the key's previous word; fresh is true when Set has just
	// inserted the key, and old is then 0. A nil fn stops tracking and drops
	// the words.
	TrackUsage(fn func(old uint32, fresh bool) uint32)

	// SampleUsage calls fn for up to n keys chosen at random (only among
	// keys with an expiry when volatile is set) with their expiry and usage
	// word. Keys may repeat within one call. It does not count as a use of
	// the keys, and fn must not modify the engine.
	SampleUsage(n int, volatile bool, fn func(key []byte, expireAt int64, usage uint32))

	// KeyUsage returns key's usage word, and false when key is absent or
	// usage is not tracked. It does not count as a use of the key.
	KeyUsage(key []byte) (uint32, bool)
}

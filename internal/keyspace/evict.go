package keyspace

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// Policy is a maxmemory policy: which keys a DB evicts when its memory is
// over its limit. The names and meanings are Redis's.
type Policy uint8

// The maxmemory policies.
const (
	NoEviction     Policy = iota // evict nothing: writes that need memory are refused
	AllKeysLRU                   // the least recently used keys
	AllKeysLFU                   // the least frequently used keys
	AllKeysRandom                // random keys
	VolatileLRU                  // the least recently used keys with an expiry
	VolatileLFU                  // the least frequently used keys with an expiry
	VolatileRandom               // random keys with an expiry
	VolatileTTL                  // the keys with an expiry that expire soonest
)

var policyNames = [...]string{
	NoEviction:     "noeviction",
	AllKeysLRU:     "allkeys-lru",
	AllKeysLFU:     "allkeys-lfu",
	AllKeysRandom:  "allkeys-random",
	VolatileLRU:    "volatile-lru",
	VolatileLFU:    "volatile-lfu",
	VolatileRandom: "volatile-random",
	VolatileTTL:    "volatile-ttl",
}

// String returns the policy's name as Redis spells it.
func (p Policy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return "unknown"
}

// ErrPolicy is returned by ParsePolicy for a name that is not a policy.
var ErrPolicy = errors.New("want one of " + strings.Join(policyNames[:], ", "))

// ParsePolicy returns the policy named s, in any letter case.
func ParsePolicy(s string) (Policy, error) {
	for i, n := range policyNames {
		if strings.EqualFold(s, n) {
			return Policy(i), nil
		}
	}
	return 0, ErrPolicy
}

func (p Policy) volatile() bool { return p >= VolatileLRU }

// Eviction bounds the memory of a DB, as Redis's maxmemory settings do.
type Eviction struct {
	// MaxMemory is the most bytes the DB's engine may hold, by its own
	// estimate (storage.Engine.MemoryUsage); 0 means no limit.
	MaxMemory int64
	// Policy chooses the keys evicted to get back under MaxMemory.
	Policy Policy
	// Samples is how many keys one eviction samples (Redis's
	// maxmemory-samples); 0 means 5.
	Samples int
	// Logged is for a replicated keyspace, whose replicas must all remove
	// the same keys: the DB never evicts on its own (MakeRoom reports true
	// at once), and its owner chooses keys with Victims, logs them, and has
	// every replica remove them with Evict.
	Logged bool
}

// DefaultSamples is the number of keys one eviction samples by default.
const DefaultSamples = 5

const (
	poolSize        = 16 // best candidates kept between evictions (Redis's EVPOOL_SIZE)
	lfuInitVal      = 5  // LFU counter of a new key (Redis's LFU_INIT_VAL)
	lfuLogFactor    = 10
	lfuDecayMinutes = 1
)

// evictor is a DB's eviction state.
type evictor struct {
	cfg     Eviction
	tracker storage.UsageTracker // nil when the engine keeps no usage words
	pool    []candidate          // ascending by score: the best is last
	spare   [][]byte             // key buffers of dropped candidates
	clock   uint32               // LRU access clock: one tick per use
	evicted int64

	// consider and considerExpiring are db.consider as the samplers take
	// it, made once rather than per sample.
	consider         func(key []byte, expireAt int64, usage uint32)
	considerExpiring func(key []byte, expireAt int64)
}

// recycle keeps b's memory for a later candidate's key.
func (ev *evictor) recycle(b []byte) {
	if len(ev.spare) < poolSize {
		ev.spare = append(ev.spare, b[:0])
	}
}

// buffer returns an empty buffer for a key, reusing a recycled one if it can.
func (ev *evictor) buffer() []byte {
	n := len(ev.spare)
	if n == 0 {
		return nil
	}
	b := ev.spare[n-1]
	ev.spare = ev.spare[:n-1]
	return b
}

// candidate is a key that eviction may remove; the higher the score, the
// better a candidate it is.
type candidate struct {
	score uint64
	key   []byte
}

// SetEviction sets the DB's memory limit and policy; it may be called again
// to change them, keeping the count of evicted keys. With an LRU policy and
// a limit, or an LFU policy with or without one (as in Redis, OBJECT FREQ
// then counts accesses), it turns on usage tracking in the engine if the
// engine keeps usage words (storage.UsageTracker); an engine that does not
// gets random eviction for those policies.
func (db *DB) SetEviction(ev Eviction) {
	if ev.Samples <= 0 {
		ev.Samples = DefaultSamples
	}
	db.ev = evictor{cfg: ev, consider: db.consider, evicted: db.ev.evicted}
	db.ev.considerExpiring = func(k []byte, at int64) { db.consider(k, at, 0) }
	t, ok := db.e.(storage.UsageTracker)
	if !ok {
		return
	}
	switch {
	case ev.MaxMemory > 0 && (ev.Policy == AllKeysLRU || ev.Policy == VolatileLRU):
		t.TrackUsage(db.lruUse)
		db.ev.tracker = t
	case ev.Policy.LFU():
		t.TrackUsage(db.lfuUse)
		db.ev.tracker = t
	default:
		t.TrackUsage(nil)
	}
}

// LFU reports whether p evicts the least frequently used keys.
func (p Policy) LFU() bool { return p == AllKeysLFU || p == VolatileLFU }

// Freq returns key's LFU access counter as OBJECT FREQ shows it (decayed to
// now, and not counting this as an access); ok is false when the key is
// absent or the engine keeps no counters (the policy is not LFU).
func (db *DB) Freq(key []byte) (freq int, ok bool) {
	if !db.ev.cfg.Policy.LFU() || db.ev.tracker == nil {
		return 0, false
	}
	word, ok := db.ev.tracker.KeyUsage(key)
	if !ok {
		return 0, false
	}
	return int(lfuDecay(word, lfuMinutes(db.now))), true
}

// Eviction returns the settings of SetEviction.
func (db *DB) Eviction() Eviction { return db.ev.cfg }

// EvictedKeys returns how many keys eviction has removed.
func (db *DB) EvictedKeys() int64 { return db.ev.evicted }

// MakeRoom evicts keys by the policy until the engine's memory is within the
// limit, and reports whether it is: false means a command that needs memory
// must be refused (the policy is noeviction, or nothing is left to evict).
// Without a limit it reports true at once.
func (db *DB) MakeRoom() bool {
	if db.ev.cfg.MaxMemory <= 0 || db.paused || db.ev.cfg.Logged {
		return true
	}
	return db.makeRoom()
}

// Excess returns how many bytes the engine holds over the limit, by its
// own estimate: 0 without a limit or within it.
func (db *DB) Excess() int64 {
	if db.ev.cfg.MaxMemory <= 0 {
		return 0
	}
	return max(0, db.e.MemoryUsage()-db.ev.cfg.MaxMemory)
}

// Victims appends to dst up to n distinct keys that eviction would remove
// next under the policy, best first, without removing them, and returns
// dst; none when the policy is noeviction or no key is eligible. The keys
// are copies, dst's own.
func (db *DB) Victims(dst [][]byte, n int) [][]byte {
	if db.ev.cfg.Policy == NoEviction {
		return dst
	}
	first := len(dst)
	chosen := func(k []byte) bool {
		for _, c := range dst[first:] {
			if string(c) == string(k) {
				return true
			}
		}
		return false
	}
	volatile := db.ev.cfg.Policy.volatile()
	// A key stays until the log removes it, so it may be drawn again: a
	// few more draws than keys.
	for tries := 0; len(dst)-first < n && tries < 2*n+8; tries++ {
		switch db.ev.cfg.Policy {
		case AllKeysRandom, VolatileRandom:
			var key []byte
			if db.ev.cfg.Policy == AllKeysRandom {
				key, _ = db.e.RandomKey()
			} else {
				db.e.SampleExpiring(1, func(k []byte, _ int64) { key = k })
			}
			if key == nil {
				return dst
			}
			if !chosen(key) {
				dst = append(dst, append([]byte(nil), key...))
			}
		default:
			// The pool's candidates, best first, each once: the best
			// ones chosen already come back with every sample.
			db.populate(volatile)
			if len(db.ev.pool) == 0 {
				return dst
			}
			for len(db.ev.pool) > 0 && len(dst)-first < n {
				last := len(db.ev.pool) - 1
				c := db.ev.pool[last]
				db.ev.pool = db.ev.pool[:last]
				if _, at, ok := db.e.Lookup(c.key); ok && (!volatile || at != storage.NoExpiry) && !chosen(c.key) {
					dst = append(dst, append([]byte(nil), c.key...))
				}
				db.ev.recycle(c.key)
			}
		}
	}
	return dst
}

// Evict removes key as eviction does, counting it in EvictedKeys and
// publishing its evicted event, and reports whether it was there.
func (db *DB) Evict(key []byte) bool {
	// Delete goes through the keyspace so that watchers see the change; a
	// key that had expired meanwhile is counted as expired instead.
	if !db.Delete(key) {
		return false
	}
	db.ev.evicted++
	db.notify.Event(notify.Evicted, "evicted", key)
	return true
}

func (db *DB) makeRoom() bool {
	for db.e.MemoryUsage() > db.ev.cfg.MaxMemory {
		if db.ev.cfg.Policy == NoEviction || !db.evictOne() {
			return false
		}
	}
	return true
}

// evictOne removes one key chosen by the policy and reports false when there
// was none to remove.
func (db *DB) evictOne() bool {
	var key []byte
	switch db.ev.cfg.Policy {
	case AllKeysRandom:
		k, ok := db.e.RandomKey()
		if !ok {
			return false
		}
		key = append(db.ev.buffer(), k...)
	case VolatileRandom:
		db.e.SampleExpiring(1, func(k []byte, _ int64) { key = append(db.ev.buffer(), k...) })
		if key == nil {
			return false
		}
	default:
		key = db.fromPool()
		if key == nil {
			return false
		}
	}
	db.Evict(key)
	db.ev.recycle(key)
	return true
}

// fromPool samples keys into the pool of candidates and takes the best one
// that still exists, as Redis's evictionPoolPopulate and performEvictions do.
// It returns nil when no key is eligible.
func (db *DB) fromPool() []byte {
	volatile := db.ev.cfg.Policy.volatile()
	for range 3 {
		db.populate(volatile)
		for len(db.ev.pool) > 0 {
			last := len(db.ev.pool) - 1
			c := db.ev.pool[last]
			db.ev.pool = db.ev.pool[:last]
			if _, at, ok := db.e.Lookup(c.key); ok && (!volatile || at != storage.NoExpiry) {
				return c.key
			}
			db.ev.recycle(c.key)
		}
	}
	return nil
}

// populate adds a sample of keys to the pool.
func (db *DB) populate(volatile bool) {
	n := db.ev.cfg.Samples
	switch {
	case db.ev.tracker != nil:
		db.ev.tracker.SampleUsage(n, volatile, db.ev.consider)
	case volatile:
		db.e.SampleExpiring(n, db.ev.considerExpiring)
	default:
		for range n {
			k, ok := db.e.RandomKey()
			if !ok {
				return
			}
			db.consider(k, storage.NoExpiry, 0)
		}
	}
}

// consider puts key in the pool if it is among the best candidates seen.
func (db *DB) consider(key []byte, expireAt int64, usage uint32) {
	score := db.score(expireAt, usage)
	pool := db.ev.pool
	if len(pool) == poolSize && score <= pool[0].score {
		return
	}
	for i := range pool {
		// A key sampled again with the same score is already in; one whose
		// score changed since leaves a stale entry behind, which is checked
		// when it is taken.
		if pool[i].score == score && string(pool[i].key) == string(key) {
			return
		}
	}
	if len(pool) == poolSize {
		db.ev.recycle(pool[0].key)
		pool = append(pool[:0], pool[1:]...)
	}
	pool = append(pool, candidate{score: score, key: append(db.ev.buffer(), key...)})
	sortPool(pool)
	db.ev.pool = pool
}

// sortPool restores ascending score order after one entry changed or was
// appended (an insertion sort pass over at most poolSize entries).
func sortPool(pool []candidate) {
	for i := 1; i < len(pool); i++ {
		for j := i; j > 0 && pool[j].score < pool[j-1].score; j-- {
			pool[j], pool[j-1] = pool[j-1], pool[j]
		}
	}
}

// score rates a key as a candidate for the policy: the idle time for LRU,
// 255 minus the decayed counter for LFU, the nearness of its expiry for
// volatile-ttl.
func (db *DB) score(expireAt int64, usage uint32) uint64 {
	switch db.ev.cfg.Policy {
	case AllKeysLRU, VolatileLRU:
		return uint64(db.ev.clock - usage)
	case AllKeysLFU, VolatileLFU:
		return 255 - uint64(lfuDecay(usage, lfuMinutes(db.now)))
	case VolatileTTL:
		return math.MaxUint64 - uint64(expireAt)
	}
	return 0
}

// lruUse is the usage function for LRU: every use takes the next tick of the
// DB's access clock, so idle time is counted in uses of the DB rather than
// in seconds, which orders keys exactly however fast they are used.
func (db *DB) lruUse(old uint32, fresh bool) uint32 {
	if db.noTouch && !fresh {
		return old
	}
	db.ev.clock++
	return db.ev.clock
}

// lfuUse is the usage function for LFU, Redis's: the word holds the minute
// of the last decrement in its high 16 bits and a logarithmic counter in its
// low 8. A new key starts at lfuInitVal so that it is not evicted at once.
func (db *DB) lfuUse(old uint32, fresh bool) uint32 {
	now := lfuMinutes(db.now)
	if fresh {
		return now<<8 | lfuInitVal
	}
	if db.noTouch {
		return old
	}
	return now<<8 | uint32(lfuIncr(lfuDecay(old, now)))
}

// lfuMinutes returns the time in minutes, modulo 2^16, of a Unix time in
// milliseconds.
func lfuMinutes(ms int64) uint32 { return uint32(ms/60000) & 0xffff }

// lfuDecay returns the counter of word decremented once per lfuDecayMinutes
// since its last decrement.
func lfuDecay(word, now uint32) uint8 {
	ldt, counter := word>>8, word&0xff
	elapsed := now - ldt
	if now < ldt {
		elapsed = 0xffff - ldt + now
	}
	periods := elapsed / lfuDecayMinutes
	if periods >= counter {
		return 0
	}
	return uint8(counter - periods)
}

// lfuIncr increments a logarithmic counter: the higher it is, the less
// likely, as Redis's LFULogIncr.
func lfuIncr(counter uint8) uint8 {
	if counter == 255 {
		return 255
	}
	base := float64(counter) - lfuInitVal
	if base < 0 {
		base = 0
	}
	if rand.Float64() < 1/(base*lfuLogFactor+1) {
		counter++
	}
	return counter
}

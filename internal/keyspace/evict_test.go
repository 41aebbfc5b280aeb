package keyspace

import (
	"fmt"
	"strings"
	"testing"

	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/storage/memory"
)

func TestParsePolicy(t *testing.T) {
	for p := NoEviction; p <= VolatileTTL; p++ {
		got, err := ParsePolicy(strings.ToUpper(p.String()))
		if err != nil || got != p {
			t.Errorf("ParsePolicy(%q): got %v, %v; want %v", p.String(), got, err, p)
		}
	}
	if _, err := ParsePolicy("lru"); err != ErrPolicy {
		t.Errorf("ParsePolicy(lru): got %v, want ErrPolicy", err)
	}
}

// evictionLimit leaves room for a few hundred keys of evictValue.
const evictionLimit = 256 << 10

var evictValue = []byte(strings.Repeat("v", 500))

func newEvictDB(p Policy) *DB {
	db := newDB(1_000_000)
	db.SetEviction(Eviction{MaxMemory: evictionLimit, Policy: p})
	return db
}

// write runs a write the way the server does: MakeRoom first, the write only
// if it says so.
func write(db *DB, key string, expireAt int64) bool {
	if !db.MakeRoom() {
		return false
	}
	db.Set([]byte(key), evictValue, expireAt)
	return true
}

func TestEvictionKeepsMemoryBounded(t *testing.T) {
	for p := AllKeysLRU; p <= VolatileTTL; p++ {
		t.Run(p.String(), func(t *testing.T) {
			db := newEvictDB(p)
			const n = 3000
			for i := range n {
				if !write(db, fmt.Sprint("k", i), 2_000_000+int64(i)) {
					t.Fatalf("write %d refused", i)
				}
				if i%100 == 0 {
					db.MakeRoom()
					if got := db.Engine().MemoryUsage(); got > evictionLimit {
						t.Fatalf("after write %d: memory %d over the limit %d", i, got, evictionLimit)
					}
				}
			}
			if db.EvictedKeys() == 0 || db.Len() >= n {
				t.Fatalf("evicted %d, %d keys left of %d", db.EvictedKeys(), db.Len(), n)
			}
			if int(db.EvictedKeys())+db.Len() != n {
				t.Errorf("evicted %d + left %d: want %d", db.EvictedKeys(), db.Len(), n)
			}
		})
	}
}

func TestNoEviction(t *testing.T) {
	db := newEvictDB(NoEviction)
	refused := -1
	for i := range 3000 {
		if !write(db, fmt.Sprint("k", i), storage.NoExpiry) {
			refused = i
			break
		}
	}
	if refused < 0 {
		t.Fatal("no write was refused")
	}
	if db.EvictedKeys() != 0 || db.Len() != refused {
		t.Fatalf("evicted %d, %d keys; want 0 and %d", db.EvictedKeys(), db.Len(), refused)
	}
	for range 50 {
		db.Delete([]byte(fmt.Sprint("k", db.Len()-1)))
	}
	if !db.MakeRoom() {
		t.Fatal("MakeRoom after deletes: got false, want true")
	}
}

func TestNoLimit(t *testing.T) {
	db := newDB(0)
	db.SetEviction(Eviction{Policy: AllKeysLRU})
	for i := range 2000 {
		write(db, fmt.Sprint("k", i), storage.NoExpiry)
	}
	if db.Len() != 2000 || db.EvictedKeys() != 0 {
		t.Fatalf("got %d keys, %d evicted; want 2000, 0", db.Len(), db.EvictedKeys())
	}
}

// TestEvictionKeepsHotKeys checks that LRU and LFU keep the keys that are
// used while the others are written once.
func TestEvictionKeepsHotKeys(t *testing.T) {
	for _, p := range []Policy{AllKeysLRU, AllKeysLFU} {
		t.Run(p.String(), func(t *testing.T) {
			db := newEvictDB(p)
			const hot = 20
			for i := range hot {
				write(db, fmt.Sprint("hot", i), storage.NoExpiry)
			}
			for i := range 3000 {
				write(db, fmt.Sprint("cold", i), storage.NoExpiry)
				if i%50 == 0 {
					for j := range hot {
						db.Get([]byte(fmt.Sprint("hot", j)))
					}
				}
			}
			if db.EvictedKeys() < 1000 {
				t.Fatalf("evicted %d keys, want most of the cold ones", db.EvictedKeys())
			}
			for j := range hot {
				if !db.Exists([]byte(fmt.Sprint("hot", j))) {
					t.Errorf("hot%d was evicted", j)
				}
			}
		})
	}
}

// TestVolatileEviction checks that volatile policies evict only keys with an
// expiry, and refuse writes once none is left.
func TestVolatileEviction(t *testing.T) {
	for _, p := range []Policy{VolatileLRU, VolatileLFU, VolatileRandom, VolatileTTL} {
		t.Run(p.String(), func(t *testing.T) {
			db := newEvictDB(p)
			const kept = 100
			for i := range kept {
				write(db, fmt.Sprint("keep", i), storage.NoExpiry)
			}
			for i := range 2000 {
				if !write(db, fmt.Sprint("tmp", i), 5_000_000) {
					t.Fatalf("write %d refused while keys with an expiry remain", i)
				}
			}
			for i := range kept {
				if !db.Exists([]byte(fmt.Sprint("keep", i))) {
					t.Fatalf("keep%d, which has no expiry, was evicted", i)
				}
			}
			refused := false
			for i := range 3000 {
				if !write(db, fmt.Sprint("more", i), storage.NoExpiry) {
					refused = true
					break
				}
			}
			if !refused {
				t.Fatal("writes of keys without expiry went on past the limit")
			}
			if db.ExpiresLen() != 0 {
				t.Errorf("refused with %d keys with an expiry left", db.ExpiresLen())
			}
		})
	}
}

func TestVolatileTTLEvictsSoonestFirst(t *testing.T) {
	db := newEvictDB(VolatileTTL)
	const n = 2000
	for i := range n {
		write(db, fmt.Sprint("k", i), 2_000_000+int64(i)*1000)
	}
	left := db.Len()
	// The latest keys expire last: every one of the last tenth of what is
	// left must still be there, and the first keys must be gone.
	for i := n - left/10; i < n; i++ {
		if !db.Exists([]byte(fmt.Sprint("k", i))) {
			t.Errorf("k%d, among the last to expire, was evicted", i)
		}
	}
	for i := range 10 {
		if db.Exists([]byte(fmt.Sprint("k", i))) {
			t.Errorf("k%d, among the first to expire, was kept", i)
		}
	}
}

func TestEvictionChangesWatchedVersion(t *testing.T) {
	db := newEvictDB(AllKeysRandom)
	write(db, "w", storage.NoExpiry)
	v := db.Watch([]byte("w"))
	for i := 0; db.Exists([]byte("w")) && i < 10000; i++ {
		write(db, fmt.Sprint("k", i), storage.NoExpiry)
	}
	if db.Exists([]byte("w")) {
		t.Fatal("w was never evicted")
	}
	if db.Version([]byte("w")) == v {
		t.Error("eviction did not change the watched version")
	}
	db.Unwatch([]byte("w"))
}

// plainEngine hides the memory engine's usage tracking.
type plainEngine struct{ storage.Engine }

func TestEvictionWithoutUsageTracking(t *testing.T) {
	db := New(plainEngine{memory.New()})
	db.SetNow(1_000_000)
	db.SetEviction(Eviction{MaxMemory: evictionLimit, Policy: AllKeysLRU})
	for i := range 2000 {
		if !write(db, fmt.Sprint("k", i), storage.NoExpiry) {
			t.Fatalf("write %d refused", i)
		}
	}
	if db.EvictedKeys() == 0 {
		t.Fatal("nothing evicted")
	}
}

func TestLFUCounter(t *testing.T) {
	if got := lfuDecay(10<<8|7, 12); got != 5 {
		t.Errorf("decay over 2 minutes: got %d, want 5", got)
	}
	if got := lfuDecay(10<<8|7, 100); got != 0 {
		t.Errorf("decay over 90 minutes: got %d, want 0", got)
	}
	// Across the wrap, Redis counts 65535-ldt+now minutes.
	if got := lfuDecay(0xffff<<8|7, 1); got != 6 {
		t.Errorf("decay across the wrap: got %d, want 6", got)
	}
	if got := lfuIncr(lfuInitVal); got != lfuInitVal+1 {
		t.Errorf("first increment: got %d, want %d", got, lfuInitVal+1)
	}
	if got := lfuIncr(255); got != 255 {
		t.Errorf("increment at 255: got %d", got)
	}
}

// BenchmarkWrite measures a write as the server runs it (MakeRoom, then Set)
// over 100,000 keys: without a limit, under a limit that is never reached,
// and at a limit that makes every write evict.
func BenchmarkWrite(b *testing.B) {
	for _, bc := range []struct {
		name  string
		limit int64
		p     Policy
	}{
		{"no-limit", 0, NoEviction},
		{"under-limit-lru", 1 << 40, AllKeysLRU},
		{"under-limit-lfu", 1 << 40, AllKeysLFU},
		{"evicting-lru", 4 << 20, AllKeysLRU},
		{"evicting-lfu", 4 << 20, AllKeysLFU},
		{"evicting-random", 4 << 20, AllKeysRandom},
		{"evicting-ttl", 4 << 20, VolatileTTL},
	} {
		b.Run(bc.name, func(b *testing.B) {
			db := newDB(1_000_000)
			db.SetEviction(Eviction{MaxMemory: bc.limit, Policy: bc.p})
			keys := make([][]byte, 100_000)
			for i := range keys {
				keys[i] = []byte(fmt.Sprint("key:", i))
			}
			v := []byte(strings.Repeat("v", 32))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				k := keys[i%len(keys)]
				i++
				if db.MakeRoom() {
					db.Set(k, v, 5_000_000)
				}
			}
		})
	}
}

// A Logged DB never evicts on its own: Victims chooses keys, which only
// Evict removes.
func TestLoggedEviction(t *testing.T) {
	for p := NoEviction; p <= VolatileTTL; p++ {
		t.Run(p.String(), func(t *testing.T) {
			db := newDB(1_000_000)
			db.SetEviction(Eviction{MaxMemory: evictionLimit, Policy: p, Logged: true})
			const n = 2000
			for i := range n {
				if !write(db, fmt.Sprint("k", i), storage.NoExpiry) {
					t.Fatalf("write %d refused", i)
				}
			}
			for i := range 10 {
				write(db, fmt.Sprint("v", i), 2_000_000+int64(i))
			}
			if db.Len() != n+10 || db.EvictedKeys() != 0 || db.Excess() <= 0 {
				t.Fatalf("%d keys, %d evicted, %d bytes over: want %d, none evicted, over the limit", db.Len(), db.EvictedKeys(), db.Excess(), n+10)
			}
			victims := db.Victims(nil, 8)
			switch {
			case p == NoEviction:
				if len(victims) != 0 {
					t.Fatalf("noeviction chose %q", victims)
				}
				return
			case p < VolatileLRU && len(victims) != 8:
				// Among 2,010 keys, 8 distinct ones come in the draws.
				t.Fatalf("chose %d keys, want 8: %q", len(victims), victims)
			case len(victims) == 0 || len(victims) > 8:
				// Among 10 keys that expire, a sample may draw the same
				// ones again: fewer than asked is right, the next round
				// chooses more.
				t.Fatalf("chose %d keys, want 1 to 8: %q", len(victims), victims)
			}
			seen := map[string]bool{}
			for _, k := range victims {
				if seen[string(k)] || !db.Exists(k) || p >= VolatileLRU && k[0] != 'v' {
					t.Fatalf("victim %q: repeated, absent, or without an expiry under %s", k, p)
				}
				seen[string(k)] = true
			}
			if db.Len() != n+10 {
				t.Fatalf("Victims removed keys: %d left", db.Len())
			}
			for _, k := range victims {
				if !db.Evict(k) {
					t.Fatalf("Evict(%q) found nothing", k)
				}
			}
			chosen := len(victims)
			if db.Evict(victims[0]) || db.EvictedKeys() != int64(chosen) || db.Len() != n+10-chosen {
				t.Fatalf("after evicting %d: %d evicted, %d keys", chosen, db.EvictedKeys(), db.Len())
			}
			if left := 10 - chosen; p >= VolatileLRU && left > 0 {
				// The keys with an expiry left, no more: each of them
				// under a policy that samples several at a time, at
				// least one under volatile-random, which draws one.
				got := len(db.Victims(nil, 20))
				if got > left || got == 0 || p != VolatileRandom && got != left {
					t.Fatalf("chose %d keys of the %d with an expiry", got, left)
				}
			}
		})
	}
}

package storagetest

import (
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"slices"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/storage"
)

// textBytes is the length of what Texts returns: "key:%012d" and
// "val:%012d".
const textBytes = 16

// Texts returns n keys or values of 16 bytes, a 4-byte prefix followed by
// 0..n-1 as 12 zero-padded digits, in one allocation.
func Texts(prefix string, n int) [][]byte {
	buf := make([]byte, n*textBytes)
	out := make([][]byte, n)
	for i := range out {
		t := buf[i*textBytes : (i+1)*textBytes : (i+1)*textBytes]
		copy(t, prefix)
		for j, d := textBytes-1, i; j >= len(prefix); j, d = j-1, d/10 {
			t[j] = '0' + byte(d%10)
		}
		out[i] = t
	}
	return out
}

// Shuffled returns a copy of keys in random order, so that lookups do not
// walk slots in insertion order.
func Shuffled(keys [][]byte) [][]byte {
	keys = slices.Clone(keys)
	rand.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	return keys
}

// Fill sets keys[i] = values[i] in e, without expiry.
func Fill(e storage.Engine, keys, values [][]byte) {
	for i, k := range keys {
		e.Set(k, values[i], storage.NoExpiry)
	}
}

// filled returns a new engine holding keys[i] = values[i].
func filled(newEngine func() storage.Engine, keys, values [][]byte) storage.Engine {
	e := newEngine()
	Fill(e, keys, values)
	return e
}

// BenchSetInsert sets new keys, starting over with an empty engine every
// million keys.
func BenchSetInsert(b *testing.B, newEngine func() storage.Engine) {
	const n = 1 << 20
	keys, values := Texts("key:", n), Texts("val:", n)
	b.ReportAllocs()
	e := newEngine()
	i := 0
	for b.Loop() {
		if i == n {
			e, i = newEngine(), 0
		}
		e.Set(keys[i], values[i], storage.NoExpiry)
		i++
	}
}

// BenchSetReplace replaces the values of existing keys with values of the
// same length, in random key order.
func BenchSetReplace(b *testing.B, newEngine func() storage.Engine) {
	const n = 1 << 16
	keys, values := Texts("key:", n), Texts("val:", n)
	e := filled(newEngine, keys, values)
	order := rand.Perm(n)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.Set(keys[order[i%n]], values[i%n], storage.NoExpiry)
		i++
	}
}

// BenchLookup looks up present keys of an n-key engine in random order.
func BenchLookup(b *testing.B, newEngine func() storage.Engine, n int) {
	BenchLookupFunc(b, n, func(keys, values [][]byte) func(key []byte) bool {
		e := filled(newEngine, keys, values)
		return func(key []byte) bool {
			_, _, ok := e.Lookup(key)
			return ok
		}
	})
}

// BenchLookupFunc is BenchLookup for any store: fill builds one holding
// keys[i] = values[i] and returns its lookup, which reports whether key is
// present. It serves to compare an engine with a plain map.
func BenchLookupFunc(b *testing.B, n int, fill func(keys, values [][]byte) (lookup func(key []byte) bool)) {
	keys := Texts("key:", n)
	lookup := fill(keys, Texts("val:", n))
	keys = Shuffled(keys)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if !lookup(keys[i%n]) {
			b.Fatalf("Lookup(%s): got absent, want present", keys[i%n])
		}
		i++
	}
}

// BenchChurn deletes the oldest key and sets a new one, keeping 64K keys:
// freed slots and index entries are reused as fast as they are freed.
func BenchChurn(b *testing.B, newEngine func() storage.Engine) {
	const n, total = 1 << 16, 1 << 20
	keys, values := Texts("key:", total), Texts("val:", total)
	e := filled(newEngine, keys[:n], values[:n])
	b.ReportAllocs()
	i := n
	for b.Loop() {
		if i == total {
			b.StopTimer()
			e, i = filled(newEngine, keys[:n], values[:n]), n
			b.StartTimer()
		}
		if !e.Delete(keys[i-n]) {
			b.Fatalf("Delete(%s): got false, want true", keys[i-n])
		}
		e.Set(keys[i], values[i], storage.NoExpiry)
		i++
	}
}

// BenchBytesPerKey fills an engine with a million 16-byte keys and 16-byte
// values and reports the live heap per key after a garbage collection
// (B/key), how long a full collection takes with that heap live (GC-ns),
// how long that collection stopped the world (pause-ns), and the engine's
// own estimate, MemoryUsage per key (est-B/key).
func BenchBytesPerKey(b *testing.B, newEngine func() storage.Engine) {
	BenchBytesPerKeyFunc(b, func(keys, values [][]byte) (any, int64) {
		e := filled(newEngine, keys, values)
		return e, e.MemoryUsage()
	})
}

// BenchBytesPerKeyFunc is BenchBytesPerKey for any store: fill builds one
// holding keys[i] = values[i] and returns it with its own estimate of its
// size in bytes, or 0 for none (then est-B/key is not reported). The keys
// and values fill copies from are allocated before the first measurement.
func BenchBytesPerKeyFunc(b *testing.B, fill func(keys, values [][]byte) (store any, estimate int64)) {
	const n = 1_000_000
	keys, values := Texts("key:", n), Texts("val:", n)
	b.ReportAllocs()
	var perKey, estimate, gc, pause float64
	for b.Loop() {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		store, est := fill(keys, values)
		runtime.GC()
		runtime.ReadMemStats(&ms)
		perKey = float64(ms.HeapAlloc-before) / n
		estimate = float64(est) / n
		paused := pauseTotal()
		start := time.Now()
		runtime.GC()
		gc = float64(time.Since(start).Nanoseconds())
		pause = pauseTotal() - paused
		runtime.KeepAlive(store)
	}
	b.ReportMetric(perKey, "B/key")
	b.ReportMetric(gc, "GC-ns")
	b.ReportMetric(pause, "pause-ns")
	if estimate > 0 {
		b.ReportMetric(estimate, "est-B/key")
	}
}

// pauseTotal returns the total time the garbage collector has stopped the
// world so far, in nanoseconds, as runtime/metrics records it: each pause
// counts as the upper bound of its histogram bucket.
func pauseTotal() float64 {
	s := []metrics.Sample{{Name: "/sched/pauses/total/gc:seconds"}}
	metrics.Read(s)
	h := s[0].Value.Float64Histogram()
	total := 0.0
	for i, n := range h.Counts {
		if n > 0 {
			total += float64(n) * min(h.Buckets[i+1], 1) * 1e9
		}
	}
	return total
}

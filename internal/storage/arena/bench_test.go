package arena_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"slices"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/storage/arena"
)

// keyBytes is the length of the benchmark keys "key:%012d" and values
// "val:%012d".
const keyBytes = 16

// texts returns n keys or values of keyBytes bytes, a 4-byte prefix
// followed by 0..n-1 as 12 zero-padded digits, in one allocation.
func texts(prefix string, n int) [][]byte {
	buf := make([]byte, n*keyBytes)
	out := make([][]byte, n)
	for i := range out {
		t := buf[i*keyBytes : (i+1)*keyBytes : (i+1)*keyBytes]
		copy(t, prefix)
		for j, d := keyBytes-1, i; j >= len(prefix); j, d = j-1, d/10 {
			t[j] = '0' + byte(d%10)
		}
		out[i] = t
	}
	return out
}

// filled returns an engine holding keys[i] = values[i].
func filled(keys, values [][]byte) *arena.Engine {
	e := arena.New()
	for i, k := range keys {
		e.Set(k, values[i], 0)
	}
	return e
}

// BenchmarkSetInsert sets new keys, starting over with an empty engine
// every million keys.
func BenchmarkSetInsert(b *testing.B) {
	const n = 1 << 20
	keys, values := texts("key:", n), texts("val:", n)
	b.ReportAllocs()
	e := arena.New()
	i := 0
	for b.Loop() {
		if i == n {
			e, i = arena.New(), 0
		}
		e.Set(keys[i], values[i], 0)
		i++
	}
}

// BenchmarkSetReplace replaces the values of existing keys with values of
// the same length, in random key order.
func BenchmarkSetReplace(b *testing.B) {
	const n = 1 << 16
	keys, values := texts("key:", n), texts("val:", n)
	e := filled(keys, values)
	order := rand.Perm(n)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.Set(keys[order[i%n]], values[i%n], 0)
		i++
	}
}

// BenchmarkSetReplaceResize replaces the values of existing keys with
// values alternately longer and shorter than before, in random key order:
// every other write appends a new copy of the entry and leaves garbage for
// compaction to reclaim.
func BenchmarkSetReplaceResize(b *testing.B) {
	const n = 1 << 16
	keys, values := texts("key:", n), texts("val:", n)
	long := make([][]byte, n)
	for i, v := range values {
		long[i] = append(append([]byte(nil), v...), v...)
	}
	e := filled(keys, values)
	order := rand.Perm(n)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		v := values[i%n]
		if i/n%2 == 0 {
			v = long[i%n]
		}
		e.Set(keys[order[i%n]], v, 0)
		i++
	}
}

func BenchmarkLookup1K(b *testing.B) { benchmarkLookup(b, 1<<10) }
func BenchmarkLookup1M(b *testing.B) { benchmarkLookup(b, 1<<20) }

// benchmarkLookup looks up present keys of an n-key engine in random order.
func benchmarkLookup(b *testing.B, n int) {
	keys := texts("key:", n)
	e := filled(keys, texts("val:", n))
	keys = shuffled(keys)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, _, ok := e.Lookup(keys[i%n]); !ok {
			b.Fatalf("Lookup(%s): got absent, want present", keys[i%n])
		}
		i++
	}
}

// BenchmarkLookupGroup16 looks up present keys of a 1M-key engine in
// random order, 16 at a time as a shard runs a pipelined batch, with and
// without a Prefetch of the group first. It reports the time per key.
func BenchmarkLookupGroup16(b *testing.B) {
	const n, group = 1 << 20, 16
	keys := texts("key:", n)
	e := filled(keys, texts("val:", n))
	keys = shuffled(keys)
	for _, prefetch := range []bool{false, true} {
		b.Run(fmt.Sprintf("prefetch=%v", prefetch), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				g := keys[i : i+group]
				if i += group; i+group > n {
					i = 0
				}
				if prefetch {
					e.Prefetch(g)
				}
				for _, k := range g {
					if _, _, ok := e.Lookup(k); !ok {
						b.Fatalf("Lookup(%s): got absent, want present", k)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*group), "ns/key")
		})
	}
}

// shuffled returns keys in random order, so that lookups do not walk slots
// in insertion order.
func shuffled(keys [][]byte) [][]byte {
	keys = slices.Clone(keys)
	rand.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	return keys
}

// BenchmarkChurn deletes the oldest key and sets a new one, keeping 64K
// keys: freed slots and index entries are reused as fast as they are freed.
func BenchmarkChurn(b *testing.B) {
	const n, total = 1 << 16, 1 << 20
	keys, values := texts("key:", total), texts("val:", total)
	e := filled(keys[:n], values[:n])
	b.ReportAllocs()
	i := n
	for b.Loop() {
		if i == total {
			b.StopTimer()
			e, i = filled(keys[:n], values[:n]), n
			b.StartTimer()
		}
		if !e.Delete(keys[i-n]) {
			b.Fatalf("Delete(%s): got false, want true", keys[i-n])
		}
		e.Set(keys[i], values[i], 0)
		i++
	}
}

// BenchmarkBytesPerKeyEngine fills an engine with a million 16-byte keys
// and 16-byte values and reports the live heap per key after a garbage
// collection (B/key), how long a full collection takes with that heap live
// (GC-ns), how long that collection stopped the world (pause-ns), and the
// engine's own estimate, MemoryUsage per key (est-B/key). The benchmark of
// the same name in package memory measures the memory engine alike.
func BenchmarkBytesPerKeyEngine(b *testing.B) {
	benchmarkBytesPerKey(b, func(keys, values [][]byte) (any, int64) {
		e := filled(keys, values)
		return e, e.MemoryUsage()
	})
}

// benchmarkBytesPerKey measures the store that fill builds. The keys and
// values it copies from are allocated before the first measurement.
func benchmarkBytesPerKey(b *testing.B, fill func(keys, values [][]byte) (store any, estimate int64)) {
	const n = 1_000_000
	keys, values := texts("key:", n), texts("val:", n)
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

func TestTexts(t *testing.T) {
	got := texts("key:", 1001)
	for _, i := range []int{0, 7, 1000} {
		if want := fmt.Sprintf("key:%012d", i); string(got[i]) != want {
			t.Errorf("texts[%d]: got %q, want %q", i, got[i], want)
		}
	}
}

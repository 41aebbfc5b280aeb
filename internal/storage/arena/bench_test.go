package arena_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/storage/arena"
	"github.com/data-cluster/data-cluster/internal/storage/storagetest"
)

// The benchmarks the engines share are in package storagetest; the memory
// engine runs them under the same names.

func newEngine() storage.Engine { return arena.New() }

// filled returns an engine holding keys[i] = values[i].
func filled(keys, values [][]byte) *arena.Engine {
	e := arena.New()
	storagetest.Fill(e, keys, values)
	return e
}

func BenchmarkSetInsert(b *testing.B)  { storagetest.BenchSetInsert(b, newEngine) }
func BenchmarkSetReplace(b *testing.B) { storagetest.BenchSetReplace(b, newEngine) }

// BenchmarkSetReplaceResize replaces the values of existing keys with
// values alternately longer and shorter than before, in random key order:
// every other write appends a new copy of the entry and leaves garbage for
// compaction to reclaim.
func BenchmarkSetReplaceResize(b *testing.B) {
	const n = 1 << 16
	keys, values := storagetest.Texts("key:", n), storagetest.Texts("val:", n)
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

func BenchmarkLookup1K(b *testing.B) { storagetest.BenchLookup(b, newEngine, 1<<10) }
func BenchmarkLookup1M(b *testing.B) { storagetest.BenchLookup(b, newEngine, 1<<20) }

// BenchmarkLookupGroup16 looks up present keys of a 1M-key engine in
// random order, 16 at a time as a shard runs a pipelined batch, with and
// without a Prefetch of the group first. It reports the time per key.
func BenchmarkLookupGroup16(b *testing.B) {
	const n, group = 1 << 20, 16
	keys := storagetest.Texts("key:", n)
	e := filled(keys, storagetest.Texts("val:", n))
	keys = storagetest.Shuffled(keys)
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

func BenchmarkChurn(b *testing.B) { storagetest.BenchChurn(b, newEngine) }

// BenchmarkBytesPerKeyEngine: see storagetest.BenchBytesPerKey.
func BenchmarkBytesPerKeyEngine(b *testing.B) { storagetest.BenchBytesPerKey(b, newEngine) }

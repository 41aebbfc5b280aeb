package memory_test

import (
	"testing"

	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/storage/memory"
	"github.com/data-cluster/data-cluster/internal/storage/storagetest"
)

// The benchmarks the engines share are in package storagetest; the arena
// engine runs them under the same names. The Map benchmarks run the same
// bodies on a map[string]string, for comparison.

func newEngine() storage.Engine { return memory.New() }

func BenchmarkSetInsert(b *testing.B)  { storagetest.BenchSetInsert(b, newEngine) }
func BenchmarkSetReplace(b *testing.B) { storagetest.BenchSetReplace(b, newEngine) }
func BenchmarkLookup1K(b *testing.B)   { storagetest.BenchLookup(b, newEngine, 1<<10) }
func BenchmarkLookup1M(b *testing.B)   { storagetest.BenchLookup(b, newEngine, 1<<20) }

func BenchmarkMapLookup1K(b *testing.B) { benchmarkMapLookup(b, 1<<10) }
func BenchmarkMapLookup1M(b *testing.B) { benchmarkMapLookup(b, 1<<20) }

// benchmarkMapLookup is storagetest.BenchLookup on a map[string]string.
func benchmarkMapLookup(b *testing.B, n int) {
	storagetest.BenchLookupFunc(b, n, func(keys, values [][]byte) func([]byte) bool {
		m := filledMap(keys, values)
		return func(key []byte) bool {
			_, ok := m[string(key)]
			return ok
		}
	})
}

func BenchmarkChurn(b *testing.B) { storagetest.BenchChurn(b, newEngine) }

// BenchmarkBytesPerKeyEngine and BenchmarkBytesPerKeyMap: see
// storagetest.BenchBytesPerKey. The map reports no estimate.
func BenchmarkBytesPerKeyEngine(b *testing.B) { storagetest.BenchBytesPerKey(b, newEngine) }

func BenchmarkBytesPerKeyMap(b *testing.B) {
	storagetest.BenchBytesPerKeyFunc(b, func(keys, values [][]byte) (any, int64) {
		return filledMap(keys, values), 0
	})
}

// filledMap returns a map holding keys[i] = values[i].
func filledMap(keys, values [][]byte) map[string]string {
	m := make(map[string]string)
	for i, k := range keys {
		m[string(k)] = string(values[i])
	}
	return m
}

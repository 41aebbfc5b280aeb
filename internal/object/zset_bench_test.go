package object

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchZSet returns a tree of n members member:<i> with scattered scores.
func benchZSet(b *testing.B, n int) (*ZSet, [][]byte) {
	b.Helper()
	z := NewZSetFor(n, 100)
	members := make([][]byte, n)
	for i := range n {
		members[i] = fmt.Appendf(nil, "member:%d", i)
		z.Set(members[i], float64(uint64(i)*2654435761%1000000))
	}
	return z, members
}

// benchmarkZSetUpdate gives a random member of a set of n a new score:
// a lookup, a removal from the tree and an insertion.
func benchmarkZSetUpdate(b *testing.B, n int) {
	z, members := benchZSet(b, n)
	r := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for b.Loop() {
		z.Set(members[r.IntN(n)], float64(r.IntN(1000000)))
	}
}

func BenchmarkZSetUpdate1k(b *testing.B)   { benchmarkZSetUpdate(b, 1000) }
func BenchmarkZSetUpdate100k(b *testing.B) { benchmarkZSetUpdate(b, 100000) }
func BenchmarkZSetUpdate1M(b *testing.B)   { benchmarkZSetUpdate(b, 1000000) }

// benchmarkZSetRank finds the rank of a random member of a set of n.
func benchmarkZSetRank(b *testing.B, n int) {
	z, members := benchZSet(b, n)
	r := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := z.Rank(members[r.IntN(n)]); !ok {
			b.Fatal("a member has no rank")
		}
	}
}

func BenchmarkZSetRank1k(b *testing.B)   { benchmarkZSetRank(b, 1000) }
func BenchmarkZSetRank100k(b *testing.B) { benchmarkZSetRank(b, 100000) }
func BenchmarkZSetRank1M(b *testing.B)   { benchmarkZSetRank(b, 1000000) }

// benchmarkZSetPopMin adds a member and removes the lowest one, keeping a
// set of n: ZADD and ZPOPMIN on a queue.
func benchmarkZSetPopMin(b *testing.B, n int) {
	z, _ := benchZSet(b, n)
	next := 0
	b.ReportAllocs()
	for b.Loop() {
		z.Set(fmt.Appendf(nil, "new:%d", next), float64(1000000+next))
		next++
		m, _ := z.At(0)
		z.Remove(m)
	}
}

func BenchmarkZSetPopMin1k(b *testing.B)   { benchmarkZSetPopMin(b, 1000) }
func BenchmarkZSetPopMin100k(b *testing.B) { benchmarkZSetPopMin(b, 100000) }

// BenchmarkZSetClone1M clones a tree of 1M members, as a snapshot's
// freeze of the keyspace does while it holds the shard.
func BenchmarkZSetClone1M(b *testing.B) {
	z, _ := benchZSet(b, 1000000)
	b.ReportAllocs()
	for b.Loop() {
		_ = z.Clone()
	}
}

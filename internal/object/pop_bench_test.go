package object

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchMembers returns n members of redis-benchmark's form,
// element:<12 digits>.
func benchMembers(n int) [][]byte {
	ms := make([][]byte, n)
	for i := range ms {
		ms[i] = fmt.Appendf(nil, "element:%012d", i)
	}
	return ms
}

// benchmarkSetPop pops a random member of a table of n members, as SPOP
// does, filling the set again (untimed) whenever it empties.
func benchmarkSetPop(b *testing.B, n int) {
	ms := benchMembers(n)
	s := newTableSet(n)
	r := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for b.Loop() {
		if s.Len() == 0 {
			b.StopTimer()
			for _, m := range ms {
				s.Add(m)
			}
			b.StartTimer()
		}
		s.Pop(r.IntN(s.Len()))
	}
}

func BenchmarkSetPop100k(b *testing.B) { benchmarkSetPop(b, 100000) }
func BenchmarkSetPop1M(b *testing.B)   { benchmarkSetPop(b, 1000000) }

// benchmarkZSetPop pops the lowest member of a tree of n members with
// scattered scores, as ZPOPMIN does, filling the set again (untimed)
// whenever it empties.
func benchmarkZSetPop(b *testing.B, n int) {
	ms := benchMembers(n)
	z := NewZSetFor(n, 100)
	b.ReportAllocs()
	for b.Loop() {
		if z.Len() == 0 {
			b.StopTimer()
			for i, m := range ms {
				z.Set(m, float64(uint64(i)*2654435761%1000000))
			}
			b.StartTimer()
		}
		z.Pop(false)
	}
}

func BenchmarkZSetPop100k(b *testing.B) { benchmarkZSetPop(b, 100000) }
func BenchmarkZSetPop1M(b *testing.B)   { benchmarkZSetPop(b, 1000000) }

// benchmarkList runs op on a list of elements of 3 bytes, calling reset
// (untimed) first and whenever the list's length reaches at.
func benchmarkList(b *testing.B, at int, reset func() *List, op func(l *List, e []byte)) {
	e := []byte("xxx")
	l := reset()
	b.ReportAllocs()
	for b.Loop() {
		if l.Len() == at {
			b.StopTimer()
			l = reset()
			b.StartTimer()
		}
		op(l, e)
	}
}

// BenchmarkListRPop pops the tail of a list of 1M elements of 3 bytes
// filled by LPUSH, as redis-benchmark's RPOP does, filling it again
// whenever it empties.
func BenchmarkListRPop(b *testing.B) {
	fill := func() *List {
		l := NewList()
		for range 1000000 {
			l.Push(true, []byte("xxx"))
		}
		return l
	}
	benchmarkList(b, 0, fill, func(l *List, _ []byte) { l.Pop(false) })
}

// BenchmarkListLPush pushes 3 bytes at the head of a list, as
// redis-benchmark's LPUSH does, starting a new list every 1M elements.
func BenchmarkListLPush(b *testing.B) {
	benchmarkList(b, 1000000, NewList, func(l *List, e []byte) { l.Push(true, e) })
}

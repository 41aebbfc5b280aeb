package cmdstat

import (
	"math/bits"
	"time"
)

// The latency histogram behind LATENCY HISTOGRAM and INFO latencystats is
// log-linear over nanoseconds, like an HDR histogram: below 2^subBits
// nanoseconds one bucket per nanosecond, then each power of two is cut into
// 2^subBits equal buckets, so that a bucket's width is at most 1/16 of its
// values, up to 2^maxExp ns (about 69 s); longer runs count in the last
// bucket.
const (
	subBits = 4
	subs    = 1 << subBits
	maxExp  = 36
	// HistBuckets is the number of buckets of the latency histogram.
	HistBuckets = (maxExp - subBits + 2) * subs
)

// HistIndex returns the latency histogram bucket of a run that took d.
func HistIndex(d time.Duration) int {
	v := uint64(max(d, 0))
	if v < subs {
		return int(v)
	}
	e := bits.Len64(v) - 1 // 2^e <= v < 2^(e+1), e >= subBits
	if e > maxExp {
		return HistBuckets - 1
	}
	return (e-subBits+1)*subs + int(v>>(e-subBits))&(subs-1)
}

// HistUpper returns the largest duration bucket i counts.
func HistUpper(i int) time.Duration {
	if i < subs {
		return time.Duration(i)
	}
	e := i/subs + subBits - 1
	sub := uint64(i % subs)
	lo := uint64(1)<<e + sub<<(e-subBits)
	return time.Duration(lo + 1<<(e-subBits) - 1)
}

// Hist is a latency histogram: counts by HistIndex.
type Hist [HistBuckets]int64

// Total returns the number of runs counted.
func (h *Hist) Total() int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}

// Percentile returns the duration below which p percent of the counted
// runs fall, as the upper bound of the bucket that holds it (an HDR
// histogram's "highest equivalent value"); 0 when nothing was counted.
func (h *Hist) Percentile(p float64) time.Duration {
	total := h.Total()
	if total == 0 {
		return 0
	}
	want := int64(p/100*float64(total) + 0.5)
	want = max(want, 1)
	var n int64
	for i, c := range h {
		n += c
		if n >= want {
			return HistUpper(i)
		}
	}
	return HistUpper(HistBuckets - 1)
}

// Cumulative returns how many runs took less than d, for d a power of two
// nanoseconds (so that it falls on a bucket's lower bound).
func (h *Hist) Cumulative(d time.Duration) int64 {
	end := HistIndex(d)
	var n int64
	for _, c := range h[:end] {
		n += c
	}
	return n
}

package cmdstat

import "sync"

// Baseline is what CONFIG RESETSTAT sets aside: the counters by command ID,
// the error replies by prefix and their total at the reset, which INFO
// subtracts from the counts since the start (the metrics go on counting).
// Its methods may be called from any goroutine.
type Baseline struct {
	mu       sync.Mutex
	counters []Counters
	errs     map[string]int64
	errTotal int64
}

// Reset makes counters, errs and errTotal, the counts since the start, the
// baseline.
func (b *Baseline) Reset(counters []Counters, errs map[string]int64, errTotal int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.counters, b.errs, b.errTotal = counters, errs, errTotal
}

// Counters subtracts the baseline from counters, counts since the start by
// command ID, and returns them.
func (b *Baseline) Counters(counters []Counters) []Counters {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range min(len(counters), len(b.counters)) {
		counters[i].Sub(&b.counters[i])
	}
	return counters
}

// Errors subtracts the baseline from errs and total, the error replies by
// prefix and in all since the start, and returns them.
func (b *Baseline) Errors(errs map[string]int64, total int64) (map[string]int64, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for p, n := range b.errs {
		if errs[p] -= n; errs[p] <= 0 {
			delete(errs, p)
		}
	}
	return errs, total - b.errTotal
}

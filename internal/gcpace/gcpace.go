// Package gcpace sets the garbage collector's target (GOGC) from the size
// of the live heap, for a process that makes much short-lived garbage and
// may hold much data.
//
// A collection runs when the heap has grown by GOGC per cent of what the
// last one found live, so under load the heap swings up to (1+GOGC/100)
// times the live data, and so does the resident memory. A high target
// keeps collections rare while the heap is small, where each per cent is
// few bytes; a large live heap leaves room enough at a low one. A Pacer
// keeps the target at the lowest per cent that lets the heap grow by
// MinGrowth bytes between collections, within [Low, High]: a heap larger
// than MinGrowth never collects more often than one of MinGrowth at High,
// a smaller one collects as it would at High, and a large data set costs
// Low per cent of itself instead of High.
package gcpace

import (
	"context"
	"math"
	"runtime/debug"
	"time"

	"github.com/data-cluster/data-cluster/internal/idlemem"
)

// Percent returns the target for a live heap of live bytes: the lowest
// that lets the heap grow by minGrowth bytes, within [low, high].
func Percent(live, minGrowth uint64, low, high int) int {
	if live == 0 {
		return high
	}
	p := math.Ceil(float64(minGrowth) * 100 / float64(live))
	if p >= float64(high) {
		return high
	}
	return max(low, int(p))
}

// Pacer sets the collector's target from the live heap, once a period.
// Low, High and MinGrowth must be set; the other fields default to the
// process's own heap and collector.
type Pacer struct {
	// Low and High bound the target, in per cent (GOGC).
	Low, High int
	// MinGrowth is the least the heap may grow between collections, in
	// bytes, while the target is above Low.
	MinGrowth uint64
	// Period is how often the live heap is read; 0 means a second.
	Period time.Duration
	// Live reads the bytes the last collection found live; nil means
	// idlemem.Read's.
	Live func() uint64
	// Set sets the target; nil means debug.SetGCPercent.
	Set func(percent int) int
	// Tick, when set, replaces the ticker: a receive is one period.
	Tick <-chan time.Time
}

// Run sets the target to High, then to what Percent gives for the live
// heap every period, until ctx is done. The target is changed only by an
// eighth of itself or more, or to a bound, so that a live heap that moves
// a little does not change it every period.
func (p *Pacer) Run(ctx context.Context) {
	live, set, tick := p.Live, p.Set, p.Tick
	if live == nil {
		live = func() uint64 { return idlemem.Read().Live }
	}
	if set == nil {
		set = debug.SetGCPercent
	}
	if tick == nil {
		period := p.Period
		if period <= 0 {
			period = time.Second
		}
		t := time.NewTicker(period)
		defer t.Stop()
		tick = t.C
	}
	cur := p.High
	set(cur)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		next := Percent(live(), p.MinGrowth, p.Low, p.High)
		if d := next - cur; d != 0 && (next == p.Low || next == p.High || 8*max(d, -d) >= cur) {
			set(next)
			cur = next
		}
	}
}

// Package idlemem gives the heap's free memory back to the operating system
// once the process stops allocating.
//
// After a burst of writes a server's resident memory stays near its peak:
// the live data, plus the garbage made since the last collection (up to
// the collector's target, GOGC), plus the pages freed that Go's background
// scavenger has not yet returned (it keeps about a tenth more than the
// target). Nothing collects that garbage while the process allocates
// nothing more. A Releaser
// watches the heap once a period and, when little was allocated during the
// period (the burst is over) and enough free memory is still held, runs a
// collection and returns every free page (runtime/debug.FreeOSMemory), as
// jemalloc's decay purges the dirty pages of an idle Redis. While the
// process keeps allocating it does nothing: the collector's pacing is left
// alone under load.
package idlemem

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Sample is what a Releaser reads of the heap.
type Sample struct {
	// Allocated is the bytes allocated since the process started.
	Allocated uint64
	// Free is the heap memory that is free and not yet returned to the
	// operating system.
	Free uint64
	// Objects is the heap memory holding objects, live or not yet collected.
	Objects uint64
	// Live is the heap memory the last collection found live.
	Live uint64
}

const (
	// quietBytes is the most a period may allocate for the process to count
	// as idle: a few connections' buffers, timers and INFO replies.
	quietBytes = 1 << 20
	// minFree is the least free memory worth a collection.
	minFree = 1 << 20
)

// ShouldRelease reports whether to release memory after a period that
// went from prev to cur: the period allocated less than quietBytes, and
// what a collection and a release would give back (the free memory held and
// the objects allocated since the last collection found the live ones) is
// at least minFree and a sixteenth of the heap's objects.
func ShouldRelease(prev, cur Sample) bool {
	if cur.Allocated-prev.Allocated >= quietBytes {
		return false
	}
	back := cur.Free
	if cur.Objects > cur.Live {
		back += cur.Objects - cur.Live
	}
	return back >= minFree && back >= cur.Objects/16
}

var names = []string{
	"/gc/heap/allocs:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/objects:bytes",
	"/gc/heap/live:bytes",
}

// Read samples the process's heap.
func Read() Sample {
	s := make([]metrics.Sample, len(names))
	for i, n := range names {
		s[i].Name = n
	}
	metrics.Read(s)
	v := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	return Sample{Allocated: v(0), Free: v(1), Objects: v(2), Live: v(3)}
}

// Releaser releases free heap memory when the process is idle. Its fields
// default to the process's own heap.
type Releaser struct {
	// Period is how often the heap is sampled; 0 means a second.
	Period time.Duration
	// Read samples the heap; nil means Read.
	Read func() Sample
	// Release returns free memory; nil means debug.FreeOSMemory.
	Release func()
	// Tick, when set, replaces the ticker: a receive is one period.
	Tick <-chan time.Time
}

// Run samples the heap every period and releases free memory as
// ShouldRelease says, until ctx is done.
func (r *Releaser) Run(ctx context.Context) {
	read, release, tick := r.Read, r.Release, r.Tick
	if read == nil {
		read = Read
	}
	if release == nil {
		release = debug.FreeOSMemory
	}
	if tick == nil {
		period := r.Period
		if period <= 0 {
			period = time.Second
		}
		t := time.NewTicker(period)
		defer t.Stop()
		tick = t.C
	}
	prev := read()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		cur := read()
		if ShouldRelease(prev, cur) {
			release()
			cur = read() // what the release itself allocated is not the next period's
		}
		prev = cur
	}
}

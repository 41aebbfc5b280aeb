package server

import (
	"sync"
	"time"
)

// RateInterval is how often a Rate is meant to be sampled, as Redis's
// server cron does at its default hz of 10.
const RateInterval = 100 * time.Millisecond

// rateSamples is how many samples a Rate averages (Redis's
// STATS_METRIC_SAMPLES).
const rateSamples = 16

// Rate is how fast a counter grows, as Redis's instantaneous metrics
// (INFO's instantaneous_ops_per_sec): Sample is given the counter every
// RateInterval, and PerSecond is the average of the last 16 samples' rates
// per second, a sample not yet taken counting as 0. Its methods are safe
// for concurrent use.
type Rate struct {
	mu      sync.Mutex
	last    int64
	lastAt  time.Time
	samples [rateSamples]int64
	next    int
}

// Sample records the counter's value total at now.
func (r *Rate) Sample(total int64, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.lastAt.IsZero() {
		var perSec int64
		if ms := now.Sub(r.lastAt).Milliseconds(); ms > 0 {
			perSec = (total - r.last) * 1000 / ms
		}
		r.samples[r.next] = perSec
		r.next = (r.next + 1) % rateSamples
	}
	r.last, r.lastAt = total, now
}

// PerSecond returns the average rate of the last samples, per second.
func (r *Rate) PerSecond() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var sum int64
	for _, s := range r.samples {
		sum += s
	}
	return sum / rateSamples
}

// SampleEvery samples r with read's value every RateInterval until stop is
// closed.
func SampleEvery(r *Rate, read func() int64, stop <-chan struct{}) {
	t := time.NewTicker(RateInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			r.Sample(read(), now)
		}
	}
}

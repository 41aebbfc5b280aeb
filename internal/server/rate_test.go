package server

import (
	"testing"
	"time"
)

// TestRate checks Redis's instantaneous rate: the average of the last 16
// samples, those not yet taken counting as 0, and a sample at the same
// moment as the last counting as 0.
func TestRate(t *testing.T) {
	var r Rate
	t0 := time.Unix(1000, 0)
	r.Sample(500, t0) // the first sample only sets the start
	if got := r.PerSecond(); got != 0 {
		t.Fatalf("after the first sample: %d/s, want 0", got)
	}
	// 100 more every 100 ms: 1,000 a second.
	for i := 1; i <= 4; i++ {
		r.Sample(500+int64(i)*100, t0.Add(time.Duration(i)*RateInterval))
	}
	if got := r.PerSecond(); got != 4*1000/16 {
		t.Fatalf("after 4 samples of 1000/s: %d/s, want %d", got, 4*1000/16)
	}
	for i := 5; i <= 20; i++ {
		r.Sample(500+int64(i)*100, t0.Add(time.Duration(i)*RateInterval))
	}
	if got := r.PerSecond(); got != 1000 {
		t.Fatalf("after 20 samples of 1000/s: %d/s, want 1000", got)
	}
	// Eight samples of nothing: half the window at 0.
	last := t0.Add(20 * RateInterval)
	for i := 1; i <= 8; i++ {
		r.Sample(2500, last.Add(time.Duration(i)*RateInterval))
	}
	if got := r.PerSecond(); got != 500 {
		t.Fatalf("after 8 samples of 0/s: %d/s, want 500", got)
	}
	r.Sample(2600, last.Add(8*RateInterval)) // no time passed
	if got := r.PerSecond(); got != 7*1000/16 {
		t.Fatalf("after a sample with no time passed: %d/s, want %d", got, 7*1000/16)
	}
}

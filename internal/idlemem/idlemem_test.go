package idlemem

import (
	"context"
	"runtime"
	"testing"
	"time"
)

func TestShouldRelease(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name      string
		prev, cur Sample
		want      bool
	}{
		{"busy period", Sample{Allocated: 10 * mb}, Sample{Allocated: 30 * mb, Free: 8 * mb, Objects: 40 * mb, Live: 40 * mb}, false},
		{"idle with free memory", Sample{Allocated: 30 * mb}, Sample{Allocated: 30*mb + 1000, Free: 8 * mb, Objects: 40 * mb, Live: 40 * mb}, true},
		{"idle, little free", Sample{Allocated: 30 * mb}, Sample{Allocated: 30 * mb, Free: mb / 2, Objects: 4 * mb, Live: 4 * mb}, false},
		{"idle, garbage not collected", Sample{Allocated: 30 * mb}, Sample{Allocated: 30 * mb, Objects: 50 * mb, Live: 40 * mb}, true},
		{"idle, little garbage", Sample{Allocated: 30 * mb}, Sample{Allocated: 30 * mb, Objects: 41 * mb, Live: 40 * mb}, false},
		{"idle, objects below the last live count", Sample{Allocated: 30 * mb}, Sample{Allocated: 30 * mb, Objects: 30 * mb, Live: 40 * mb}, false},
		{"idle, free small beside the heap", Sample{Allocated: 30 * mb}, Sample{Allocated: 30 * mb, Free: 2 * mb, Objects: 100 * mb, Live: 100 * mb}, false},
		{"just under the quiet bound", Sample{Allocated: 30 * mb}, Sample{Allocated: 31*mb - 1, Free: 8 * mb, Objects: 40 * mb, Live: 40 * mb}, true},
		{"at the quiet bound", Sample{Allocated: 30 * mb}, Sample{Allocated: 31 * mb, Free: 8 * mb, Objects: 40 * mb, Live: 40 * mb}, false},
	}
	for _, tt := range tests {
		if got := ShouldRelease(tt.prev, tt.cur); got != tt.want {
			t.Errorf("%s: ShouldRelease = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestReleaserRun drives a Releaser through a burst and the idle periods
// after it: it releases once, when the burst is over, and not again while
// nothing more is freed.
func TestReleaserRun(t *testing.T) {
	const mb = 1 << 20
	samples := make(chan Sample, 1)
	cur := Sample{}
	read := func() Sample {
		select {
		case s := <-samples:
			cur = s
		default:
		}
		return cur
	}
	released := make(chan struct{}, 10)
	tick := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	r := &Releaser{Read: read, Tick: tick, Release: func() {
		cur.Free = 0
		released <- struct{}{}
	}}
	samples <- Sample{} // what Run reads before its first period
	go func() { r.Run(ctx); close(done) }()

	period := func(s Sample) {
		samples <- s // sent once Run has read the one before
		tick <- time.Time{}
	}
	period(Sample{Allocated: 50 * mb, Free: 6 * mb, Objects: 40 * mb, Live: 40 * mb}) // the burst
	period(Sample{Allocated: 50 * mb, Free: 6 * mb, Objects: 40 * mb, Live: 40 * mb}) // idle: release
	<-released
	period(Sample{Allocated: 50 * mb, Objects: 40 * mb, Live: 40 * mb}) // idle, nothing free
	tick <- time.Time{}                                                 // and again
	cancel()
	<-done
	if n := len(released); n != 0 {
		t.Fatalf("%d releases after the first, want none", n)
	}
}

// TestRead reads the real heap's figures.
func TestRead(t *testing.T) {
	runtime.GC() // the live heap is known after a collection
	s := Read()
	if s.Allocated == 0 || s.Objects == 0 || s.Live == 0 {
		t.Fatalf("Read() = %+v, want allocations and objects", s)
	}
}

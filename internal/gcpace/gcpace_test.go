package gcpace

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name string
		live uint64
		want int
	}{
		{"nothing live yet", 0, 100},
		{"small heap", 10 * mb, 100},
		{"live heap of MinGrowth", 256 * mb, 100},
		{"just over it", 257 * mb, 100},
		{"twice MinGrowth", 512 * mb, 50},
		{"three times", 768 * mb, 34},
		{"four times", 1024 * mb, 25},
		{"large heap", 10 << 30, 25},
	}
	for _, tt := range tests {
		if got := Percent(tt.live, 256*mb, 25, 100); got != tt.want {
			t.Errorf("%s: Percent(%d) = %d, want %d", tt.name, tt.live, got, tt.want)
		}
	}
	if got := Percent(1, 1<<62, 25, 100); got != 100 {
		t.Errorf("Percent of a tiny heap and a huge MinGrowth = %d, want 100", got)
	}
}

func TestPacerFollowsLiveHeap(t *testing.T) {
	const mb = 1 << 20
	tick := make(chan time.Time)
	lives := make(chan uint64)
	sets := make(chan int, 1)
	p := &Pacer{
		Low: 25, High: 100, MinGrowth: 256 * mb,
		Live: func() uint64 { return <-lives },
		Set:  func(percent int) int { sets <- percent; return 0 },
		Tick: tick,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	if got := <-sets; got != 100 {
		t.Fatalf("first target %d, want High (100)", got)
	}
	// Each step: the live heap read at a tick, and the target set then, or
	// -1 when it must stay.
	steps := []struct {
		live uint64
		want int
	}{
		{100 * mb, -1},  // still 100
		{1024 * mb, 25}, // to Low
		{1000 * mb, -1}, // 26 against 25: under an eighth of 25
		{700 * mb, 37},  // 37 against 25: over an eighth
		{690 * mb, -1},  // 38 against 37: under an eighth
		{200 * mb, 100}, // to High
	}
	for i, s := range steps {
		tick <- time.Time{}
		lives <- s.live
		// The Pacer sets the target, if it does, before it reads the
		// next tick: a second tick, answered with the same heap, passes
		// that point.
		tick <- time.Time{}
		lives <- s.live
		select {
		case got := <-sets:
			if got != s.want {
				t.Fatalf("step %d (live %d MiB): target set to %d, want %d", i, s.live/mb, got, s.want)
			}
		default:
			if s.want != -1 {
				t.Fatalf("step %d (live %d MiB): target not set, want %d", i, s.live/mb, s.want)
			}
		}
	}
	cancel()
	<-done
}

func TestPacerSetsTheCollector(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	tick := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	// A MinGrowth of a byte: any live heap asks for Low.
	p := &Pacer{Low: 30, High: 90, MinGrowth: 1, Tick: tick}
	go func() { p.Run(ctx); close(done) }()
	runtime.GC()
	tick <- time.Time{}
	tick <- time.Time{} // the first tick's work is done
	cancel()
	<-done
	if got := debug.SetGCPercent(old); got != 30 {
		t.Fatalf("collector's target %d after a tick, want Low (30)", got)
	}
}

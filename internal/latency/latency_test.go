package latency

import (
	"strings"
	"testing"
	"time"
)

// clock is a clock the test moves by hand.
type clock struct{ now time.Time }

func (c *clock) read() time.Time { return c.now }

func newMonitor(thresholdMS int64) (*Monitor, *clock) {
	m := New(thresholdMS, true)
	c := &clock{now: time.Unix(1796349190, 0)}
	m.now = c.read
	return m, c
}

func TestAddKeepsOneSamplePerSecond(t *testing.T) {
	m, c := newMonitor(10)
	m.Add(Command, 9*time.Millisecond) // under the threshold
	if got := m.Latest(); len(got) != 0 {
		t.Fatalf("an event under the threshold was kept: %+v", got)
	}
	m.Add(Command, 20*time.Millisecond)
	m.Add(Command, 30*time.Millisecond) // same second: the longest stays
	m.Add(Command, 15*time.Millisecond)
	c.now = c.now.Add(2 * time.Second)
	m.Add(Command, 12*time.Millisecond)
	m.Add(FastCommand, 11*time.Millisecond)
	want := []Sample{{1796349190, 30}, {1796349192, 12}}
	got := m.History(Command)
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("history: got %+v, want %+v", got, want)
	}
	latest := m.Latest()
	wantLatest := []Latest{{Command, Sample{1796349192, 12}, 30}, {FastCommand, Sample{1796349192, 11}, 11}}
	if len(latest) != 2 || latest[0] != wantLatest[0] || latest[1] != wantLatest[1] {
		t.Fatalf("latest: got %+v, want %+v", latest, wantLatest)
	}
	if h := m.History("nosuch"); h != nil {
		t.Fatalf("history of an unknown event: got %+v, want nil", h)
	}
}

func TestRingDropsOldest(t *testing.T) {
	m, c := newMonitor(1)
	for i := range Samples + 5 {
		m.Add(ExpireCycle, time.Duration(i+1)*time.Millisecond)
		c.now = c.now.Add(time.Second)
	}
	h := m.History(ExpireCycle)
	if len(h) != Samples || h[0].Latency != 6 || h[Samples-1].Latency != Samples+5 {
		t.Fatalf("got %d samples from %+v to %+v, want %d from 6 ms to %d ms", len(h), h[0], h[len(h)-1], Samples, Samples+5)
	}
}

func TestThresholdOffAndNil(t *testing.T) {
	m, _ := newMonitor(0)
	m.Add(Command, time.Hour)
	if got := m.Latest(); len(got) != 0 {
		t.Fatalf("threshold 0 kept %+v", got)
	}
	var nm *Monitor
	nm.Add(Command, time.Hour) // must not panic
	if nm.Tracking() || nm.Threshold() != 1<<63-1 {
		t.Fatal("a nil Monitor must be off")
	}
	m.SetThreshold(5)
	if m.ThresholdMS() != 5 || m.Threshold() != 5*time.Millisecond {
		t.Fatalf("got %d ms, %v; want 5 ms", m.ThresholdMS(), m.Threshold())
	}
}

func TestReset(t *testing.T) {
	m, _ := newMonitor(1)
	for _, e := range []string{Command, FastCommand, ExpireCycle} {
		m.Add(e, time.Second)
	}
	if n := m.Reset("COMMAND", "nosuch"); n != 1 {
		t.Fatalf("reset of one event: got %d, want 1", n)
	}
	if n := m.Reset(); n != 2 {
		t.Fatalf("reset of all: got %d, want 2", n)
	}
	if got := m.Latest(); len(got) != 0 {
		t.Fatalf("after reset: %+v", got)
	}
}

// TestGraph checks the graph against redis-server 7.0.15's LATENCY GRAPH of
// the same samples.
func TestGraph(t *testing.T) {
	m, c := newMonitor(1)
	if _, ok := m.Graph(Command); ok {
		t.Fatal("a graph of no samples")
	}
	m.Add(Command, 30*time.Millisecond)
	g, ok := m.Graph(Command)
	// Recorded from redis-server 7.0.15 after one 30 ms EVAL.
	want := "command - high 30 ms, low 30 ms (all time high 30 ms)\n" +
		strings.Repeat("-", 80) + "\n" +
		" \n \n \n_\n \n0\ns\n"
	if !ok || g != want {
		t.Fatalf("got %q, want %q", g, want)
	}
	// Three samples of 10, 40 and 20 ms taken 70, 65 and 5 s ago: steps
	// 0, 11 (of 12) and 4, labelled 1m, 1m and 5s.
	m.Reset()
	c.now = c.now.Add(time.Hour)
	for _, s := range []struct {
		ago time.Duration
		ms  int
	}{{70 * time.Second, 10}, {65 * time.Second, 40}, {5 * time.Second, 20}} {
		saved := c.now
		c.now = c.now.Add(-s.ago)
		m.Add(Command, time.Duration(s.ms)*time.Millisecond)
		c.now = saved
	}
	g, _ = m.Graph(Command)
	want = "command - high 40 ms, low 10 ms (all time high 40 ms)\n" +
		strings.Repeat("-", 80) + "\n" +
		" # \n | \n |o\n_||\n   \n115\nmms\n"
	if g != want {
		t.Fatalf("got %q, want %q", g, want)
	}
}

func TestDoctor(t *testing.T) {
	m, c := newMonitor(0)
	// Recorded from redis-server 7.0.15.
	off := "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n"
	if got := m.Doctor(Advice{SlowlogSlowerThan: 10000}); got != off {
		t.Fatalf("off: got %q, want %q", got, off)
	}
	m.SetThreshold(1)
	none := "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n"
	if got := m.Doctor(Advice{SlowlogSlowerThan: 10000}); got != none {
		t.Fatalf("no events: got %q, want %q", got, none)
	}
	m.Add(Command, 30*time.Millisecond)
	c.now = c.now.Add(time.Second)
	// Recorded from redis-server 7.0.15 after one 30 ms EVAL with
	// latency-monitor-threshold 1 and slowlog-log-slower-than 10000.
	want := "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n" +
		"1. command: 1 latency spikes (average 30ms, mean deviation 0ms, period 1.00 sec). Worst all time event 30ms.\n\n" +
		"I have a few advices for you:\n\n" +
		"- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than 1000'.\n" +
		"- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n" +
		"- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n"
	if got := m.Doctor(Advice{SlowlogSlowerThan: 10000}); got != want {
		t.Fatalf("one event: got %q, want %q", got, want)
	}
	m.Add(FsyncAlways, 5*time.Millisecond)
	got := m.Doctor(Advice{SlowlogSlowerThan: 1000, FsyncAlways: true})
	for _, s := range []string{"1. aof-fsync-always: 1 latency spikes", "Your fsync policy is set to 'always'"} {
		if !strings.Contains(got, s) {
			t.Errorf("report lacks %q:\n%s", s, got)
		}
	}
	if strings.Contains(got, "Your current Slow Log configuration") {
		t.Errorf("slow log tuning advised with the slow log at the threshold:\n%s", got)
	}
}

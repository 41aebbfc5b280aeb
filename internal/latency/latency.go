// Package latency is Redis's latency monitor: for each kind of event that
// can stall a server (a slow command, a slow expiry cycle, a slow fsync …),
// the samples that took the threshold or longer, one per second, as LATENCY
// LATEST, HISTORY, GRAPH, DOCTOR and RESET show them.
//
// Deciding whether an event is slow is cheap for the caller: compare its
// duration with Threshold, which is read with one atomic load; only a slow
// event is passed to Add, which takes a lock.
package latency

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Event names, as Redis names them.
const (
	Command       = "command"          // a command that is not flagged fast
	FastCommand   = "fast-command"     // a command flagged fast
	ExpireCycle   = "expire-cycle"     // an active expiry cycle
	EvictionCycle = "eviction-cycle"   // evicting keys to get under maxmemory
	FsyncAlways   = "aof-fsync-always" // an fsync of the log under --fsync always
	AOFWrite      = "aof-write"        // a write to the append-only log
)

// Samples is how many samples an event keeps, as in Redis: one per second
// in which the event was slow, the oldest dropped first.
const Samples = 160

// Sample is one second in which an event was slow.
type Sample struct {
	Time    int64 // Unix seconds
	Latency int64 // the longest one in that second, in milliseconds
}

// series holds one event's samples in a ring; idx is where the next goes.
type series struct {
	samples [Samples]Sample
	idx     int
	max     int64 // the longest ever, in milliseconds
}

// Monitor is a latency monitor. Its methods are safe for concurrent use.
type Monitor struct {
	threshold atomic.Int64 // nanoseconds; math.MaxInt64 when off
	thresMS   atomic.Int64 // as set, in milliseconds
	tracking  atomic.Bool  // per-command latency histograms (latency-tracking)

	mu     sync.Mutex
	events map[string]*series

	now func() time.Time // for tests; nil is time.Now
}

// New returns a Monitor that keeps events lasting thresholdMS milliseconds
// or longer (0 keeps none), with per-command histograms on if tracking.
func New(thresholdMS int64, tracking bool) *Monitor {
	m := &Monitor{events: map[string]*series{}}
	m.SetThreshold(thresholdMS)
	m.tracking.Store(tracking)
	return m
}

// SetThreshold changes the threshold, in milliseconds; 0 (or less) turns the
// monitor off. Samples already kept stay.
func (m *Monitor) SetThreshold(ms int64) {
	m.thresMS.Store(max(ms, 0))
	switch {
	case ms <= 0:
		m.threshold.Store(math.MaxInt64)
	case ms > math.MaxInt64/int64(time.Millisecond):
		m.threshold.Store(math.MaxInt64 - 1)
	default:
		m.threshold.Store(ms * int64(time.Millisecond))
	}
}

// ThresholdMS returns the threshold as set, in milliseconds; 0 when off.
func (m *Monitor) ThresholdMS() int64 { return m.thresMS.Load() }

// Threshold returns the duration from which an event is kept, or the
// largest Duration when the monitor is off. A nil Monitor is always off.
func (m *Monitor) Threshold() time.Duration {
	if m == nil {
		return math.MaxInt64
	}
	return time.Duration(m.threshold.Load())
}

// Tracking reports whether per-command latency histograms are kept. A nil
// Monitor keeps none.
func (m *Monitor) Tracking() bool { return m != nil && m.tracking.Load() }

// SetTracking turns the per-command latency histograms on or off.
func (m *Monitor) SetTracking(on bool) { m.tracking.Store(on) }

func (m *Monitor) clock() time.Time {
	if m.now != nil {
		return m.now()
	}
	return time.Now()
}

// Add records that event took d, if d reaches the threshold. Within one
// second an event keeps one sample, the longest.
func (m *Monitor) Add(event string, d time.Duration) {
	if m == nil || d < m.Threshold() {
		return
	}
	ms := d.Milliseconds()
	now := m.clock().Unix()
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.events[event]
	if s == nil {
		s = &series{}
		m.events[event] = s
	}
	s.max = max(s.max, ms)
	prev := &s.samples[(s.idx+Samples-1)%Samples]
	if prev.Time == now {
		prev.Latency = max(prev.Latency, ms)
		return
	}
	s.samples[s.idx] = Sample{Time: now, Latency: ms}
	s.idx = (s.idx + 1) % Samples
}

// Latest is the last sample of one event, and its longest ever.
type Latest struct {
	Event string
	Sample
	Max int64 // milliseconds
}

// Latest returns the last sample of every event, sorted by event name.
func (m *Monitor) Latest() []Latest {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Latest, 0, len(m.events))
	for name, s := range m.events {
		out = append(out, Latest{Event: name, Sample: s.samples[(s.idx+Samples-1)%Samples], Max: s.max})
	}
	slices.SortFunc(out, func(a, b Latest) int { return strings.Compare(a.Event, b.Event) })
	return out
}

// History returns the samples of event, oldest first; nil for an event
// with none.
func (m *Monitor) History(event string) []Sample {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.events[event]
	if s == nil {
		return nil
	}
	return s.history()
}

func (s *series) history() []Sample {
	out := make([]Sample, 0, Samples)
	for j := range Samples {
		if x := s.samples[(s.idx+j)%Samples]; x.Time != 0 {
			out = append(out, x)
		}
	}
	return out
}

// Reset drops the samples of the events named (in any letter case), or of
// every event when none is named, and returns how many events it dropped.
func (m *Monitor) Reset(events ...string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(events) == 0 {
		n := len(m.events)
		clear(m.events)
		return n
	}
	n := 0
	for _, e := range events {
		for name := range m.events {
			if strings.EqualFold(name, e) {
				delete(m.events, name)
				n++
			}
		}
	}
	return n
}

// Graph draws event's samples as LATENCY GRAPH does: a title, a rule, and
// a sparkline of four rows with, under each sample, how long ago it was
// taken. ok is false when the event has no samples.
func (m *Monitor) Graph(event string) (graph string, ok bool) {
	m.mu.Lock()
	s := m.events[event]
	if s == nil {
		m.mu.Unlock()
		return "", false
	}
	hist, allTime := s.history(), s.max
	m.mu.Unlock()
	now := m.clock().Unix()
	var lo, hi int64
	values := make([]float64, len(hist))
	labels := make([]string, len(hist))
	for i, x := range hist {
		if i == 0 {
			lo, hi = x.Latency, x.Latency
		}
		lo, hi = min(lo, x.Latency), max(hi, x.Latency)
		values[i] = float64(x.Latency)
		labels[i] = ago(now - x.Time)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s - high %d ms, low %d ms (all time high %d ms)\n", event, hi, lo, allTime)
	b.WriteString(strings.Repeat("-", graphCols) + "\n")
	sparkline(&b, values, labels, graphCols, 4)
	return b.String(), true
}

// graphCols is the width of a graph, in characters.
const graphCols = 80

// ago labels a sample taken secs seconds ago, as Redis does: 5s, 3m, 2h, 1d.
func ago(secs int64) string {
	switch {
	case secs < 60:
		return fmt.Sprintf("%ds", secs)
	case secs < 3600:
		return fmt.Sprintf("%dm", secs/60)
	case secs < 86400:
		return fmt.Sprintf("%dh", secs/3600)
	}
	return fmt.Sprintf("%dd", secs/86400)
}

// sparkline draws values as Redis's filled sparklines: rows lines of
// "_o#" and "|" where each row is three steps of height, then a blank line
// and the labels written downwards, in blocks of at most cols samples.
func sparkline(b *strings.Builder, values []float64, labels []string, cols, rows int) {
	const chars = "_o#"
	if len(values) == 0 {
		return
	}
	lo, hi := values[0], values[0]
	for _, v := range values {
		lo, hi = min(lo, v), max(hi, v)
	}
	rel := hi - lo
	if rel == 0 {
		rel = 1
	}
	steps := len(chars) * rows
	for off := 0; off < len(values); off += cols {
		if off > 0 {
			b.WriteByte('\n')
		}
		n := min(cols, len(values)-off)
		line := make([]byte, n)
		for row := 0; row < rows; row++ {
			for j := range n {
				step := int(float64(int((values[off+j]-lo)*float64(steps))) / rel)
				step = max(0, min(step, steps-1))
				line[j] = ' '
				switch c := step - (rows-row-1)*len(chars); {
				case c >= 0 && c < len(chars):
					line[j] = chars[c]
				case c >= len(chars):
					line[j] = '|'
				}
			}
			b.Write(line)
			b.WriteByte('\n')
		}
		longest := 0
		for _, l := range labels[off : off+n] {
			longest = max(longest, len(l))
		}
		if longest == 0 {
			continue
		}
		b.WriteString(strings.Repeat(" ", n) + "\n")
		for k := range longest {
			for j := range n {
				line[j] = ' '
				if l := labels[off+j]; k < len(l) {
					line[j] = l[k]
				}
			}
			b.Write(line)
			b.WriteByte('\n')
		}
	}
}

// Stats summarises one event's samples, as LATENCY DOCTOR reports them.
type Stats struct {
	Samples int
	Avg     int64 // milliseconds
	MAD     int64 // mean absolute deviation from Avg, milliseconds
	Period  int64 // seconds from the oldest sample to now, at least 1
	Max     int64 // the longest ever, milliseconds
}

func (s *series) stats(now int64) Stats {
	var st Stats
	st.Max = s.max
	var sum, oldest int64
	for _, x := range s.samples {
		if x.Time == 0 {
			continue
		}
		st.Samples++
		sum += x.Latency
		if oldest == 0 || x.Time < oldest {
			oldest = x.Time
		}
	}
	if st.Samples == 0 {
		return st
	}
	st.Avg = sum / int64(st.Samples)
	st.Period = max(now-oldest, 1)
	var dev int64
	for _, x := range s.samples {
		if x.Time != 0 {
			d := st.Avg - x.Latency
			dev += max(d, -d)
		}
	}
	st.MAD = dev / int64(st.Samples)
	return st
}

// Advice is what the doctor needs to know of the server besides the events.
type Advice struct {
	SlowlogSlowerThan int64 // microseconds; negative when the slow log is off
	FsyncAlways       bool  // the log is synced at every write
}

// Doctor writes LATENCY DOCTOR's report: Redis's texts, for the events this
// server records.
func (m *Monitor) Doctor(a Advice) string {
	m.mu.Lock()
	names := make([]string, 0, len(m.events))
	for n := range m.events {
		names = append(names, n)
	}
	slices.Sort(names)
	stats := make([]Stats, len(names))
	now := m.clock().Unix()
	for i, n := range names {
		stats[i] = m.events[n].stats(now)
	}
	m.mu.Unlock()
	threshold := m.ThresholdMS()
	if len(names) == 0 && threshold == 0 {
		return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n"
	}
	var b strings.Builder
	var slowOn, slowTune, slowInspect, scheduler, relaxFsync, hz, large, massEvict bool
	advices := 0
	for i, name := range names {
		st := stats[i]
		if i == 0 {
			b.WriteString("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n")
		}
		fmt.Fprintf(&b, "%d. %s: %d latency spikes (average %dms, mean deviation %dms, period %.2f sec). Worst all time event %dms.\n",
			i+1, name, st.Samples, st.Avg, st.MAD, float64(st.Period)/float64(max(st.Samples, 1)), st.Max)
		switch strings.ToLower(name) {
		case Command:
			if a.SlowlogSlowerThan < 0 {
				slowOn = true
				advices++
			} else if a.SlowlogSlowerThan/1000 > threshold {
				slowTune = true
				advices++
			}
			slowInspect, large = true, true
			advices += 2
		case FastCommand:
			scheduler = true
			advices++
		case FsyncAlways:
			relaxFsync = true
			advices++
		case ExpireCycle:
			hz, large = true, true
			advices += 2
		case EvictionCycle:
			massEvict = true
			advices++
		}
	}
	switch {
	case len(names) == 0 && advices == 0:
		b.WriteString("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n")
		return b.String()
	case advices == 0:
		b.WriteString("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n")
		return b.String()
	}
	b.WriteString("\nI have a few advices for you:\n\n")
	if slowOn {
		fmt.Fprintf(&b, "- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than %d'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n", threshold*1000)
	}
	if slowTune {
		fmt.Fprintf(&b, "- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than %d'.\n", threshold*1000)
	}
	if slowInspect {
		b.WriteString("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n")
	}
	if scheduler {
		b.WriteString("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n" +
			"  1) Lower the system load.\n" +
			"  2) Use a computer / VM just for Redis if you are running other software in the same system.\n" +
			"  3) Check if you have a \"noisy neighbour\" problem.\n" +
			"  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n" +
			"  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n")
	}
	if relaxFsync && a.FsyncAlways {
		b.WriteString("- Your fsync policy is set to 'always'. It is very hard to get good performances with such a setup, if possible try to relax the fsync policy to 'onesec'.\n")
	}
	if hz {
		b.WriteString("- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n")
	}
	if large {
		b.WriteString("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n")
	}
	if massEvict {
		b.WriteString("- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n")
	}
	return b.String()
}

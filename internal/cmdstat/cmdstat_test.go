package cmdstat

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/latency"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/slowlog"
)

func spec(name string) *command.Spec {
	s := command.Redis[name]
	if s == nil || s.ID == 0 {
		panic("no command " + name)
	}
	return s
}

func read(t *Table) []Counters {
	out := make([]Counters, command.NumIDs())
	t.AddTo(out)
	return out
}

func args(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, a := range s {
		out[i] = []byte(a)
	}
	return out
}

type testBatch [][][]byte

func (b testBatch) Args(i int) [][]byte { return b[i] }

type client struct{}

func (client) Addr() string { return "1.2.3.4:5" }
func (client) Name() string { return "me" }

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ now time.Duration }

func (f *fakeClock) read() time.Duration { return f.now }

func newRecorder(slow *slowlog.Log) (*Recorder, *Table, *fakeClock) {
	t := NewTable()
	r := NewRecorder(t, slow)
	fc := &fakeClock{}
	r.clock = fc.read
	return r, t, fc
}

func TestStartStop(t *testing.T) {
	get, set, exec := spec("get"), spec("set"), spec("exec")
	r, tab, fc := newRecorder(nil)
	var w resp.Writer
	steps := []struct {
		spec  *command.Spec
		took  time.Duration
		reply func()
	}{
		{get, 3 * time.Microsecond, func() { w.AppendBulkString("v") }},
		{set, 700 * time.Nanosecond, func() { w.AppendError("ERR syntax error") }},
		{set, 20 * time.Millisecond, func() { w.AppendOK() }},
		// A reply that holds an error without being one, as EXEC's.
		{exec, time.Microsecond, func() { w.AppendArray(1); w.AppendError("ERR nested") }},
	}
	for _, s := range steps {
		m := r.Start(&w)
		fc.now += s.took
		s.reply()
		r.Stop(m, s.spec, nil, nil)
	}
	r.Reject(get)
	r.Reject(get)
	if got := read(tab); got[get.ID].Calls != 0 {
		t.Fatalf("counted before Flush: %+v", got[get.ID])
	}
	r.Flush()
	got := read(tab)
	tests := []struct {
		spec                    *command.Spec
		calls, failed, rejected int64
		nanos                   time.Duration
		buckets                 []int
	}{
		{get, 1, 0, 2, 3 * time.Microsecond, []int{2}},
		{set, 2, 1, 0, 20*time.Millisecond + 700, []int{0, 13}},
		{exec, 1, 0, 0, time.Microsecond, []int{0}},
	}
	for _, tt := range tests {
		c := got[tt.spec.ID]
		if c.Calls != tt.calls || c.Failed != tt.failed || c.Rejected != tt.rejected || c.Nanos != int64(tt.nanos) {
			t.Errorf("%s: got calls %d failed %d rejected %d nanos %d, want %d %d %d %d", tt.spec.Name,
				c.Calls, c.Failed, c.Rejected, c.Nanos, tt.calls, tt.failed, tt.rejected, tt.nanos)
		}
		var want [NumBuckets]int64
		for _, b := range tt.buckets {
			want[b]++
		}
		if c.Buckets != want {
			t.Errorf("%s: buckets %v, want %v", tt.spec.Name, c.Buckets, want)
		}
	}
	// A second Flush adds only what came since.
	r.Stop(r.Start(&w), get, nil, nil)
	r.Flush()
	r.Flush()
	if got := read(tab)[get.ID].Calls; got != 2 {
		t.Fatalf("get calls after a second round: got %d, want 2", got)
	}
}

// TestPauseResume checks that the time between Pause and Resume is not
// counted in a command's duration.
func TestPauseResume(t *testing.T) {
	keys := spec("keys")
	r, tab, fc := newRecorder(nil)
	var w resp.Writer
	m := r.Start(&w)
	for range 3 {
		r.Pause(&m)
		fc.now += time.Second // waiting for a shard
		r.Resume(&m)
		fc.now += 2 * time.Microsecond // reading a part
	}
	w.AppendArray(0)
	r.Stop(m, keys, nil, nil)
	r.Flush()
	if got, want := read(tab)[keys.ID].Nanos, int64(6*time.Microsecond); got != want {
		t.Fatalf("got %d ns, want %d", got, want)
	}
	var nilRec *Recorder // counts nothing, and must not fail
	nm := nilRec.Start(&w)
	nilRec.Pause(&nm)
	nilRec.Resume(&nm)
	nilRec.Stop(nm, keys, nil, nil)
}

// TestBatchShares checks how a batch's time is shared among its commands.
func TestBatchShares(t *testing.T) {
	get, set := spec("get"), spec("set")
	big := strings.Repeat("x", 3*1024)
	tests := []struct {
		name  string
		cmds  [][][]byte
		took  time.Duration
		nanos map[*command.Spec]int64
	}{
		{"one command is timed exactly", [][][]byte{args("GET", "k")}, 5 * time.Microsecond,
			map[*command.Spec]int64{get: 5000}},
		// Weights: GET k → 1024+4+5 ("GET","k" and the reply "$1\r\nv\r\n" is 7; see below).
		{"shares follow the bytes", [][][]byte{args("SET", "k", big), args("SET", "k", big)}, 8 * time.Microsecond,
			map[*command.Spec]int64{set: 8000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, tab, fc := newRecorder(nil)
			var w resp.Writer
			r.Begin(time.Time{}, &w)
			for _, a := range tt.cmds {
				w.AppendOK()
				switch string(a[0]) {
				case "GET":
					r.Done(get, a, nil)
				default:
					r.Done(set, a, nil)
				}
			}
			fc.now += tt.took
			r.End(nil, nil)
			r.Flush()
			got := read(tab)
			for s, want := range tt.nanos {
				if got[s.ID].Nanos != want {
					t.Errorf("%s: %d ns, want %d", s.Name, got[s.ID].Nanos, want)
				}
				// Commands of one name share equally: each is in the bucket
				// of the average.
				c := got[s.ID]
				if avg := time.Duration(c.Nanos / c.Calls); c.Buckets[bucket(avg)] != c.Calls {
					t.Errorf("%s: buckets %v, want all %d in the bucket of %v", s.Name, c.Buckets, c.Calls, avg)
				}
			}
		})
	}

	// A big SET and a small GET: the SET gets the lion's share.
	r, tab, fc := newRecorder(nil)
	var w resp.Writer
	r.Begin(time.Time{}, &w)
	w.AppendBulkString("v")
	r.Done(get, args("GET", "k"), nil) // 4 bytes in, 7 out
	w.AppendOK()
	r.Done(set, args("SET", "k", big), nil) // 3076 in, 5 out
	fc.now += 4100 * time.Nanosecond
	r.End(nil, nil)
	r.Flush()
	got := read(tab)
	wGet, wSet := Weight(4+7), Weight(4+3*1024+5)
	wantGet := int64(float64(4100) * float64(wGet) / float64(wGet+wSet))
	if g, s := got[get.ID].Nanos, got[set.ID].Nanos; g != wantGet || g+s < 4099 || g+s > 4100 {
		t.Errorf("get %d ns, set %d ns; want get %d and a sum of 4100", g, s, wantGet)
	}
	if got[get.ID].Calls != 1 || got[set.ID].Calls != 1 {
		t.Errorf("calls: get %d, set %d", got[get.ID].Calls, got[set.ID].Calls)
	}
}

// TestBatchSlowlog checks that a batch that reaches the threshold makes the
// following batches be timed command by command, so that the slow log gets
// each command's own duration.
func TestBatchSlowlog(t *testing.T) {
	get, set := spec("get"), spec("set")
	slow := slowlog.New(1000, 100) // 1ms
	r, _, fc := newRecorder(slow)
	var w resp.Writer
	batch := func(steps ...time.Duration) {
		var cmds testBatch
		r.Begin(time.Time{}, &w)
		for i, d := range steps {
			fc.now += d
			w.AppendOK()
			s := get
			if i%2 == 1 {
				s = set
			}
			a := args(strings.ToUpper(s.Name), "k")
			cmds = append(cmds, a)
			r.Done(s, a, client{})
		}
		r.End(cmds, client{})
		r.Flush()
	}
	batch(100*time.Microsecond, 200*time.Microsecond) // 0.3ms: nothing can be slow
	if n := slow.Len(); n != 0 {
		t.Fatalf("logged %d after a fast batch", n)
	}
	batch(2*time.Millisecond, 10*time.Microsecond) // slow as a whole: shared, 1.005ms each
	if n := slow.Len(); n != 2 {
		t.Fatalf("logged %d after a slow batch of equal weights, want both", n)
	}
	batch(10*time.Microsecond, 3*time.Millisecond) // now timed command by command
	e := slow.Get(-1)
	if len(e) != 3 || e[0].Args[0] != "SET" || e[0].Duration != 3000 || e[0].Addr != "1.2.3.4:5" || e[0].Name != "me" {
		t.Fatalf("slow log after a precise batch: %+v", e)
	}
	// A single slow command is always timed exactly.
	r2, _, fc2 := newRecorder(slow)
	r2.Begin(time.Time{}, &w)
	fc2.now += 1500 * time.Microsecond
	r2.Done(get, args("GET", "x"), client{})
	r2.End(testBatch{args("GET", "x")}, client{})
	if e := slow.Get(1)[0]; e.Duration != 1500 || e.Args[1] != "x" {
		t.Fatalf("single command: %+v", e)
	}
}

func TestThresholdZeroTimesEveryCommand(t *testing.T) {
	slow := slowlog.New(0, 100)
	r, tab, fc := newRecorder(slow)
	var w resp.Writer
	r.Begin(time.Time{}, &w)
	for i := range 3 {
		fc.now += time.Duration(i+1) * time.Microsecond
		w.AppendOK()
		r.Done(spec("set"), args("SET", "k", "v"), nil)
	}
	fc.now += time.Hour // after the last command: not counted
	r.End(nil, nil)
	r.Flush()
	var durs []int64
	for _, e := range slow.Get(-1) {
		durs = append(durs, e.Duration)
	}
	if len(durs) != 3 || durs[0] != 3 || durs[1] != 2 || durs[2] != 1 {
		t.Fatalf("durations logged: %v, want [3 2 1]", durs)
	}
	if got := read(tab)[spec("set").ID].Nanos; got != 6000 {
		t.Fatalf("set nanos %d, want 6000", got)
	}
}

func TestFailedInBatch(t *testing.T) {
	r, tab, _ := newRecorder(nil)
	var w resp.Writer
	r.Begin(time.Time{}, &w)
	w.AppendError("ERR value is not an integer or out of range")
	r.Done(spec("incr"), nil, nil)
	w.AppendRaw([]byte("-1\n")) // a line-protocol value that starts with '-' is no error
	r.Done(spec("get"), nil, nil)
	r.End(nil, nil)
	r.Flush()
	got := read(tab)
	if got[spec("incr").ID].Failed != 1 || got[spec("get").ID].Failed != 0 {
		t.Fatalf("failed: incr %d, get %d; want 1, 0", got[spec("incr").ID].Failed, got[spec("get").ID].Failed)
	}
}

func TestRecorderNil(t *testing.T) {
	var r *Recorder
	var w resp.Writer
	r.Stop(r.Start(&w), spec("get"), nil, nil)
	r.Begin(time.Now(), &w)
	r.Done(spec("get"), nil, nil)
	r.End(nil, nil)
	r.Reject(spec("get"))
	r.Flush()
}

func TestUnregisteredSpecIsNotCounted(t *testing.T) {
	r, tab, _ := newRecorder(nil)
	var w resp.Writer
	r.Stop(r.Start(&w), &command.Spec{Name: "adhoc"}, nil, nil)
	r.Reject(&command.Spec{Name: "adhoc"})
	r.Flush()
	for id, c := range read(tab) {
		if !c.Zero() {
			t.Fatalf("id %d counted: %+v", id, c)
		}
	}
}

func TestBuckets(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int
	}{
		{0, 0}, {time.Microsecond, 0}, {time.Microsecond + 1, 1}, {3 * time.Microsecond, 2},
		{time.Millisecond, 9}, {10 * time.Second, len(Bounds) - 1}, {time.Hour, len(Bounds)},
	}
	for _, tt := range tests {
		if b := bucket(tt.d); b != tt.want {
			t.Errorf("%v: bucket %d, want %d", tt.d, b, tt.want)
		}
	}
}

func TestSlowlogSkipsExec(t *testing.T) {
	slow := slowlog.New(0, 10)
	r, _, _ := newRecorder(slow)
	var w resp.Writer
	r.Stop(r.Start(&w), spec("exec"), args("EXEC"), client{})
	r.Stop(r.Start(&w), spec("get"), args("GET", "k"), client{})
	if e := slow.Get(-1); len(e) != 1 || e[0].Args[0] != "GET" {
		t.Fatalf("got %+v, want GET alone", e)
	}
}

func TestTableConcurrent(t *testing.T) {
	tab := NewTable()
	get := spec("get")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			r := NewRecorder(tab, nil)
			var w resp.Writer
			for range 100 {
				r.Begin(time.Now(), &w)
				for range 10 {
					r.Done(get, nil, nil)
				}
				r.End(nil, nil)
				r.Flush()
				read(tab)
			}
		})
	}
	wg.Wait()
	if got := read(tab)[get.ID].Calls; got != 4000 {
		t.Fatalf("got %d calls, want 4000", got)
	}
}

// BenchmarkBatch measures what counting costs per command in a batch of 16
// (the replies' own cost included).
func BenchmarkBatch(b *testing.B) {
	benchmarkBatch(b, NewRecorder(NewTable(), slowlog.New(10000, 128)))
}

// BenchmarkBatchTracking is BenchmarkBatch with latency tracking on (the
// default): each command also counts in its fine histogram.
func BenchmarkBatchTracking(b *testing.B) {
	r := NewRecorder(NewTable(), slowlog.New(10000, 128))
	r.Watch(latency.New(0, true))
	benchmarkBatch(b, r)
}

// BenchmarkStartStopTracking is BenchmarkStartStop with latency tracking on.
func BenchmarkStartStopTracking(b *testing.B) {
	r := NewRecorder(NewTable(), slowlog.New(10000, 128))
	r.Watch(latency.New(0, true))
	benchmarkStartStop(b, r)
}

// BenchmarkBatchNone is BenchmarkBatch without a Recorder: the replies'
// and the loop's own cost, to subtract.
func BenchmarkBatchNone(b *testing.B) { benchmarkBatch(b, nil) }

// benchmarkBatch runs batches of 16 GET and SET replies counted by r, which
// may be nil, and reports the time per command.
func benchmarkBatch(b *testing.B, r *Recorder) {
	get, set := spec("get"), spec("set")
	a := args("SET", "key:000001", "value")
	var w resp.Writer
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		r.Begin(time.Now(), &w)
		for i := range 16 {
			w.AppendOK()
			if i%2 == 0 {
				r.Done(get, a[:2], nil)
			} else {
				r.Done(set, a, nil)
			}
		}
		r.End(nil, nil)
		r.Flush()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*16), "ns/cmd")
}

// BenchmarkStartStop measures timing one command alone: two clock reads.
func BenchmarkStartStop(b *testing.B) {
	benchmarkStartStop(b, NewRecorder(NewTable(), slowlog.New(10000, 128)))
}

func benchmarkStartStop(b *testing.B, r *Recorder) {
	ping := spec("ping")
	var w resp.Writer
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		m := r.Start(&w)
		w.AppendSimple("PONG")
		r.Stop(m, ping, nil, nil)
		r.Flush()
	}
}

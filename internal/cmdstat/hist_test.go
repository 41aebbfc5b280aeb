package cmdstat

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/latency"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// TestHistIndex checks that every bucket holds the durations from one more
// than the previous bucket's upper bound to its own, and that a bucket is
// at most 1/16 of its values wide.
func TestHistIndex(t *testing.T) {
	prev := time.Duration(-1)
	for i := range HistBuckets - 1 {
		up := HistUpper(i)
		if HistIndex(prev+1) != i || HistIndex(up) != i {
			t.Fatalf("bucket %d: index of %d is %d, of %d is %d", i, prev+1, HistIndex(prev+1), up, HistIndex(up))
		}
		if width := up - prev; up >= subs && width*subs > up+1 {
			t.Fatalf("bucket %d [%d, %d] is wider than 1/%d of its values", i, prev+1, up, subs)
		}
		prev = up
	}
	for _, d := range []time.Duration{-5, 0} {
		if HistIndex(d) != 0 {
			t.Errorf("index of %d: got %d, want 0", d, HistIndex(d))
		}
	}
	for _, d := range []time.Duration{time.Duration(1) << maxExp << 1, 1<<63 - 1} {
		if HistIndex(d) != HistBuckets-1 {
			t.Errorf("index of %d: got %d, want the last, %d", d, HistIndex(d), HistBuckets-1)
		}
	}
}

func TestPercentile(t *testing.T) {
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 1))
	var h Hist
	if h.Percentile(50) != 0 {
		t.Fatal("percentile of nothing")
	}
	durs := make([]time.Duration, 10000)
	for i := range durs {
		durs[i] = time.Duration(rng.Int64N(int64(10 * time.Millisecond)))
		h[HistIndex(durs[i])]++
	}
	for _, p := range []float64{0, 50, 99, 99.9, 100} {
		got := h.Percentile(p)
		// As many runs as p percent of them took at most got, and no more
		// than one bucket's worth beyond.
		var below int64
		for _, d := range durs {
			if d <= got {
				below++
			}
		}
		if float64(below) < p/100*float64(len(durs)) {
			t.Errorf("seed %d: p%v = %v, but only %d of %d runs took that or less", seed, p, got, below, len(durs))
		}
	}
	if h.Total() != int64(len(durs)) {
		t.Errorf("total: got %d, want %d", h.Total(), len(durs))
	}
	if got := h.Cumulative(1 << 62); got != h.Total() {
		t.Errorf("cumulative below 2^62 ns: got %d, want %d", got, h.Total())
	}
}

// TestHistAndLatencyEvents times commands with a fake clock and checks the
// fine histograms, the latency events, and that latency tracking off
// keeps no histogram.
func TestHistAndLatencyEvents(t *testing.T) {
	get, set, keys := spec("get"), spec("set"), spec("keys")
	r, tab, fc := newRecorder(nil)
	m := latency.New(5, true)
	r.Watch(m)
	var w resp.Writer
	for _, s := range []struct {
		spec *command.Spec
		took time.Duration
	}{
		{get, 700 * time.Nanosecond}, {get, 700 * time.Nanosecond}, {get, 3 * time.Microsecond},
		{set, 6 * time.Millisecond}, {keys, 20 * time.Millisecond},
	} {
		mk := r.Start(&w)
		fc.now += s.took
		w.AppendOK()
		r.Stop(mk, s.spec, args(s.spec.Name), client{})
	}
	// A batch of two GETs that together took 12 ms: 6 ms each.
	r.Begin(time.Time{}, &w)
	r.Done(get, args("get", "a"), nil)
	r.Done(get, args("get", "b"), nil)
	fc.now += 12 * time.Millisecond
	r.End(testBatch{args("get", "a"), args("get", "b")}, client{})
	r.Flush()
	hists := make([]*Hist, command.NumIDs())
	tab.AddHistTo(hists)
	if h := hists[get.ID]; h == nil || h.Total() != 5 || h[HistIndex(700)] != 2 || h[HistIndex(3*time.Microsecond)] != 1 || h[HistIndex(6*time.Millisecond)] != 2 {
		t.Fatalf("get histogram: %v", h)
	}
	if h := hists[keys.ID]; h == nil || h.Total() != 1 {
		t.Fatalf("keys histogram: %v", h)
	}
	latest := m.Latest()
	if len(latest) != 2 || latest[0].Event != latency.Command || latest[0].Max != 20 ||
		latest[1].Event != latency.FastCommand || latest[1].Max != 6 {
		t.Fatalf("latency events: got %+v, want command (keys, 20 ms) and fast-command (set, get: 6 ms)", latest)
	}
	tab.ResetHist()
	m.SetTracking(false)
	r.Stop(r.Start(&w), get, nil, nil)
	r.Flush()
	hists = make([]*Hist, command.NumIDs())
	tab.AddHistTo(hists)
	for id, h := range hists {
		if h != nil {
			t.Fatalf("tracking off kept a histogram for %s", command.NameOf(id))
		}
	}
}

func TestErrorCounts(t *testing.T) {
	get, exec := spec("get"), spec("exec")
	r, tab, _ := newRecorder(nil)
	var w resp.Writer
	for _, reply := range []func(){
		func() { w.AppendError("ERR syntax error") },
		func() { w.AppendError("WRONGTYPE Operation against a key holding the wrong kind of value") },
		func() { w.AppendBulkString("-not an error") },
		func() { w.AppendError("NOSPACE") },
	} {
		m := r.Start(&w)
		reply()
		r.Stop(m, get, nil, nil)
	}
	// EXEC's reply holds its commands' errors; they were counted as their
	// commands ran, not again with EXEC.
	m := r.Start(&w)
	w.AppendArray(1)
	w.AppendError("ERR nested")
	r.Stop(m, exec, nil, nil)
	r.Error([]byte("ERR unknown command 'x', with args beginning with: "))
	// A batch.
	r.Begin(time.Time{}, &w)
	w.AppendError("BUSYKEY Target key name already exists.")
	r.Done(get, nil, nil)
	r.End(nil, nil)
	r.Flush()
	got := map[string]int64{}
	total := tab.AddErrorsTo(got)
	want := map[string]int64{"ERR": 2, "WRONGTYPE": 1, "NOSPACE": 1, "BUSYKEY": 1}
	if total != 5 || len(got) != len(want) {
		t.Fatalf("got %v (total %d), want %v (total 5)", got, total, want)
	}
	for p, n := range want {
		if got[p] != n {
			t.Errorf("%s: got %d, want %d", p, got[p], n)
		}
	}
	if c := read(tab)[get.ID]; c.Failed != 4 {
		t.Errorf("get failed calls: got %d, want 4", c.Failed)
	}
}

func TestErrorPrefixesBounded(t *testing.T) {
	r, tab, _ := newRecorder(nil)
	for i := range MaxErrorPrefixes + 10 {
		r.Error([]byte("E" + string(rune('A'+i%26)) + string(rune('A'+i/26)) + " x"))
	}
	r.Flush()
	got := map[string]int64{}
	if total := tab.AddErrorsTo(got); total != MaxErrorPrefixes+10 || len(got) != MaxErrorPrefixes {
		t.Fatalf("got %d prefixes, total %d; want %d, %d", len(got), total, MaxErrorPrefixes, MaxErrorPrefixes+10)
	}
	if p := ErrorPrefix([]byte("ERR")); p != "ERR" {
		t.Fatalf("prefix of a bare code: got %q", p)
	}
}

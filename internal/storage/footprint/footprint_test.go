package footprint

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/storage/arena"
	"github.com/data-cluster/data-cluster/internal/storage/memory"
)

// After the fill, the child serves lookups and writes for serveTime while
// a collection starts every gcEvery (or as soon as the last one ends, if it
// took longer).
const (
	serveTime = 3 * time.Second
	gcEvery   = 100 * time.Millisecond
)

// childEnv names the variable that makes the test binary a child that
// measures one case and prints its result, instead of running tests.
const childEnv = "FOOTPRINT_CHILD"

var engines = map[string]func() storage.Engine{
	"memory": func() storage.Engine { return memory.New() },
	"arena":  func() storage.Engine { return arena.New() },
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		if err := child(spec); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// result is what a child measures.
type result struct {
	Keys        int
	RSS         int64 // after the fill
	Floor       int64 // after a collection and debug.FreeOSMemory
	Heap        int64 // live heap after a collection, less the baseline
	GCs         int64
	PauseP50    float64 // seconds
	PauseP99    float64
	PauseMax    float64
	Pauses      uint64
	GCWall      float64 // seconds of a forced collection, the median of those in the serving phase
	GCCPU       float64 // CPU seconds of marking in one collection of the serving phase, on average
	Objects     int64   // live heap objects, less the baseline
	Scannable   int64   // bytes of heap the collector scans for pointers, less the baseline
	SetP9999    float64 // seconds
	SetMax      float64
	FillSeconds float64
	OpP999      float64 // seconds, in the serving phase
	OpMax       float64
}

func BenchmarkFootprint(b *testing.B) {
	keys := intsFromEnv(b, "FOOTPRINT_KEYS", 1_000_000)
	gcs := intsFromEnv(b, "FOOTPRINT_GOGC", 100, 50, 25)
	for _, n := range keys {
		for _, engine := range []string{"memory", "arena"} {
			for _, gc := range gcs {
				name := fmt.Sprintf("engine=%s/keys=%s/gogc=%d", engine, short(n), gc)
				b.Run(name, func(b *testing.B) {
					var r result
					for b.Loop() {
						r = run(b, engine, n, gc)
					}
					per := func(v int64) float64 { return float64(v) / float64(r.Keys) }
					b.ReportMetric(per(r.RSS), "RSS-B/key")
					b.ReportMetric(per(r.Floor), "floor-B/key")
					b.ReportMetric(per(r.Heap), "heap-B/key")
					b.ReportMetric(float64(r.GCs), "GCs")
					b.ReportMetric(float64(r.Pauses), "pauses")
					b.ReportMetric(r.PauseP50*1e6, "p50-pause-µs")
					b.ReportMetric(r.PauseP99*1e6, "p99-pause-µs")
					b.ReportMetric(r.PauseMax*1e6, "max-pause-µs")
					b.ReportMetric(r.GCWall*1e3, "GC-ms")
					b.ReportMetric(r.GCCPU*1e3, "GC-cpu-ms")
					b.ReportMetric(float64(r.Objects), "objects")
					b.ReportMetric(float64(r.Scannable)/(1<<20), "scan-MB")
					b.ReportMetric(r.SetP9999*1e6, "p9999-set-µs")
					b.ReportMetric(r.SetMax*1e6, "max-set-µs")
					b.ReportMetric(r.OpP999*1e6, "p999-op-µs")
					b.ReportMetric(r.OpMax*1e6, "max-op-µs")
					b.ReportMetric(r.FillSeconds*1e9/float64(r.Keys), "ns/key")
					b.ReportMetric(0, "ns/op")
				})
			}
		}
	}
}

// intsFromEnv returns the comma-separated integers of the variable name, or
// def when it is not set.
func intsFromEnv(b *testing.B, name string, def ...int) []int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		out = append(out, n)
	}
	return out
}

func short(n int) string {
	switch {
	case n%1_000_000 == 0:
		return fmt.Sprint(n/1_000_000, "M")
	case n%1000 == 0:
		return fmt.Sprint(n/1000, "K")
	}
	return fmt.Sprint(n)
}

// run measures one case in a child process.
func run(b *testing.B, engine string, keys, gcPercent int) result {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d,%d", childEnv, engine, keys, gcPercent), "GOGC=", "GOMEMLIMIT=")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		b.Fatalf("child %s %d %d: %v: %s", engine, keys, gcPercent, err, errOut.Bytes())
	}
	var r result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		b.Fatalf("child output %q: %v", out.Bytes(), err)
	}
	return r
}

// child fills the engine that spec ("engine,keys,gcpercent") names and
// prints its measurements as JSON.
func child(spec string) error {
	f := strings.Split(spec, ",")
	if len(f) != 3 {
		return fmt.Errorf("%s: want engine,keys,gcpercent, got %q", childEnv, spec)
	}
	newEngine, ok := engines[f[0]]
	if !ok {
		return fmt.Errorf("%s: unknown engine %q", childEnv, f[0])
	}
	n, err := strconv.Atoi(f[1])
	if err != nil {
		return err
	}
	gcPercent, err := strconv.Atoi(f[2])
	if err != nil {
		return err
	}
	debug.SetGCPercent(gcPercent)
	runtime.GC()
	heapBase := liveHeap()
	objectsBase, scanBase := readUint("/gc/heap/objects:objects"), readUint("/gc/scan/heap:bytes")
	cyclesBase := readUint("/gc/cycles/total:gc-cycles")

	e := newEngine()
	key := []byte("key:000000000000")
	value := []byte("val:000000000000")
	var lat latency
	start := time.Now()
	last := start
	for i := range n {
		digits(key, i)
		digits(value, i)
		e.Set(key, value, storage.NoExpiry)
		now := time.Now()
		lat.add(now.Sub(last))
		last = now
	}
	r := result{Keys: n, FillSeconds: time.Since(start).Seconds()}
	r.RSS = rss()
	r.GCs = int64(readUint("/gc/cycles/total:gc-cycles") - cyclesBase)
	r.SetP9999, r.SetMax = lat.quantile(0.9999), lat.max.Seconds()

	// Serving: lookups and same-size overwrites of random keys while
	// collections run.
	var walls []time.Duration
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			t := time.Now()
			runtime.GC()
			walls = append(walls, time.Since(t))
			select {
			case <-stop:
				return
			case <-time.After(time.Until(t.Add(gcEvery))):
			}
		}
	}()
	gcCPU := markCPU()
	var ops latency
	rnd := uint64(1)
	last = time.Now()
	for end := last.Add(serveTime); last.Before(end); {
		for range 256 {
			rnd = rnd*6364136223846793005 + 1442695040888963407
			digits(key, int(rnd>>33)%n)
			if rnd&(1<<20) == 0 {
				e.Lookup(key)
			} else {
				digits(value, int(rnd>>40))
				e.Set(key, value, storage.NoExpiry)
			}
			now := time.Now()
			ops.add(now.Sub(last))
			last = now
		}
	}
	close(stop)
	<-done
	r.GCCPU = (markCPU() - gcCPU) / float64(len(walls))
	r.OpP999, r.OpMax = ops.quantile(0.999), ops.max.Seconds()
	slices.Sort(walls)
	r.GCWall = walls[len(walls)/2].Seconds()
	r.Heap = liveHeap() - heapBase
	r.Objects = int64(readUint("/gc/heap/objects:objects")) - int64(objectsBase)
	r.Scannable = int64(readUint("/gc/scan/heap:bytes")) - int64(scanBase)
	r.PauseP50, r.PauseP99, r.PauseMax, r.Pauses = pauses()
	debug.FreeOSMemory()
	r.Floor = rss()
	runtime.KeepAlive(e)
	return json.NewEncoder(os.Stdout).Encode(r)
}

// digits writes i into the last 12 bytes of b as zero-padded digits.
func digits(b []byte, i int) {
	for j := len(b) - 1; j >= len(b)-12; j-- {
		b[j] = '0' + byte(i%10)
		i /= 10
	}
}

// latency is a histogram of durations in power-of-two nanosecond buckets.
type latency struct {
	counts [64]int64
	total  int64
	max    time.Duration
}

func (l *latency) add(d time.Duration) {
	l.counts[bits.Len64(uint64(max(d, 0)))]++
	l.total++
	l.max = max(l.max, d)
}

// quantile returns the upper bound in seconds of the bucket holding
// quantile q.
func (l *latency) quantile(q float64) float64 {
	want := int64(math.Ceil(q * float64(l.total)))
	seen := int64(0)
	for i, c := range l.counts {
		if seen += c; seen >= want {
			return float64(uint64(1)<<i) / 1e9
		}
	}
	return l.max.Seconds()
}

// pauses returns the median, the 99th percentile and the largest of the
// stop-the-world pauses of the garbage collector so far, as upper bounds of
// the runtime's histogram buckets, and their number.
func pauses() (p50, p99, largest float64, count uint64) {
	s := []metrics.Sample{{Name: "/sched/pauses/total/gc:seconds"}}
	metrics.Read(s)
	h := s[0].Value.Float64Histogram()
	for _, c := range h.Counts {
		count += c
	}
	quantile := func(q float64) float64 {
		want := uint64(math.Ceil(q * float64(count)))
		seen := uint64(0)
		for i, c := range h.Counts {
			if seen += c; c > 0 && seen >= want {
				return bucketTop(h, i)
			}
		}
		return 0
	}
	for i, c := range h.Counts {
		if c > 0 {
			largest = bucketTop(h, i)
		}
	}
	return quantile(0.5), quantile(0.99), largest, count
}

// bucketTop returns the upper bound of bucket i of h, or its lower bound
// for the last, unbounded one.
func bucketTop(h *metrics.Float64Histogram, i int) float64 {
	if math.IsInf(h.Buckets[i+1], 1) {
		return h.Buckets[i]
	}
	return h.Buckets[i+1]
}

func liveHeap() int64 {
	runtime.GC()
	return int64(readUint("/gc/heap/live:bytes"))
}

func readUint(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// markCPU returns the CPU time the collector's workers and the mutator's
// assists have spent marking, as the runtime estimates it.
func markCPU() float64 {
	s := []metrics.Sample{
		{Name: "/cpu/classes/gc/mark/assist:cpu-seconds"},
		{Name: "/cpu/classes/gc/mark/dedicated:cpu-seconds"},
	}
	metrics.Read(s)
	return s[0].Value.Float64() + s[1].Value.Float64()
}

// rss returns the resident set size of the process, from /proc.
func rss() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/testutil"
)

// fake is a minimal server for both protocols: SET answers OK, GET answers a
// miss, and every busyEvery-th request of a connection answers BUSY.
type fake struct {
	busyEvery  int  // 0: never BUSY
	closeAfter int  // close each connection after that many requests; 0: never
	silent     bool // read requests, never answer
	onRequest  func(served int64)

	requests, busy, misses atomic.Int64

	keysMu sync.Mutex
	sets   map[string]int // SETs per key

	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

// startFake starts a fake server on 127.0.0.1:0 and returns its address;
// the test's cleanup stops it.
func startFake(t *testing.T, edit func(*fake)) (*fake, string) {
	t.Helper()
	f := &fake{}
	if edit != nil {
		edit(f)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.ln = ln
	f.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.conns = append(f.conns, c)
			f.mu.Unlock()
			f.wg.Go(func() { f.serve(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
		f.wg.Wait()
	})
	return f, ln.Addr().String()
}

func (f *fake) serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 0, 4096)
	var out []byte
	var args [][]byte
	served := 0
	isRESP := false
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, make([]byte, cap(buf))...)[:len(buf)]
		}
		n, err := c.Read(buf[len(buf):cap(buf)])
		if err != nil {
			return
		}
		if served == 0 && len(buf) == 0 {
			isRESP = buf[:n][0] == '*'
		}
		buf = buf[:len(buf)+n]
		off := 0
		out = out[:0]
		for {
			var used int
			args, used, err = resp.ReadCommand(buf[off:], args[:0], resp.DefaultLimits())
			if err != nil || used == 0 {
				break
			}
			off += used
			if len(args) == 0 {
				continue
			}
			served++
			total := f.requests.Add(1)
			if f.onRequest != nil {
				f.onRequest(total)
			}
			switch {
			case f.silent:
			case f.busyEvery > 0 && served%f.busyEvery == 0:
				f.busy.Add(1)
				out = append(out, pick(isRESP, "-BUSY server is busy, try again later\r\n", "BUSY\n")...)
			case strings.EqualFold(string(args[0]), "GET"):
				f.misses.Add(1)
				out = append(out, pick(isRESP, "$-1\r\n", "ERR key not found\n")...)
			default:
				f.keysMu.Lock()
				if f.sets == nil {
					f.sets = map[string]int{}
				}
				f.sets[string(args[1])]++
				f.keysMu.Unlock()
				out = append(out, pick(isRESP, "+OK\r\n", "OK\n")...)
			}
			if f.closeAfter > 0 && served == f.closeAfter {
				c.Write(out)
				return
			}
		}
		if _, err := c.Write(out); err != nil {
			return
		}
		buf = buf[:copy(buf, buf[off:])]
	}
}

func pick(isRESP bool, r, line string) string {
	if isRESP {
		return r
	}
	return line
}

// checkLatency checks the histogram counts every request and the summary
// is ordered.
func checkLatency(t *testing.T, res *Result) {
	t.Helper()
	if got := res.Histogram.TotalCount(); got != res.Requests {
		t.Errorf("histogram counts %d latencies, want %d", got, res.Requests)
	}
	l := res.Latency
	if !(1 <= l.Min && l.Min <= l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
		t.Errorf("latencies out of order: %+v", l)
	}
}

func TestRunCounts(t *testing.T) {
	for _, proto := range []Protocol{RESP, Line} {
		for _, pipeline := range []int{1, 7} {
			t.Run(fmt.Sprintf("%s/pipeline %d", proto, pipeline), func(t *testing.T) {
				f, addr := startFake(t, func(f *fake) { f.busyEvery = 10 })
				cfg := DefaultConfig()
				cfg.Addr, cfg.Protocol, cfg.Clients, cfg.Pipeline, cfg.Requests = addr, proto, 3, pipeline, 1000
				cfg.Keyspace, cfg.Seed = 100, 42
				res, err := Run(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				if res.Requests != 1000 || f.requests.Load() != 1000 {
					t.Fatalf("requests: got %d answered, %d served; want 1000", res.Requests, f.requests.Load())
				}
				if res.Reads+res.Writes != res.Requests || res.Reads == 0 || res.Writes == 0 {
					t.Errorf("got %d reads and %d writes of %d", res.Reads, res.Writes, res.Requests)
				}
				if res.Errors != f.busy.Load() || res.ErrorKinds["BUSY"] != res.Errors || len(res.ErrorKinds) != 1 || res.Errors < 90 {
					t.Errorf("errors: got %d %v, want %d BUSY", res.Errors, res.ErrorKinds, f.busy.Load())
				}
				if res.Misses != f.misses.Load() {
					t.Errorf("misses: got %d, want %d", res.Misses, f.misses.Load())
				}
				if res.Seed != 42 || res.TargetRequests != 1000 || res.Interrupted {
					t.Errorf("got seed %d, target %d, interrupted %v", res.Seed, res.TargetRequests, res.Interrupted)
				}
				if res.RequestsPerSecond <= 0 {
					t.Errorf("throughput %v", res.RequestsPerSecond)
				}
				checkLatency(t, res)
			})
		}
	}
}

// TestRunSequential checks a sequential run of as many SETs as keys sets
// every key once, over any number of connections and pipeline depth.
func TestRunSequential(t *testing.T) {
	for _, proto := range []Protocol{RESP, Line} {
		f, addr := startFake(t, nil)
		cfg := DefaultConfig()
		cfg.Addr, cfg.Protocol, cfg.Clients, cfg.Pipeline = addr, proto, 4, 7
		cfg.Requests, cfg.Keyspace, cfg.Sequential, cfg.ReadPercent = 1000, 1000, true, 0
		if _, err := Run(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		f.keysMu.Lock()
		if len(f.sets) != 1000 {
			t.Errorf("%s: %d keys set, want 1000", proto, len(f.sets))
		}
		for i := range 1000 {
			if k := fmt.Sprintf("key:%012d", i); f.sets[k] != 1 {
				t.Errorf("%s: %s set %d times, want once", proto, k, f.sets[k])
			}
		}
		f.keysMu.Unlock()
	}
}

// TestRunLargeBatches writes batches larger than inlineWrite, which are sent
// while their replies are read.
func TestRunLargeBatches(t *testing.T) {
	_, addr := startFake(t, nil)
	cfg := DefaultConfig()
	cfg.Addr, cfg.Clients, cfg.Pipeline, cfg.Requests, cfg.ValueSize, cfg.ReadPercent = addr, 2, 1000, 3000, 1000, 0
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 3000 || res.Writes != 3000 || res.Errors != 0 {
		t.Fatalf("got %d requests, %d writes, %d errors; want 3000, 3000, 0", res.Requests, res.Writes, res.Errors)
	}
	if res.Seed == 0 {
		t.Error("the seed picked is not reported")
	}
}

func TestRunDuration(t *testing.T) {
	_, addr := startFake(t, nil)
	var progress testutil.SyncBuffer
	cfg := DefaultConfig()
	cfg.Addr, cfg.Clients, cfg.Duration, cfg.Requests = addr, 2, 100*time.Millisecond, 0
	cfg.Progress, cfg.ProgressInterval = &progress, 10*time.Millisecond
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Elapsed < cfg.Duration || res.TargetDurationSeconds != 0.1 || res.TargetRequests != 0 {
		t.Fatalf("got %d requests in %v (target %vs, %d requests)", res.Requests, res.Elapsed,
			res.TargetDurationSeconds, res.TargetRequests)
	}
	checkLatency(t, res)
	out := progress.String()
	if !strings.HasPrefix(out, "\r") || !strings.Contains(out, " requests, ") || !strings.HasSuffix(out, "\r\x1b[K") {
		t.Fatalf("progress: got %q", out)
	}
}

func TestRunInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, addr := startFake(t, func(f *fake) {
		f.onRequest = func(served int64) {
			if served == 100 {
				cancel()
			}
		}
	})
	cfg := DefaultConfig()
	cfg.Addr, cfg.Clients, cfg.Duration = addr, 2, time.Hour
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Requests < 100 {
		t.Fatalf("got interrupted %v after %d requests, want true after at least 100", res.Interrupted, res.Requests)
	}
}

func TestRunConnectionClosed(t *testing.T) {
	_, addr := startFake(t, func(f *fake) { f.closeAfter = 5 })
	cfg := DefaultConfig()
	cfg.Addr, cfg.Clients = addr, 2
	res, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "connection") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("got %v, want a connection error", err)
	}
	if res == nil || res.Requests > 10 {
		t.Fatalf("got result %+v, want what was answered before", res)
	}
}

func TestRunStalled(t *testing.T) {
	_, addr := startFake(t, func(f *fake) { f.silent = true })
	cfg := DefaultConfig()
	cfg.Addr, cfg.Clients, cfg.Duration, cfg.DrainTimeout = addr, 2, 20*time.Millisecond, 50*time.Millisecond
	_, err := Run(context.Background(), cfg)
	if !errors.Is(err, ErrStalled) {
		t.Fatalf("got %v, want ErrStalled", err)
	}
}

func TestRunCannotConnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := DefaultConfig()
	cfg.Addr = addr
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "cannot connect to "+addr) {
		t.Fatalf("got %v, want cannot connect", err)
	}
}

func TestRunInvalid(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Clients = 0
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "--clients") {
		t.Fatalf("got %v, want the --clients error", err)
	}
}

func TestResultText(t *testing.T) {
	_, addr := startFake(t, func(f *fake) { f.busyEvery = 4 })
	cfg := DefaultConfig()
	cfg.Addr, cfg.Clients, cfg.Requests, cfg.Seed = addr, 1, 100, 9
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := res.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"resp " + addr + ", 100 requests", "1 clients, pipeline 1, 50% GET, 16-byte values",
		"1000000 keys (random), seed 9", "100 in ", "requests/s", "errors        25 (BUSY 25)", "p99.9 "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report does not say %q:\n%s", want, out.String())
		}
	}
}

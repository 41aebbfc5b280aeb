// Command failover measures how long writes stop when a node of a Redis
// Cluster dies: data-cluster's or redis-server's. Goroutines SET unique
// keys through go-redis's ClusterClient (its cluster state reloaded every
// -reload, as data-cluster's documentation advises), each the keys of one
// shard, so that one shard's stalled writes hold up no other shard's.
// After -warmup the process -pid gets SIGKILL. For each shard that CLUSTER
// SHARDS listed at the start, it reports when the first write started
// after the kill was acknowledged, and the longest gap between
// acknowledged writes. bench/cluster.sh runs it.
//
//	go run ./bench/failover -addrs 127.0.0.1:7001,127.0.0.1:7002 -pid 12345
//
// The failover window is the latest of those first writes: until then
// some keys could not be written. The last line of the output is for
// scripts:
//
//	window_ms=1523 longest_gap_ms=1530 writes=81234 failed=17
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/data-cluster/data-cluster/internal/slot"
)

// config are the command's flags.
type config struct {
	addrs   []string
	pid     int
	clients int
	warmup  time.Duration
	settle  time.Duration
	timeout time.Duration
	reload  time.Duration
	verbose bool
}

func main() {
	var cfg config
	addrs := flag.String("addrs", "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003", "the cluster's nodes, comma-separated")
	flag.IntVar(&cfg.pid, "pid", 0, "process to kill with SIGKILL after -warmup; 0: kill nothing, just write for -warmup")
	flag.IntVar(&cfg.clients, "clients", 12, "goroutines writing at once, each to keys of one shard, the shards in turn")
	flag.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "writing time before the kill")
	flag.DurationVar(&cfg.settle, "settle", time.Second, "writing time after every shard took writes again")
	flag.DurationVar(&cfg.timeout, "timeout", time.Minute, "longest wait for every shard to take writes again")
	flag.DurationVar(&cfg.reload, "reload", 100*time.Millisecond, "the client's ClusterStateReloadInterval")
	flag.BoolVar(&cfg.verbose, "v", false, "print go-redis's own log (a line per refused connection)")
	flag.Parse()
	if !cfg.verbose {
		redis.SetLogger(quiet{})
	}
	cfg.addrs = strings.Split(*addrs, ",")
	if err := run(context.Background(), cfg); err != nil {
		fmt.Fprintln(os.Stderr, "failover:", err)
		os.Exit(1)
	}
}

// quiet drops go-redis's log lines.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// shard is one shard of CLUSTER SHARDS at the start.
type shard struct {
	master string // ip:port
	slots  int
}

// event is one acknowledged write.
type event struct {
	start, end int64 // unix nanoseconds
	shard      int
}

// recorder collects what the writers saw. Each writer appends to its own
// slice; the counters are shared.
type recorder struct {
	killAt     atomic.Int64   // unix nanoseconds; 0 before the kill
	firstAfter []atomic.Int64 // by shard: end of the first write started after the kill
	acked      atomic.Int64

	mu   sync.Mutex
	errs map[string]int
}

func run(ctx context.Context, cfg config) error {
	c := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                      cfg.addrs,
		ClusterStateReloadInterval: cfg.reload,
		DialTimeout:                500 * time.Millisecond,
		ReadTimeout:                10 * time.Second, // longer than a server's own bounds: see its answer
		WriteTimeout:               time.Second,
		PoolSize:                   cfg.clients,
		DisableIdentity:            true,
		MaintNotificationsConfig:   &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	defer c.Close()

	shards, slotShard, err := readShards(ctx, c)
	if err != nil {
		return err
	}
	if cfg.clients < len(shards) {
		return fmt.Errorf("-clients %d: want at least one per shard (%d)", cfg.clients, len(shards))
	}
	rec := &recorder{firstAfter: make([]atomic.Int64, len(shards)), errs: map[string]int{}}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	events := make([][]event, cfg.clients)
	prefix := fmt.Sprintf("failover:%d:%d", os.Getpid(), time.Now().UnixNano())
	var wg sync.WaitGroup
	for w := range cfg.clients {
		wg.Go(func() { events[w] = write(wctx, c, rec, slotShard, w%len(shards), fmt.Sprintf("%s:%d", prefix, w)) })
	}

	time.Sleep(cfg.warmup)
	if rec.acked.Load() == 0 {
		stop()
		wg.Wait()
		return fmt.Errorf("no write acknowledged in %v: %s", cfg.warmup, rec.describeErrors())
	}
	var killAt time.Time
	recovered := true
	if cfg.pid > 0 {
		p, err := os.FindProcess(cfg.pid)
		if err != nil {
			return err
		}
		killAt = time.Now()
		rec.killAt.Store(killAt.UnixNano())
		if err := p.Kill(); err != nil {
			return fmt.Errorf("kill %d: %v", cfg.pid, err)
		}
		recovered = waitAll(rec, cfg.timeout)
		time.Sleep(cfg.settle)
	}
	stop()
	wg.Wait()

	report(cfg, shards, rec, slices.Concat(events...), killAt)
	if !recovered {
		return fmt.Errorf("some shard took no write within %v of the kill", cfg.timeout)
	}
	return nil
}

// readShards reads CLUSTER SHARDS: each shard's master and slot count, and
// each slot's shard.
func readShards(ctx context.Context, c *redis.ClusterClient) ([]shard, []int, error) {
	cs, err := c.ClusterShards(ctx).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("CLUSTER SHARDS: %v", err)
	}
	slotShard := make([]int, slot.Count)
	for i := range slotShard {
		slotShard[i] = -1
	}
	shards := make([]shard, len(cs))
	for i, s := range cs {
		for _, n := range s.Nodes {
			if n.Role == "master" {
				shards[i].master = net.JoinHostPort(n.IP, fmt.Sprint(n.Port))
			}
		}
		for _, r := range s.Slots {
			for x := r.Start; x <= r.End && x < slot.Count; x++ {
				slotShard[x] = i
				shards[i].slots++
			}
		}
	}
	for x, s := range slotShard {
		if s < 0 {
			return nil, nil, fmt.Errorf("slot %d is in no shard", x)
		}
	}
	return shards, slotShard, nil
}

// write SETs keys of shard s, name:N for the N that fall in it, until ctx
// ends, and returns the acknowledged ones. A writer keeps to one shard so
// that a write stuck in a failing shard delays no other shard's writes.
func write(ctx context.Context, c *redis.ClusterClient, rec *recorder, slotShard []int, s int, name string) []event {
	var evs []event
	for seq := 0; ; seq++ {
		key := fmt.Sprintf("%s:%d", name, seq)
		if slotShard[slot.Of([]byte(key))] != s {
			continue
		}
		start := time.Now().UnixNano()
		err := c.Set(ctx, key, "0123456789abcdef", 0).Err()
		end := time.Now().UnixNano()
		if ctx.Err() != nil {
			return evs
		}
		if err != nil {
			rec.mu.Lock()
			rec.errs[errKind(err)]++
			rec.mu.Unlock()
			time.Sleep(5 * time.Millisecond) // do not spin on a refused connection
			continue
		}
		evs = append(evs, event{start: start, end: end, shard: s})
		rec.acked.Add(1)
		if k := rec.killAt.Load(); k != 0 && start > k {
			rec.firstAfter[s].CompareAndSwap(0, end)
		}
	}
}

// waitAll waits until every shard acknowledged a write started after the
// kill, or timeout passes.
func waitAll(rec *recorder, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		done := true
		for i := range rec.firstAfter {
			done = done && rec.firstAfter[i].Load() != 0
		}
		if done {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// errKind names a failed write: the error code of a server's reply, or
// the kind of network failure.
func errKind(err error) string {
	var re redis.Error
	if errors.As(err, &re) {
		code, _, _ := strings.Cut(re.Error(), " ")
		return code
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return "net-" + oe.Op
	}
	return "other"
}

func (r *recorder) describeErrors() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var kinds []string
	for k, n := range r.errs {
		kinds = append(kinds, fmt.Sprintf("%s×%d", k, n))
	}
	slices.Sort(kinds)
	if len(kinds) == 0 {
		return "none"
	}
	return strings.Join(kinds, ",")
}

func (r *recorder) failed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, v := range r.errs {
		n += v
	}
	return n
}

// report prints a line per shard and the summary line.
func report(cfg config, shards []shard, rec *recorder, evs []event, killAt time.Time) {
	slices.SortFunc(evs, func(a, b event) int { return cmp.Compare(a.end, b.end) })
	// Times are shown relative to the kill, or to the first write.
	origin := killAt.UnixNano()
	if killAt.IsZero() && len(evs) > 0 {
		origin = evs[0].start
	}
	rel := func(ns int64) string { return fmt.Sprintf("%+.3fs", float64(ns-origin)/1e9) }

	window, longest := int64(-1), int64(0)
	if !killAt.IsZero() {
		window = 0
	}
	fmt.Printf("%-5s %-21s %6s %8s %-22s %s\n", "shard", "master at start", "slots", "writes", "first write after kill", "longest gap between writes")
	for i, s := range shards {
		var n int
		var gap, gapAt, prev int64
		for _, e := range evs {
			if e.shard != i {
				continue
			}
			if n > 0 && e.end-prev > gap {
				gap, gapAt = e.end-prev, prev
			}
			prev = e.end
			n++
		}
		longest = max(longest, gap)
		first := "-"
		if !killAt.IsZero() {
			if f := rec.firstAfter[i].Load(); f != 0 {
				first = rel(f)
				if window >= 0 {
					window = max(window, f-origin)
				}
			} else {
				first, window = "never", -1
			}
		}
		fmt.Printf("%-5d %-21s %6d %8d %-22s %.3fs (from %s)\n", i, s.master, s.slots, n, first, float64(gap)/1e9, rel(gapAt))
	}
	if !killAt.IsZero() {
		fmt.Printf("killed pid %d at +0s; %d clients, cluster state reloaded every %v; failed writes: %s\n",
			cfg.pid, cfg.clients, cfg.reload, rec.describeErrors())
	}
	windowMS := int64(-1)
	if window >= 0 {
		windowMS = window / 1e6
	}
	fmt.Printf("window_ms=%d longest_gap_ms=%d writes=%d failed=%d\n", windowMS, longest/1e6, len(evs), rec.failed())
}

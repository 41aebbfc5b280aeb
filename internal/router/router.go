// Package router sits between connections and shards. It picks each
// command's shard with the consistent-hash ring, batches the commands of one
// read into one message per shard, admits or refuses them against the
// router's and the shards' capacities, runs commands that span shards while
// holding every shard involved, and hands the replies back in request order.
package router

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/data-cluster/data-cluster/internal/cmdstat"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/latency"
	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/ring"
	"github.com/data-cluster/data-cluster/internal/shard"
	"github.com/data-cluster/data-cluster/internal/slowlog"
	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/storage/arena"
	"github.com/data-cluster/data-cluster/internal/tracking"
)

// Shard is what the router needs of a shard. A shard that lives elsewhere
// needs only to implement it. Every method is safe for concurrent use except
// DB, which only the shard's current holder may call.
type Shard interface {
	// Reserve claims queue room for up to n commands and returns how many
	// it got; Unreserve gives back unused room.
	Reserve(n int) int
	Unreserve(n int)
	// Submit queues a batch whose commands were reserved; it never blocks.
	// The shard sends the batch back on its Done channel when it has run,
	// or, for a hold request, when the shard is held.
	Submit(b *shard.Batch)
	// TryServe runs a batch whose commands were reserved on the calling
	// goroutine, when the shard is idle, and sends it back on its Done
	// channel, reporting whether it did; otherwise it is to be submitted.
	TryServe(b *shard.Batch) bool
	// TryHold takes the shard for the calling goroutine, when it is idle,
	// instead of a hold request; Unhold gives it back.
	TryHold() bool
	Unhold()
	// DB returns the keyspace to the shard's holder.
	DB() *keyspace.DB
	// Park puts a blocked client's waiter in the shard's lists of the
	// keys it holds; for the shard's holder only (see shard.Shard.Park).
	Park(w *shard.Waiter)
	// Pending, Keys and Expires report the queue depth and key counts.
	Pending() int
	Keys() int64
	Expires() int64
	ExpiredKeys() int64
	Hits() (hits, misses int64)
	// Stats, Busy and AvgTTL report the counters of the commands the shard
	// ran, how many commands its queue refused, and the average time to
	// live of its keys with an expiry (milliseconds).
	Stats() *cmdstat.Table
	Busy() int64
	AvgTTL() int64
}

var _ Shard = (*shard.Shard)(nil)

// Config sets the router's topology and capacities.
type Config struct {
	Shards      int // number of shards (3)
	Vnodes      int // points per shard on the ring (64)
	ShardQueue  int // most commands waiting in one shard's queue (1024)
	RouterQueue int // most commands in flight across the server (2048)
	// NewEngine makes the storage engine of each shard; nil means
	// DefaultEngine, the arena engine.
	NewEngine func() storage.Engine
	// Shard tunes the shards; its QueueSize is taken from ShardQueue.
	Shard shard.Config
	// Engines, when not nil, are the shards' engines, one per shard (loaded
	// from disk, say); NewEngine is then not used.
	Engines []storage.Engine
	// Logs, when not nil, receive each shard's changes: Logs[i] is given to
	// shard i before it starts (see shard.Shard.SetLog).
	Logs []keyspace.Log
	// Slowlog receives the commands that run for its threshold or longer;
	// nil for none. It overrides Shard.Slowlog.
	Slowlog *slowlog.Log
	// Latency receives the slow events of the shards and keeps their
	// per-command latency histograms; nil for none. It overrides
	// Shard.Latency.
	Latency *latency.Monitor
	// Notify publishes every shard's keyspace events; nil for none. It
	// overrides Shard.Notify.
	Notify *notify.Notifier
	// Track is told of every key that changes on any shard, for
	// client-side caching; nil for none. It overrides Shard.Track.
	Track *tracking.Table
	// GatherPart is the most entries KEYS and LIST visit in one shard per
	// hold of that shard (1024); other clients' commands on the shard run
	// between parts. 0 means the default.
	GatherPart int
}

// DefaultEngine makes the storage engine a shard gets when the config names
// none: the arena engine, which keeps keys and values in a few large
// pointer-free chunks, so that memory per key is small and the garbage
// collector's work does not grow with the number of keys.
func DefaultEngine() storage.Engine { return arena.New() }

// DefaultGatherPart is the default of Config.GatherPart: a part holds its
// shard for some tens of microseconds (about 30 µs for KEYS * on 2 cores).
const DefaultGatherPart = 1024

// DefaultConfig returns the seed's defaults: 3 shards, 64 vnodes, queues of
// 1024 per shard and 2048 for the router, parts of 1024 entries.
func DefaultConfig() Config {
	return Config{Shards: 3, Vnodes: 64, ShardQueue: 1024, RouterQueue: 2048, Shard: shard.DefaultConfig(),
		GatherPart: DefaultGatherPart}
}

// Validate reports whether c can be used.
func (c Config) Validate() error {
	switch {
	case c.Shards < 1 || c.Shards > 1024:
		return fmt.Errorf("router: shards must be between 1 and 1024, got %d", c.Shards)
	case c.Vnodes < 1 || c.Vnodes > 4096:
		return fmt.Errorf("router: vnodes must be between 1 and 4096, got %d", c.Vnodes)
	case c.ShardQueue < 1:
		return fmt.Errorf("router: shard queue must be at least 1, got %d", c.ShardQueue)
	case c.RouterQueue < 1:
		return fmt.Errorf("router: router queue must be at least 1, got %d", c.RouterQueue)
	case c.GatherPart < 0:
		return fmt.Errorf("router: gather part must not be negative, got %d", c.GatherPart)
	case c.Engines != nil && len(c.Engines) != c.Shards, c.Logs != nil && len(c.Logs) != c.Shards:
		return fmt.Errorf("router: %d engines and %d logs for %d shards", len(c.Engines), len(c.Logs), c.Shards)
	}
	return nil
}

// Router routes commands to shards. It is safe for concurrent use; each
// connection uses its own Pipeline.
type Router struct {
	ring       *ring.Ring
	shards     []Shard
	limit      int64 // RouterQueue
	shardQueue int64 // ShardQueue

	gatherPart int           // entries per part of a Gather command
	gatherWait time.Duration // how long a part waits for room before BUSY

	inflight   atomic.Int64
	busyRouter atomic.Int64
	busyShard  atomic.Int64

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// ErrClosed is returned for work submitted after Close.
var ErrClosed = errors.New("router: closed")

// New builds the ring and starts one goroutine per shard. Close stops them.
func New(cfg Config) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rg, err := ring.New(cfg.Shards, cfg.Vnodes)
	if err != nil {
		return nil, err
	}
	newEngine := cfg.NewEngine
	if newEngine == nil {
		newEngine = DefaultEngine
	}
	scfg := cfg.Shard
	if scfg == (shard.Config{}) {
		scfg = shard.DefaultConfig()
	}
	scfg.QueueSize = cfg.ShardQueue
	if cfg.Slowlog != nil {
		scfg.Slowlog = cfg.Slowlog
	}
	if cfg.Latency != nil {
		scfg.Latency = cfg.Latency
	}
	if cfg.Notify != nil {
		scfg.Notify = cfg.Notify
	}
	if cfg.Track != nil {
		scfg.Track = cfg.Track
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Router{ring: rg, limit: int64(cfg.RouterQueue), shardQueue: int64(cfg.ShardQueue),
		gatherPart: cfg.GatherPart, gatherWait: gatherWait, cancel: cancel}
	if r.gatherPart == 0 {
		r.gatherPart = DefaultGatherPart
	}
	// Every shard's count of keys, for SCAN: filled in below, before any
	// command runs.
	counts := make([]*shard.Shard, cfg.Shards)
	keys := func(i int) int64 { return counts[i].Keys() }
	for i := range cfg.Shards {
		s, err := shard.New(i, cfg.engine(i, newEngine), rg, scfg)
		if err != nil {
			cancel()
			r.wg.Wait()
			return nil, err
		}
		if cfg.Logs != nil {
			s.SetLog(cfg.Logs[i])
		}
		s.SetShardKeys(keys)
		counts[i] = s
		r.shards = append(r.shards, s)
		r.wg.Go(func() { s.Run(ctx) })
	}
	return r, nil
}

// Close stops the shards. Callers must have finished every Pipeline first.
func (r *Router) Close() {
	r.cancel()
	r.wg.Wait()
}

// Ring returns the ring that places keys.
func (r *Router) Ring() *ring.Ring { return r.ring }

// Shards returns the shards, indexed by number.
func (r *Router) Shards() []Shard { return r.shards }

// InFlight returns the commands admitted and not yet answered.
func (r *Router) InFlight() int { return int(r.inflight.Load()) }

// Busy returns how many commands were refused for lack of room in the router
// and in a shard's queue.
func (r *Router) Busy() (router, shard int64) {
	return r.busyRouter.Load(), r.busyShard.Load()
}

// admit claims room for up to n commands in the router and returns how many
// it got.
func (r *Router) admit(n int) int {
	for {
		cur := r.inflight.Load()
		room := r.limit - cur
		if room <= 0 {
			return 0
		}
		g := min(int64(n), room)
		if r.inflight.CompareAndSwap(cur, cur+g) {
			return int(g)
		}
	}
}

func (r *Router) done(n int) { r.inflight.Add(-int64(n)) }

func nowMillis() int64 { return time.Now().UnixMilli() }

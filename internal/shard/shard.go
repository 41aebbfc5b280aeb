// Package shard runs a shard: one goroutine that alone owns a keyspace and
// executes the batches of commands that reach it through a bounded queue.
//
// A shard can also be held: a holder (a connection running a command that
// spans shards) asks for it through the same queue, and once the shard
// reaches that request it hands its keyspace over and waits until released.
// Ownership moves with the hand-over, so the data never has two users at once
// and needs no lock.
package shard

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/latency"
	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/ring"
	"github.com/data-cluster/data-cluster/internal/slowlog"
	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/tracking"
)

// Config tunes a shard.
type Config struct {
	// QueueSize is the most commands that may wait in the shard's queue; a
	// command beyond it is refused by Reserve.
	QueueSize int
	// ExpireInterval is how often the active expiry cycle runs (Redis: 100ms).
	ExpireInterval time.Duration
	// ExpireSample is how many keys with an expiry one round samples (Redis: 20).
	ExpireSample int
	// ExpireRounds bounds the rounds of one cycle.
	ExpireRounds int
	// Slowlog receives the commands that run for its threshold or longer;
	// nil for none.
	Slowlog *slowlog.Log
	// Latency receives the commands, expiry cycles and evictions that run
	// for its threshold or longer, and keeps per-command latency
	// histograms; nil for none.
	Latency *latency.Monitor
	// Eviction bounds the shard's memory (maxmemory); the zero value sets
	// no limit.
	Eviction keyspace.Eviction
	// Paused, when not nil, says whether clients are paused (CLIENT
	// PAUSE): while it holds true the shard neither expires nor evicts
	// keys (keyspace.DB.SetPaused). It is read before each batch, expiry
	// cycle and hold.
	Paused *atomic.Bool
	// Notify publishes the keyspace events of the shard's commands, its
	// expiry and its evictions (keyspace.DB.SetNotifier); nil for none.
	Notify *notify.Notifier
	// Track is told of every key that changes, for client-side caching
	// (keyspace.DB.SetTracker); nil for none.
	Track *tracking.Table
}

// DefaultConfig returns the configuration used when none is given.
func DefaultConfig() Config {
	return Config{QueueSize: 1024, ExpireInterval: 100 * time.Millisecond, ExpireSample: 20, ExpireRounds: 16}
}

// ErrConfig is returned by New for an invalid Config.
var ErrConfig = errors.New("shard: invalid config")

// Validate reports whether c can be used.
func (c Config) Validate() error {
	if c.QueueSize < 1 || c.ExpireInterval <= 0 || c.ExpireSample < 1 || c.ExpireRounds < 1 {
		return ErrConfig
	}
	return nil
}

// Cmd is one command of a batch.
type Cmd struct {
	Spec *command.Spec
	Args [][]byte
	// Wait, for a blocking command, is its client's waiter: the shard runs
	// the command's Try and, when it finds nothing, parks the waiter (see
	// Waiter) instead of replying. Nil for other commands.
	Wait *Waiter
	// Track, when not 0, is the client whose reads the command's keys are
	// remembered for, for client-side caching (command.Ctx.Track).
	Track int64
}

// Batch is one message to a shard: commands to run in order, or, when
// Release is not nil, a request to hold the shard.
//
// The sender owns a Batch until it submits it, and again once the shard has
// sent it back on Done.
type Batch struct {
	Cmds []Cmd
	// W receives the replies, one after the other; Ends[i] is the offset in
	// W just past the reply to Cmds[i].
	W    resp.Writer
	Ends []int
	// Done receives the batch when its commands have run, or, for a hold
	// request, when the shard is held.
	Done chan *Batch
	// Release, for a hold request, is closed or sent to by the holder to
	// give the shard back.
	Release chan struct{}
	// Client is the connection the commands come from, named by the slow
	// log; it may be nil. ClientID is its id, 0 for none, for the clients
	// tracking keys with NOLOOP.
	Client   slowlog.Client
	ClientID int64
	// NoTouch runs the commands, but TOUCH, without changing the usage of
	// the keys they find (CLIENT NO-TOUCH; keyspace.DB.SetNoTouch).
	NoTouch bool
	// From is the index of the first command of Cmds to run: those before
	// it ran in an earlier submission of the same batch.
	From int
	// MaxReply, when positive, bounds the replies of one submission: the
	// shard runs no more of Cmds once W holds MaxReply bytes, and sends the
	// batch back with len(Ends) < len(Cmds). The sender takes the replies,
	// then submits the batch again with From = len(Ends) for the rest (see
	// router.Pipeline.Flush). A command always runs when W is below it, so
	// W holds at most MaxReply bytes plus one reply.
	MaxReply int
	// Long is set when a command of the batch runs a script, which may
	// run long: the shard runs no batch after it in the same group.
	Long bool
	// Refused is set on a hold request sent back by Drain: the shard was
	// not held, and W holds the busy script's error.
	Refused bool
	// Durable, set by the sender, has a shard whose log is an AsyncLog
	// send the batch back once its records are handed to the log, without
	// waiting for them to be durable; DurableAt is then the position the
	// log must reach (AsyncLog.WaitDurable) before the replies go out, 0
	// when they may go at once. The sender waits itself, once for the
	// batches of many clients (the server's io_uring loop), and sets
	// DurableAt back to 0 before it submits the batch again.
	Durable   bool
	DurableAt int64
	// Wake, when not nil, is called after the batch was sent back on Done,
	// for a receiver that does not sit waiting on Done (a parked client's
	// connection). It must not block.
	Wake func()
}

// finish sends b back to its sender.
func (b *Batch) finish() {
	wake := b.Wake // b belongs to the receiver once sent
	b.Done <- b
	if wake != nil {
		wake()
	}
}

// Reset empties b for reuse, keeping its buffers.
func (b *Batch) Reset() {
	clear(b.Cmds)
	b.Cmds = b.Cmds[:0]
	b.W.Reset()
	b.Ends = b.Ends[:0]
	b.From = 0
	b.Release = nil
	b.Long = false
}

// Shard is one partition of the keyspace and the goroutine that owns it.
// Reserve, Submit and the counters are safe for concurrent use; DB is for the
// holder only.
type Shard struct {
	id    int
	cfg   Config
	db    *keyspace.DB
	queue chan *Batch

	pending atomic.Int64 // commands reserved and not yet taken off the queue
	expires atomic.Int64
	expired atomic.Int64
	hits    atomic.Int64
	// expireNow is set while an expiry marker is queued.
	expireNow atomic.Bool
	misses    atomic.Int64

	ring *ring.Ring
	ctx  command.Ctx

	obs // per-command counters, BUSY count, average TTL (stats.go)

	waiters waiters // clients parked on keys (block.go)

	mem    memStats                          // memory and evictions for INFO (memory.go)
	nextEv atomic.Pointer[keyspace.Eviction] // set by SetEviction, taken by Run (memory.go)

	group group // batches waiting for the log to be committed (persist.go)

	run   []*Batch  // the group of batches being run (see gather)
	ahead Lookahead // what the group's commands look up, to prefetch

	// own is held by whoever runs on the shard's state: Run's goroutine
	// but while it waits for its queue, when a sender may take it to run
	// a batch itself (TryServe).
	own sync.Mutex
}

// New returns shard number id over engine e, in a server whose keys are
// placed by r. Call Run to start it.
func New(id int, e storage.Engine, r *ring.Ring, cfg Config) (*Shard, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Shard{
		id:    id,
		cfg:   cfg,
		db:    newKeyspace(e, cfg.Eviction, cfg.Notify, cfg.Track),
		queue: make(chan *Batch, cfg.QueueSize+2), // room for the two markers
		ring:  r,
		obs:   newObs(cfg.Slowlog, cfg.Latency),
	}
	// e may hold keys already (a data directory's): count them for SCAN.
	s.db.PublishLen()
	s.own.Lock() // Run's from its start: no batch runs on a shard not started
	return s, nil
}

// SetShardKeys gives the shard's commands the key counts of the server's
// shards (command.Ctx.ShardKeys). Call it before Run.
func (s *Shard) SetShardKeys(fn func(i int) int64) { s.ctx.ShardKeys = fn }

// ID returns the shard's number.
func (s *Shard) ID() int { return s.id }

// Reserve claims room in the queue for up to n commands and returns how many
// it got, possibly 0. Every reserved command must then be submitted; every
// command it did not get is counted as refused (see Busy).
func (s *Shard) Reserve(n int) int {
	limit := int64(s.cfg.QueueSize)
	for {
		cur := s.pending.Load()
		room := limit - cur
		if room <= 0 {
			s.busy.Add(int64(n))
			return 0
		}
		g := min(int64(n), room)
		if s.pending.CompareAndSwap(cur, cur+g) {
			if g < int64(n) {
				s.busy.Add(int64(n) - g)
			}
			return int(g)
		}
	}
}

// Unreserve gives back room claimed by Reserve and not used.
func (s *Shard) Unreserve(n int) { s.pending.Add(-int64(n)) }

// Submit queues b, whose commands (or, for a hold request, one unit) must
// have been reserved. It never blocks.
func (s *Shard) Submit(b *Batch) { s.queue <- b }

// Pending returns how many commands wait in the queue.
func (s *Shard) Pending() int { return int(s.pending.Load()) }

// Keys returns the number of keys as of the last batch run.
func (s *Shard) Keys() int64 { return s.db.PublishedLen() }

// Expires returns the number of keys with an expiry as of the last batch run.
func (s *Shard) Expires() int64 { return s.expires.Load() }

// ExpiredKeys returns how many keys have expired on this shard.
func (s *Shard) ExpiredKeys() int64 { return s.expired.Load() }

// DB returns the shard's keyspace. Only the holder of the shard may call it,
// between the hold being granted and released.
func (s *Shard) DB() *keyspace.DB { return s.db }

// Run executes batches until ctx is done. It is called once, on the shard's
// own goroutine.
//
// The loop waits on the queue alone: the active expiry cycle and the stop
// request arrive through the queue too, as marker batches, so that taking
// the next batch is one channel receive rather than a select.
func (s *Shard) Run(ctx context.Context) {
	go s.tick(ctx)
	stop := context.AfterFunc(ctx, func() { s.queue <- stopMark })
	defer stop()
	var next *Batch // taken off the queue while gathering a group, not yet run
	for {
		b := next
		next = nil
		if b == nil {
			s.own.Unlock()
			b = <-s.queue
			s.own.Lock()
		}
		if s.nextEv.Load() != nil {
			s.takeEviction()
		}
		switch {
		case b == stopMark:
			s.stopLog()
			return
		case b == expireMark:
			s.commit()
			s.syncPause()
			s.expireNow.Store(false)
			start := time.Now()
			s.db.SetNow(start.UnixMilli())
			s.db.ActiveExpire(s.cfg.ExpireSample, s.cfg.ExpireRounds)
			s.lat.Add(latency.ExpireCycle, time.Since(start))
			s.sweepWaiters()
			s.sampleTTL()
			s.publish()
			s.publishMemory()
			s.db.Tracker().Broadcast()
		case b.Release != nil:
			s.hold(ctx, b)
		default:
			next = s.gather(b)
			s.serve(s.run)
			clear(s.run)
		}
	}
}

// TryServe runs b, a batch of commands its sender reserved room for,
// on the calling goroutine when the shard's goroutine is idle (waiting for
// an empty queue), and sends it back on b.Done as Run would; it reports
// whether it did. A batch that runs a script or a blocking command, or
// one that finds the shard at work or batches queued, goes through the
// queue (Submit). The shard's state belongs to whoever holds own, so one
// goroutine alone still runs on it at any moment; an unpipelined request
// so costs its connection no hand-over to the shard's goroutine and back.
// Run keeps own once it returns: nothing runs on a stopped shard.
func (s *Shard) TryServe(b *Batch) bool {
	if b.Long || b.Release != nil || !s.own.TryLock() {
		return false
	}
	defer s.own.Unlock()
	if len(s.queue) > 0 {
		return false
	}
	for _, c := range b.Cmds[b.From:] {
		if c.Wait != nil {
			return false
		}
	}
	if s.nextEv.Load() != nil {
		s.takeEviction()
	}
	s.run = append(s.run[:0], b)
	s.serve(s.run)
	clear(s.run)
	return true
}

// maxRun bounds the batches run as one group.
const maxRun = 64

// gather puts b in s.run with the command batches already waiting behind it,
// up to maxRun, so that they are run as one group. It returns the batch that
// ended the group, a marker or a hold request, which is to be handled next;
// nil if none.
//
// A batch that runs a script (Long) is a group of its own: the replies of
// a group go out when all of it has run, so no batch may wait for a
// script that turns out busy, and the batches behind it stay in the
// queue, where Drain answers them.
func (s *Shard) gather(b *Batch) (next *Batch) {
	s.run = append(s.run[:0], b)
	for len(s.run) < maxRun && len(s.queue) > 0 && !b.Long {
		b := <-s.queue
		if b == stopMark || b == expireMark || b.Release != nil || b.Long {
			return b
		}
		s.run = append(s.run, b)
	}
	return nil
}

// Drain answers everything that reaches the shard's queue until stop is
// closed, while a busy script keeps the shard from it (the script runs on
// the shard's goroutine, or a connection holds the shard for it): each
// command gets the error msg (Redis's "BUSY Redis is busy running a
// script…", without the "-"), counted as refused, and a hold request is
// sent back with Refused set and the error in its W. The stop request is
// given back to the shard when the drain ends; an expiry request is
// dropped. It is called on a goroutine of its own, and runs alongside the
// shard's goroutine only while that one does not read the queue.
func (s *Shard) Drain(stop <-chan struct{}, msg string) {
	stopped := false
	defer func() {
		if stopped {
			s.queue <- stopMark
		}
	}()
	for {
		var b *Batch
		select {
		case <-stop:
			return
		case b = <-s.queue:
		}
		select {
		case <-stop:
			// The script has ended (or this drain started late): b is the
			// shard's to run. Its room in the queue is still reserved.
			switch b {
			case stopMark:
				stopped = true
			case expireMark:
				s.expireNow.Store(false)
			default:
				s.queue <- b
			}
			return
		default:
		}
		switch {
		case b == stopMark:
			stopped = true
		case b == expireMark:
			s.expireNow.Store(false)
		case b.Release != nil:
			s.pending.Add(-1)
			b.Refused = true
			b.W.AppendError(msg)
			b.finish()
		default:
			s.pending.Add(-int64(len(b.Cmds)))
			s.busy.Add(int64(len(b.Cmds)))
			for _, c := range b.Cmds {
				if command.Line[c.Spec.Name] == c.Spec {
					b.W.AppendRaw([]byte(msg + "\n"))
				} else {
					b.W.AppendError(msg)
				}
				b.Ends = append(b.Ends, b.W.Len())
			}
			b.finish()
		}
	}
}

// Marker batches sent through the queue by the shard's own helpers.
var (
	stopMark   = &Batch{}
	expireMark = &Batch{}
)

// tick asks for an active expiry cycle every ExpireInterval. A tick that
// finds the previous request still queued, or the queue full, is skipped:
// the shard is busy and the next tick comes soon.
func (s *Shard) tick(ctx context.Context) {
	t := time.NewTicker(s.cfg.ExpireInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if s.expireNow.Swap(true) {
				continue
			}
			select {
			case s.queue <- expireMark:
			default:
				s.expireNow.Store(false)
			}
		}
	}
}

// hold hands the shard over to the holder that sent b and waits until it is
// released.
func (s *Shard) hold(ctx context.Context, b *Batch) {
	s.beforeHold()
	b.Done <- b
	select {
	case <-b.Release:
	case <-ctx.Done():
	}
	s.afterHold()
}

// TryHold takes the shard for the calling goroutine at once, as a hold
// request (a Batch with Release) takes it through the queue, when the
// shard's goroutine is idle, as TryServe runs a batch: the caller owns the
// keyspace until it calls Unhold. It returns false, taking nothing, when the
// shard is at work or batches wait in its queue. The caller has reserved
// room for one command (Reserve), as for a hold request.
func (s *Shard) TryHold() bool {
	if !s.own.TryLock() {
		return false
	}
	if len(s.queue) > 0 {
		s.own.Unlock()
		return false
	}
	if s.nextEv.Load() != nil {
		s.takeEviction()
	}
	s.beforeHold()
	return true
}

// Unhold gives back a shard TryHold took, doing what the end of a hold
// request does.
func (s *Shard) Unhold() {
	s.afterHold()
	s.own.Unlock()
}

// beforeHold readies the shard to be held: its hold request is off the
// queue and the log committed.
func (s *Shard) beforeHold() {
	s.pending.Add(-1)
	s.syncPause()
	s.commit()
}

// afterHold serves the blocked clients the holder's changes woke,
// publishes the counts and tells the tracking clients, once the holder has
// given the shard back.
func (s *Shard) afterHold() {
	ready := s.db.HasReady()
	if ready {
		s.ctx.Single(s.db, s.id, s.ring)
		s.serveWaiters()
	}
	s.publish() // before the waiters' replies, as serve does
	if ready {
		s.reply(nil)
	}
	s.db.Tracker().Broadcast() // what the holder changed
}

// serve runs a group of command batches and sends each back. The keys the
// commands name are first handed to the keyspace to read ahead (see
// storage.Prefetcher), since looking them up is most of a simple command's
// time in a large keyspace.
func (s *Shard) serve(run []*Batch) {
	n := 0
	for _, b := range run {
		n += len(b.Cmds) - b.From
		for _, c := range b.Cmds[b.From:] {
			s.ahead.Add(c.Spec, c.Args)
		}
	}
	s.pending.Add(-int64(n))
	s.syncPause()
	now := time.Now()
	s.db.SetNow(now.UnixMilli())
	s.ahead.Prefetch(s.db)
	s.ctx.Single(s.db, s.id, s.ring)
	for i, b := range run {
		if i > 0 {
			now = time.Now()
		}
		s.ctx.W = &b.W
		s.ctx.Writer = b.ClientID
		s.rec.Begin(now, &b.W)
		for _, c := range b.Cmds[b.From:] {
			if b.MaxReply > 0 && b.W.Len() >= b.MaxReply {
				break // the sender submits the rest again (Batch.MaxReply)
			}
			if b.NoTouch {
				s.db.SetNoTouch(c.Spec.Name != "touch")
			}
			if c.Wait == nil {
				s.ctx.Track = c.Track
				Exec(&s.ctx, c.Spec, c.Args)
				s.ctx.Track = 0
			} else {
				s.tryOrPark(c)
			}
			s.rec.Done(c.Spec, c.Args, b.Client)
			b.Ends = append(b.Ends, b.W.Len())
			if s.db.HasReady() {
				s.serveWaiters()
			}
		}
		s.rec.End(b, b.Client)
		if b.NoTouch {
			s.db.SetNoTouch(false)
		}
	}
	s.ctx.W, s.ctx.Writer = nil, 0
	s.rec.Flush()
	s.publish()
	s.db.Tracker().Broadcast() // before the replies: a client told of them reads after
	s.reply(run)
}

// syncPause tells the keyspace whether clients are paused (Config.Paused).
func (s *Shard) syncPause() {
	if s.cfg.Paused != nil {
		s.db.SetPaused(s.cfg.Paused.Load())
	}
}

// Exec runs one command with c and recovers a panic in its handler: the
// reply so far is discarded, the client gets an error, the panic is logged
// with its stack, and the server goes on.
func Exec(c *command.Ctx, spec *command.Spec, args [][]byte) {
	start := c.W.Len()
	defer func() {
		if p := recover(); p != nil {
			recovered(c, spec, start, p)
		}
	}()
	if spec.Flags&command.DenyOOM != 0 && c.RejectOOM(spec) {
		return
	}
	c.BeginTracking()
	defer c.EndTracking(spec, args) // a panic leaves no writer named either
	spec.Run(c, args)
}

func (s *Shard) publish() {
	s.db.PublishLen()
	s.expires.Store(int64(s.db.ExpiresLen()))
	st := s.db.Stats()
	s.expired.Store(st.ExpiredKeys)
	s.hits.Store(st.KeyspaceHits)
	s.misses.Store(st.KeyspaceMiss)
}

// Hits returns the keyspace hits and misses counted on this shard.
func (s *Shard) Hits() (hits, misses int64) { return s.hits.Load(), s.misses.Load() }

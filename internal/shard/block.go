package shard

import (
	"log/slog"
	"runtime"
	"runtime/debug"
	"slices"
	"sync/atomic"

	"github.com/data-cluster/data-cluster/internal/command"
)

// Waiter is a client parked in a blocking command (see command.Blocking)
// until a write gives one of its keys something to pop, its timeout
// passes, or it is cancelled. Its connection makes it with NewWaiter and
// parks it through the router. The shards of its keys keep it in lists,
// one per key, oldest first: a waiter costs no goroutine, no hold of a
// shard and no room in any queue while it waits. The shard that serves it
// sends Reply back on Reply.Done once the pop is in the log, as it sends
// the batches of the writes it runs, then calls Reply.Wake.
//
// Its state moves once from Waiting to Served, by the shard that serves it,
// or to a cancelled state, set by Cancel (timeout, disconnect, CLIENT
// UNBLOCK, shutdown): whichever comes first wins, so a waiter is served at
// most once, by one shard even when it waits on keys of several, and never
// once it was cancelled. A waiter that is cancelled stays in the lists
// until its shards next sweep them or meet it, and is skipped meanwhile.
//
// A BLMOVE or BRPOPLPUSH waiter whose destination lives on another shard
// than its source is not served by the source's shard: the shard moves it
// to Woken instead and sends its empty Reply, and the connection runs the
// command again holding both shards, after Rewait (see command.Blocking).
type Waiter struct {
	Spec *command.Spec
	Args [][]byte // a copy of the command's arguments, the waiter's own
	Keys [][]byte // its distinct keys, slices of Args
	// Watch are the keys it waits on: Keys but a destination that is not
	// also a source (command.Blocking.Dest).
	Watch [][]byte
	// Reply receives the reply; the connection sets its protocol and
	// Wake, and receives it on Done, which NewWaiter makes with room for
	// it.
	Reply Batch

	state atomic.Int32
	// lists are the lists of the shards it is parked in, set while it is
	// parked and read once the parking is over (see Parked).
	lists  []*waiters
	parked bool
}

// The states of a Waiter.
const (
	Waiting   int32 = iota // parked, or about to be
	serving                // a shard is running Serve for it
	Served                 // its reply is on the way to Reply.Done
	TimedOut               // its timeout passed, or CLIENT UNBLOCK … TIMEOUT
	Unblocked              // CLIENT UNBLOCK … ERROR
	Gone                   // its client went away, or the server stops
	Woken                  // its connection is to run the command again
)

// NewWaiter returns a waiter for the blocking command spec with arguments
// args, which it copies.
func NewWaiter(spec *command.Spec, args [][]byte) *Waiter {
	w := &Waiter{Spec: spec, Args: CloneArgs(args)}
	w.Reply.Done = make(chan *Batch, 1)
	w.Keys = distinct(spec.Keys(w.Args, nil))
	w.Watch = distinct(spec.Block.Watch(spec, w.Args))
	return w
}

// distinct returns keys without repeats.
func distinct(keys [][]byte) [][]byte {
	var out [][]byte
	for _, k := range keys {
		if !slices.ContainsFunc(out, func(o []byte) bool { return string(o) == string(k) }) {
			out = append(out, k)
		}
	}
	return out
}

// Rewait makes a Woken waiter, whose Reply its connection has received,
// ready to run its command again through the router.
func (w *Waiter) Rewait() {
	w.Reply.W.Reset()
	w.lists = w.lists[:0]
	w.parked = false
	w.state.Store(Waiting)
}

// CloneArgs copies a command's arguments into one buffer of their own.
func CloneArgs(args [][]byte) [][]byte {
	n := 0
	for _, a := range args {
		n += len(a)
	}
	buf := make([]byte, 0, n)
	out := make([][]byte, len(args))
	for i, a := range args {
		buf = append(buf, a...)
		out[i] = buf[len(buf)-len(a) : len(buf) : len(buf)]
	}
	return out
}

// Parked reports whether the attempt that ran the command parked the
// waiter rather than answering it. The connection reads it once the
// attempt's batch has come back or the shards it held are released.
func (w *Waiter) Parked() bool { return w.parked }

// State returns the waiter's state.
func (w *Waiter) State() int32 { return w.state.Load() }

// Cancel moves a waiting waiter to state st (TimedOut, Unblocked or Gone)
// and reports whether it did: false when it was served first. It may be
// called from any goroutine; when a shard is serving the waiter at that
// moment, it waits for the outcome, which takes no longer than one pop.
func (w *Waiter) Cancel(st int32) bool {
	for {
		if w.state.CompareAndSwap(Waiting, st) {
			w.leave()
			return true
		}
		if w.state.Load() != serving {
			return false
		}
		runtime.Gosched()
	}
}

// claim takes the waiter for serving and reports whether it got it: false
// when it is served or cancelled. A waiter that another shard is serving
// is waited for, as in Cancel.
func (w *Waiter) claim() bool {
	for {
		if w.state.CompareAndSwap(Waiting, serving) {
			return true
		}
		if w.state.Load() != serving {
			return false
		}
		runtime.Gosched()
	}
}

// done reports whether the waiter is served or cancelled.
func (w *Waiter) done() bool { return w.state.Load() > serving }

// leave tells the shards whose lists still hold the waiter to sweep it.
func (w *Waiter) leave() {
	for _, l := range w.lists {
		l.gone.Add(1)
	}
}

// waiters is a shard's lists of parked clients, one per key, oldest first.
// Like the keyspace, it belongs to the shard's goroutine or to its holder,
// but for gone, which anyone may add to.
type waiters struct {
	lists map[string][]*Waiter
	// gone counts the waiters that were served elsewhere or cancelled
	// since the lists were last swept; the expiry cycle sweeps them.
	gone   atomic.Int64
	ready  []string // the keys being served
	served []*Batch // replies to send with the next group of batches
}

// Park puts w at the end of the lists of its keys that live on this shard,
// so that the next write to one of them serves it. Only the shard's holder
// may call it, between the hold being granted and released (the shard
// parks the waiters of the commands it runs itself).
func (s *Shard) Park(w *Waiter) {
	wt := &s.waiters
	if wt.lists == nil {
		wt.lists = make(map[string][]*Waiter)
	}
	for _, k := range w.Watch {
		if s.ring.Lookup(k) != s.id {
			continue
		}
		wt.lists[string(k)] = append(wt.lists[string(k)], w)
		s.db.Block(k)
	}
	w.lists = append(w.lists, wt)
	w.parked = true
}

// tryOrPark runs a blocking command's first attempt and parks its waiter
// when the attempt finds nothing.
func (s *Shard) tryOrPark(c Cmd) {
	if !Try(&s.ctx, c.Spec, c.Args) {
		s.Park(c.Wait)
	}
}

// Try runs a blocking command's Try with c (see command.Blocking) and
// recovers a panic in it as Exec does, which counts as an answer.
func Try(c *command.Ctx, spec *command.Spec, args [][]byte) (answered bool) {
	start := c.W.Len()
	defer func() {
		if p := recover(); p != nil {
			recovered(c, spec, start, p)
			answered = true
		}
	}()
	if spec.Flags&command.DenyOOM != 0 && c.RejectOOM(spec) {
		return true
	}
	return spec.Block.Try(c, args)
}

// recovered answers a command whose handler panicked with an error, in
// place of what it wrote from start on, and logs the panic.
func recovered(c *command.Ctx, spec *command.Spec, start int, p any) {
	c.W.Truncate(start)
	c.W.AppendError("ERR internal error while running '" + spec.Name + "'")
	slog.Error("panic in command handler", "command", spec.Name, "panic", p, "stack", string(debug.Stack()))
}

// serveWaiters serves the clients parked on the keys written since the
// last call, oldest first, as long as they find something to pop. It runs
// after each command, and after a holder (EXEC, a command across shards)
// releases the shard, so that waiters see the whole of what woke them.
// s.ctx must be set up for the shard.
func (s *Shard) serveWaiters() {
	wt := &s.waiters
	saved := s.ctx.W
	for s.db.HasReady() {
		wt.ready = s.db.TakeReady(wt.ready[:0])
		for _, k := range wt.ready {
			s.serveKey(k)
		}
	}
	clear(wt.ready)
	s.ctx.W = saved
}

// serveKey serves key's waiters until one finds nothing to pop, and drops
// those served or cancelled from the list.
func (s *Shard) serveKey(k string) {
	wt := &s.waiters
	l := wt.lists[k]
	if len(l) == 0 {
		return
	}
	key := []byte(k)
	for _, w := range l {
		if !w.claim() {
			continue
		}
		s.ctx.W = &w.Reply.W
		away := s.away(w)
		if !s.serveOne(w, key) {
			w.state.Store(Waiting)
			if _, _, ok := s.db.Lookup(key); !ok {
				break // nothing left: the others would find nothing either
			}
			continue // a key of a type this waiter does not pop
		}
		if away {
			// The connection moves the element, or finds it gone and
			// parks again; the next waiters are served meanwhile.
			w.Reply.W.Reset()
			w.state.Store(Woken)
		} else {
			w.state.Store(Served)
		}
		if len(w.Watch) > 1 {
			w.leave() // its other lists, here or on other shards
		}
		wt.served = append(wt.served, &w.Reply)
	}
	l = slices.DeleteFunc(l, (*Waiter).done)
	if len(l) == 0 {
		delete(wt.lists, k)
		s.db.Unblock(key)
		return
	}
	wt.lists[k] = l
}

// away reports whether w pushes to a key of another shard, so that the
// shard wakes it rather than serving it.
func (s *Shard) away(w *Waiter) bool {
	d := w.Spec.Block.Dest
	return d > 0 && s.ring.Lookup(w.Args[d]) != s.id
}

// serveOne runs w's Serve for key, recovering a panic as Exec does, which
// counts as served.
func (s *Shard) serveOne(w *Waiter, key []byte) (served bool) {
	start := s.ctx.W.Len()
	defer func() {
		if p := recover(); p != nil {
			recovered(&s.ctx, w.Spec, start, p)
			served = true
		}
	}()
	return w.Spec.Block.Serve(&s.ctx, w.Args, key)
}

// sweepWaiters drops the waiters served elsewhere or cancelled from the
// lists, when some were since the last sweep.
func (s *Shard) sweepWaiters() {
	wt := &s.waiters
	if wt.gone.Swap(0) == 0 {
		return
	}
	for k, l := range wt.lists {
		l = slices.DeleteFunc(l, (*Waiter).done)
		if len(l) == 0 {
			delete(wt.lists, k)
			s.db.Unblock([]byte(k))
			continue
		}
		wt.lists[k] = l
	}
}

// Parked returns the number of entries in the shard's lists of waiters,
// for tests. Only the shard's holder may call it.
func (s *Shard) Parked() int {
	n := 0
	for _, l := range s.waiters.lists {
		n += len(l)
	}
	return n
}

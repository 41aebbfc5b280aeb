package router

import (
	"log/slog"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/keyspace"
)

const (
	// gatherWait is how long a part of a Gather command waits for room in
	// the router and the shard's queue before the command is answered BUSY.
	gatherWait = time.Second
	// gatherRetry is how long a part sleeps before it looks for room again.
	gatherRetry = time.Millisecond
	// gatherKeep is the most bytes of gathered keys a pipeline keeps for its
	// next Gather command; a larger buffer is dropped after its reply, so
	// that an idle connection that once ran KEYS on a million keys does not
	// hold their copy.
	gatherKeep = 64 << 10
)

// gather runs an AllShards command that has a Gather (KEYS, LIST), after
// flushing what came before it. It reads the shards in ascending order, each
// in parts of at most gatherPart entries: for each part it holds that shard
// alone through the shard's queue, like any other command, copies the keys
// the part keeps into p.gathered, and gives the shard back. Other clients'
// commands thus run between parts, and no shard waits for another. Once the
// last shard is done, the reply is made from every key gathered.
//
// A part that finds no room in the router or the shard's queue waits for
// some, gatherRetry at a time, for up to gatherWait; then the command is
// answered BUSY. That is safe because the command only reads: what it read
// so far is dropped and nothing was changed.
//
// The command is timed without its waits for the shards.
func (p *Pipeline) gather(spec *command.Spec, args [][]byte) {
	p.Flush()
	g := spec.Gather
	defer p.dropGathered()
	m := p.rec.Start(&p.out.W)
	for i := range p.r.shards {
		for cursor := uint64(0); ; {
			p.rec.Pause(&m)
			db, ok := p.holdPart(i)
			p.rec.Resume(&m)
			if !ok {
				p.rejectBusy(spec)
				p.out.W.AppendRaw(p.BusyReply())
				return
			}
			cursor, ok = p.part(spec, db, cursor, args)
			p.Release()
			// Let the goroutines waiting to run go first. The shard and
			// this goroutine hand each other the processor part after
			// part, and the scheduler runs the one just woken next,
			// sharing one time slice; without a yield other clients would
			// wait for that slice to end, 10 ms at a time.
			runtime.Gosched()
			if !ok {
				p.out.W.AppendError("ERR internal error while running '" + spec.Name + "'")
				p.rec.Stop(m, spec, args, p.client)
				return
			}
			if cursor == 0 {
				break
			}
		}
	}
	start := p.out.W.Len()
	if !safely(spec, func() { g.Reply(&p.out.W, &p.gathered, args) }) {
		p.out.W.Truncate(start)
		p.out.W.AppendError("ERR internal error while running '" + spec.Name + "'")
	}
	p.rec.Stop(m, spec, args, p.client)
}

// part runs one part of spec's Gather on db, which the pipeline holds, and
// returns the cursor to continue from; ok is false if it panicked.
func (p *Pipeline) part(spec *command.Spec, db *keyspace.DB, cursor uint64, args [][]byte) (next uint64, ok bool) {
	ok = safely(spec, func() { next = spec.Gather.Part(&p.gathered, db, cursor, p.r.gatherPart, args) })
	return next, ok
}

// safely calls fn, part of running spec, and reports whether it returned. A
// panic is recovered and logged, as shard.Exec does for handlers, so that
// the shard a part holds is still given back and the server goes on.
func safely(spec *command.Spec, fn func()) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			slog.Error("panic in command handler", "command", spec.Name, "panic", v, "stack", string(debug.Stack()))
			ok = false
		}
	}()
	fn()
	return true
}

// holdPart holds shard i alone and returns its keyspace, waiting for room in
// the router and in the shard's queue for up to gatherWait. It reports false
// if none came; the refusal is then counted like any other BUSY.
//
// While it waits it only looks at the counters, and asks for room again once
// they show some, so that waiting is not counted as refusals by the shard
// (its Reserve counts every refusal); two clients racing for the last room
// can still make it count one.
func (p *Pipeline) holdPart(i int) (*keyspace.DB, bool) {
	clear(p.set)
	p.set[i] = true
	s := p.r.shards[i]
	var deadline time.Time
	for {
		if p.r.inflight.Load() < p.r.limit && int64(s.Pending()) < p.r.shardQueue {
			dbs, refused := p.hold(p.set)
			switch refused {
			case notRefused:
				return dbs[i], true
			case refusedByRouter:
				if p.giveUp(&deadline) {
					p.r.busyRouter.Add(1)
					return nil, false
				}
			case refusedByShard:
				if p.giveUp(&deadline) {
					p.r.busyShard.Add(1)
					return nil, false
				}
			case refusedByScript:
				p.r.busyShard.Add(1)
				p.lastRefusal = refusedByScript
				return nil, false
			}
		} else if p.giveUp(&deadline) {
			if int64(s.Pending()) >= p.r.shardQueue {
				p.r.busyShard.Add(1)
			} else {
				p.r.busyRouter.Add(1)
			}
			return nil, false
		}
		time.Sleep(gatherRetry)
	}
}

// giveUp reports whether a part has waited for room for gatherWait, starting
// the wait (the deadline) on its first call.
func (p *Pipeline) giveUp(deadline *time.Time) bool {
	now := time.Now()
	if deadline.IsZero() {
		*deadline = now.Add(p.r.gatherWait)
	}
	return !now.Before(*deadline)
}

// dropGathered empties p.gathered after a reply, dropping a large buffer.
func (p *Pipeline) dropGathered() {
	if p.gathered.Size() > gatherKeep || p.gathered.Len() > gatherKeep/8 {
		p.gathered = command.Keys{}
		return
	}
	p.gathered.Reset()
}

package router

import (
	"github.com/data-cluster/data-cluster/internal/shard"
)

// Block runs the first attempt of a blocking command (see
// command.Blocking) for the waiter w, after flushing what came before it.
// When the command is answered at once (something to pop, an error, BUSY),
// its reply is appended to Out and Block reports false. Otherwise the
// waiter is parked in the shards of its keys, in the same step as the
// attempt, and Block reports true: the caller then waits for w's reply on
// w.Reply.Done, or cancels w. A parked waiter counts against no capacity
// of the router or of a shard.
func (p *Pipeline) Block(w *shard.Waiter) bool {
	p.Flush()
	if len(w.Keys) == 0 {
		// Arguments that name no key: the command's non-blocking form
		// replies with their error.
		p.runHeld(w.Spec, w.Args, true)
		return false
	}
	s := p.r.ring.Lookup(w.Keys[0])
	for _, k := range w.Keys[1:] {
		if p.r.ring.Lookup(k) != s {
			return p.blockHeld(w)
		}
	}
	b := p.batches[s]
	b.Cmds = append(b.Cmds, shard.Cmd{Spec: w.Spec, Args: w.Args, Wait: w})
	p.items = append(p.items, item{src: int32(s), idx: 0})
	p.Flush()
	return w.Parked()
}

// blockHeld runs the first attempt of a blocking command whose keys live
// on several shards while holding them all, and parks w in each when it
// finds nothing.
func (p *Pipeline) blockHeld(w *shard.Waiter) bool {
	clear(p.set)
	for _, k := range w.Keys {
		p.set[p.r.ring.Lookup(k)] = true
	}
	dbs, ok := p.Hold(p.set)
	if !ok {
		p.rejectBusy(w.Spec)
		p.out.W.AppendRaw(p.BusyReply())
		return false
	}
	p.ctx.W = &p.out.W
	p.ctx.Held(dbs, p.r.ring)
	m := p.rec.Start(&p.out.W)
	answered := shard.Try(&p.ctx, w.Spec, w.Args)
	p.rec.Stop(m, w.Spec, w.Args, p.client)
	p.ctx.W = nil
	if !answered {
		for i, db := range dbs {
			if db != nil {
				p.r.shards[i].Park(w)
			}
		}
	}
	p.Release()
	return !answered
}

package router

import (
	"github.com/data-cluster/data-cluster/internal/cmdstat"
	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/reply"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/shard"
	"github.com/data-cluster/data-cluster/internal/slowlog"
	"github.com/data-cluster/data-cluster/internal/tracking"
)

// Pipeline carries one connection's commands to the shards and brings the
// replies back in request order. A connection adds the commands of one read
// with Do (and its own replies with Local/EndLocal), calls Flush, and writes
// Out. A shard's reply is not copied on its way: Out references it in the
// shard's buffer (reply.Queue.Splice), and the pipeline gives the shard
// another buffer until Out has been sent and reset. Commands whose keys
// live on one shard are batched, one message per shard per Flush; a command that spans shards first flushes what came before
// it, then runs at once while holding every shard it touches; a command
// that reads every shard's keys (KEYS, LIST) holds them one at a time
// instead (see gather).
//
// A Pipeline is used by one goroutine. Arguments passed to Do must stay
// unchanged until the next Flush returns.
type Pipeline struct {
	r       *Router
	batches []*shard.Batch // by shard
	done    chan *shard.Batch
	items   []item
	local   resp.Writer
	locEnds []int
	out     reply.Queue
	busy    []byte
	// lent, by shard, is 1 + the epoch of out at which part of the
	// batch's buffer was spliced into out; 0 for none. Such a buffer is
	// kept by out until sent, and the batch takes a spare (see reset).
	lent []uint64

	lastRefusal refusal // of the last Hold
	scriptBusy  []byte  // the reply of a busy script that refused a hold

	ctx   command.Ctx
	keys  [][]byte
	set   []bool
	held  []*keyspace.DB
	holds []*shard.Batch
	// inlineHeld marks the held shards taken by TryHold (SetInline).
	inlineHeld []bool
	rel        chan struct{}
	waits      []logWait // Release's commits to wait for

	gathered command.Keys // the keys a Gather command has read so far

	rec    *cmdstat.Recorder // counts the commands run here; nil for none
	client slowlog.Client

	// maxReply and drainFn bound the replies held by Flush (SetDrain);
	// taken counts, by shard, the replies of the current Flush already
	// appended to Out.
	maxReply int
	drainFn  func() bool
	taken    []int
	noTouch  bool  // SetNoTouch
	inline   bool  // SetInline
	durable  int64 // the log position the replies wait for (TakeDurable)
	id       int64 // the client's id (see Observe)
	track    int64 // see Track
}

// Track makes the commands given to Do from now on remember their keys,
// when they only read, for client id's client-side caching; 0 for none
// (command.Ctx.Track).
func (p *Pipeline) Track(id int64) { p.track = id }

// item is one reply to come: from a shard's batch, from the local writer, or
// BUSY.
type item struct {
	src int32 // shard number, or srcLocal
	idx int32 // index in that source
}

const srcLocal = -1

// NewPipeline returns a Pipeline for one connection. busy is the reply sent
// for a command refused for lack of room, in the connection's protocol.
func (r *Router) NewPipeline(busy []byte) *Pipeline {
	n := len(r.shards)
	p := &Pipeline{
		r:          r,
		batches:    make([]*shard.Batch, n),
		done:       make(chan *shard.Batch, n),
		busy:       busy,
		set:        make([]bool, n),
		held:       make([]*keyspace.DB, n),
		inlineHeld: make([]bool, n),
		holds:      make([]*shard.Batch, n),
		rel:        make(chan struct{}),
		taken:      make([]int, n),
		lent:       make([]uint64, n),
	}
	for i := range p.batches {
		p.batches[i] = &shard.Batch{Done: p.done}
		p.holds[i] = &shard.Batch{Done: p.done}
	}
	return p
}

// SetProto sets the RESP version replies are written in, and the reply for
// a refused command.
func (p *Pipeline) SetProto(v int, busy []byte) {
	for _, b := range p.batches {
		b.W.SetProto(v)
	}
	p.local.SetProto(v)
	p.out.SetProto(v)
	p.busy = busy
}

// Pending returns the number of replies waiting for Flush.
func (p *Pipeline) Pending() int { return len(p.items) }

// Out returns the queue that Flush assembles replies into, in request
// order; the connection appends its own replies to its W, writes its
// Buffers to the client and resets it. Until it is reset, Out references
// the replies of the shards where they were written.
func (p *Pipeline) Out() *reply.Queue { return &p.out }

// Local starts a reply made by the connection itself, to be sent in order
// with the others; finish it with EndLocal.
func (p *Pipeline) Local() *resp.Writer { return &p.local }

// EndLocal ends the reply begun with Local.
func (p *Pipeline) EndLocal() {
	p.items = append(p.items, item{src: srcLocal, idx: int32(len(p.locEnds))})
	p.locEnds = append(p.locEnds, p.local.Len())
}

// Do routes one command. Its reply is written by the next Flush, or, for a
// command that spans shards, at once after the replies before it.
func (p *Pipeline) Do(spec *command.Spec, args [][]byte) {
	n := len(p.batches)
	switch spec.Kind {
	case command.Keyed:
		p.keys = spec.Keys(args, p.keys[:0])
		if len(p.keys) == 0 || spec.ReadsOthers != nil && spec.ReadsOthers(args) {
			p.runHeld(spec, args, true)
			return
		}
		s := p.r.ring.Lookup(p.keys[0])
		for _, k := range p.keys[1:] {
			if p.r.ring.Lookup(k) != s {
				p.runHeld(spec, args, false)
				return
			}
		}
		p.add(s, spec, args)
	case command.Cursor:
		s := spec.Shard(args, n)
		if s < 0 {
			p.runNone(spec, args)
			return
		}
		p.add(s, spec, args)
	default:
		if spec.Gather != nil {
			p.gather(spec, args)
			return
		}
		p.runHeld(spec, args, true)
	}
}

func (p *Pipeline) add(s int, spec *command.Spec, args [][]byte) {
	b := p.batches[s]
	p.items = append(p.items, item{src: int32(s), idx: int32(len(b.Cmds))})
	b.Cmds = append(b.Cmds, shard.Cmd{Spec: spec, Args: args, Track: p.track})
	if spec.Flags&command.Scripting != 0 {
		b.Long = true
	}
}

// Flush sends the batched commands, waits for the shards, and appends every
// pending reply to Out in request order.
//
// With a drain set (SetDrain), a shard runs a batch only until its replies
// reach the drain's bound; Flush then appends the replies it can in order,
// hands Out to the drain, and submits the commands not yet run again, until
// every command has run. The replies held at once are thus about the bound
// per shard, however large the replies of the batch.
func (p *Pipeline) Flush() {
	if len(p.items) == 0 {
		return
	}
	p.submit(true)
	for next := 0; ; {
		next = p.assemble(next)
		if next == len(p.items) {
			break
		}
		if !p.drain() {
			p.dropUnrun()
			continue
		}
		// A drain that kept Out (its replies are dropped, CLIENT REPLY)
		// still references the batches' buffers, which compact changes.
		p.out.Own()
		p.compact()
		p.submit(false)
	}
	p.reset()
}

// SetNoTouch makes the commands sent from now on leave the usage (LRU,
// LFU) of the keys they find as it is, but TOUCH, as Redis's CLIENT
// NO-TOUCH does.
func (p *Pipeline) SetNoTouch(on bool) {
	p.noTouch = on
	for _, b := range p.batches {
		b.NoTouch = on
	}
}

// SetInline makes a round for several shards run on the calling
// goroutine too, one shard after the other, each whose goroutine is idle
// (Shard.TryServe), instead of on the shards' goroutines side by side, and
// Hold take the idle shards on the calling goroutine (Shard.TryHold)
// instead of through their queues: for a caller that serves many clients
// from one goroutine (the server's io_uring loop), for which a hand-over to
// another goroutine costs a switch of threads, two for each held shard.
//
// The wait for the shards' logs is then left to the caller as well: Flush
// and Release return once the records of what ran are handed to the logs,
// not once they are durable, and TakeDurable says how far the logs must
// be durable before the replies may go out. The caller waits once for the
// replies of all its clients (wal.Store.WaitDurable), as Redis writes its
// AOF once per turn of its event loop, before any reply of the turn.
func (p *Pipeline) SetInline(on bool) { p.inline = on }

// TakeDurable returns the position the shards' logs must reach before the
// replies of Flush and Release since the last call may go out (SetInline),
// 0 for none, and forgets it.
func (p *Pipeline) TakeDurable() int64 {
	pos := p.durable
	p.durable = 0
	return pos
}

// SetDrain makes Flush bound the replies it holds: a shard stops a batch
// once its replies reach max bytes, and drain is called to send Out to the
// client (and reset it) before the rest runs. drain reports false when the
// client cannot take them: the commands not yet run are then dropped,
// answered as refused in an Out that nobody reads. max 0 removes the bound.
func (p *Pipeline) SetDrain(max int, drain func() bool) {
	p.maxReply, p.drainFn = max, drain
	if max <= 0 {
		p.drainFn = nil
	}
}

// drain hands Out to the drain function.
func (p *Pipeline) drain() bool {
	if p.drainFn == nil {
		return true
	}
	return p.drainFn()
}

// submit sends each batch's commands not yet run to its shard and waits
// for them; first is the first submission of this Flush. A later one skips
// a shard that still holds the bound of replies not yet taken: the shard
// that stopped the assembly has had all of its replies taken, so every
// round runs at least one command.
func (p *Pipeline) submit(first bool) {
	// A round for one shard may run on this goroutine (Shard.TryServe);
	// those of several go to their shards, which run them side by side.
	sends := 0
	for _, b := range p.batches {
		if p.toSend(b, first) > 0 {
			sends++
		}
	}
	sent := 0
	for i, b := range p.batches {
		from := len(b.Ends)
		if first {
			from = 0
		}
		n := p.toSend(b, first)
		if n <= 0 {
			continue
		}
		g := p.r.admit(n)
		if g < n {
			p.r.busyRouter.Add(int64(n - g))
		}
		if g > 0 {
			got := p.r.shards[i].Reserve(g)
			if got < g {
				p.r.busyShard.Add(int64(g - got))
				p.r.done(g - got)
			}
			g = got
		}
		// Commands past g are refused: drop them before the shard sees them.
		if g < n {
			p.refused(b.Cmds[from+g:])
		}
		clear(b.Cmds[from+g:])
		b.Cmds = b.Cmds[:from+g]
		if g > 0 {
			if b.W.Cap() == 0 {
				// Its buffer went to Out (reset): take one Out has sent.
				if sp := p.out.Spare(); sp != nil {
					b.W.Swap(sp)
				}
			}
			b.From = from
			b.Durable = p.inline
			b.MaxReply = 0
			if p.drainFn != nil {
				b.MaxReply = p.maxReply
			}
			if sends > 1 && !p.inline || !p.r.shards[i].TryServe(b) {
				p.r.shards[i].Submit(b)
			}
			sent++
		}
	}
	for range sent {
		b := <-p.done
		p.r.done(len(b.Cmds) - b.From)
		p.durable = max(p.durable, b.DurableAt)
		b.DurableAt = 0
	}
}

// toSend returns how many of b's commands submit sends its shard: those
// not yet run, none when b is past the bound of replies not yet taken (a
// later submission).
func (p *Pipeline) toSend(b *shard.Batch, first bool) int {
	if first {
		return len(b.Cmds)
	}
	if b.W.Len() >= p.maxReply {
		return 0
	}
	return len(b.Cmds) - len(b.Ends)
}

// assemble appends the pending replies to Out in request order, from item
// next on, and returns the index of the first item whose command has not
// run yet (a shard stopped at its bound), or len(p.items) when all are in.
func (p *Pipeline) assemble(next int) int {
	for ; next < len(p.items); next++ {
		it := p.items[next]
		if it.src == srcLocal {
			p.out.W.AppendRaw(segment(p.local.Bytes(), p.locEnds, int(it.idx)))
			continue
		}
		b := p.batches[it.src]
		switch idx := int(it.idx); {
		case idx >= len(b.Cmds):
			p.out.W.AppendRaw(p.busy)
		case idx >= len(b.Ends):
			return next
		default:
			if p.out.Splice(segment(b.W.Bytes(), b.Ends, idx)) {
				p.lent[it.src] = p.out.Epoch() + 1
			}
			p.taken[it.src] = idx + 1
		}
	}
	return next
}

// compact drops from each batch's buffer the replies assemble has taken,
// so that only the replies still to come stay in memory. The offsets in
// Ends from the last taken reply on are moved down with them (that one's
// becomes 0, the start of the next).
func (p *Pipeline) compact() {
	for i, b := range p.batches {
		t := p.taken[i]
		if t == 0 {
			continue
		}
		d := b.Ends[t-1]
		if d == 0 {
			continue
		}
		b.W.Discard(d)
		for j := t - 1; j < len(b.Ends); j++ {
			b.Ends[j] -= d
		}
	}
}

// dropUnrun gives up the commands not yet run, once the client is gone:
// they are answered as refused, in an Out nobody reads.
func (p *Pipeline) dropUnrun() {
	for _, b := range p.batches {
		clear(b.Cmds[len(b.Ends):])
		b.Cmds = b.Cmds[:len(b.Ends)]
	}
}

// reset empties the batches and the local replies once their replies are
// all in Out. A batch's buffer that Out still references goes to Out,
// which keeps it until sent; the batch takes one Out has sent when it is
// next submitted. A batch's buffer of its own grown past the bound by one
// large reply is given back.
func (p *Pipeline) reset() {
	p.items = p.items[:0]
	p.local.Reset()
	p.local.Trim(keepReply)
	p.locEnds = p.locEnds[:0]
	clear(p.taken)
	for i, b := range p.batches {
		if p.lent[i] == p.out.Epoch()+1 {
			p.out.Keep(b.W.Swap(nil)) // submit takes a spare
		}
		p.lent[i] = 0
		b.Reset()
		b.W.Trim(keepReply)
	}
}

// keepReply is the buffer capacity a batch or the local writer keeps
// between flushes; a larger one, grown by large replies, is given back.
const keepReply = 256 << 10

func segment(buf []byte, ends []int, i int) []byte {
	start := 0
	if i > 0 {
		start = ends[i-1]
	}
	return buf[start:ends[i]]
}

// runHeld runs a command that needs several shards (every shard when all is
// true, else those of its keys) while holding them, after flushing what came
// before it.
func (p *Pipeline) runHeld(spec *command.Spec, args [][]byte, all bool) {
	p.Flush()
	clear(p.set)
	if all {
		for i := range p.set {
			p.set[i] = true
		}
	} else {
		for _, k := range p.keys {
			p.set[p.r.ring.Lookup(k)] = true
		}
	}
	dbs, ok := p.Hold(p.set)
	if !ok {
		p.rejectBusy(spec)
		p.out.W.AppendRaw(p.BusyReply())
		return
	}
	if p.noTouch && spec.Name == "touch" {
		for _, db := range dbs {
			if db != nil {
				db.SetNoTouch(false)
			}
		}
	}
	p.ctx.W = &p.out.W
	p.ctx.Held(dbs, p.r.ring)
	p.ctx.Writer, p.ctx.Track = p.id, p.track
	m := p.rec.Start(&p.out.W)
	shard.Exec(&p.ctx, spec, args)
	p.rec.Stop(m, spec, args, p.client)
	p.ctx.W = nil
	p.Release()
}

// runNone runs a command that touches no shard, such as SCAN with a cursor
// that names no shard, so that it can reply with its error.
func (p *Pipeline) runNone(spec *command.Spec, args [][]byte) {
	p.Flush()
	clear(p.held)
	p.ctx.W = &p.out.W
	p.ctx.Held(p.held, p.r.ring)
	m := p.rec.Start(&p.out.W)
	shard.Exec(&p.ctx, spec, args)
	p.rec.Stop(m, spec, args, p.client)
	p.ctx.W = nil
}

// Hold takes the shards marked in set, in ascending order so that two
// holders can never wait for each other, and returns their keyspaces indexed
// by shard (nil where not held). The clock of each is set to now. If a shard's
// queue is full it gives back what it took and reports false. Every
// successful Hold must be followed by Release. Flush before Hold.
func (p *Pipeline) Hold(set []bool) ([]*keyspace.DB, bool) {
	dbs, refused := p.hold(set)
	switch refused {
	case refusedByRouter:
		p.r.busyRouter.Add(1)
	case refusedByShard, refusedByScript:
		p.r.busyShard.Add(1)
	}
	p.lastRefusal = refused
	return dbs, refused == notRefused
}

// BusyReply returns the reply to a command refused because Hold failed:
// the script's BUSY error when a busy script holds a shard (RESP only),
// the pipeline's busy reply otherwise.
func (p *Pipeline) BusyReply() []byte {
	if p.lastRefusal == refusedByScript && len(p.scriptBusy) > 0 && p.busy[0] == '-' {
		return p.scriptBusy
	}
	return p.busy
}

// logWait is a held shard's commit that Release waits for.
type logWait struct {
	log shard.AsyncLog
	pos int64
}

// refusal says which capacity refused a hold: none, the router's or a
// shard's queue.
type refusal uint8

const (
	notRefused refusal = iota
	refusedByRouter
	refusedByShard
	refusedByScript // a busy script holds a shard
)

// hold is Hold without counting a refusal in the router's BUSY counters.
func (p *Pipeline) hold(set []bool) ([]*keyspace.DB, refusal) {
	clear(p.held)
	for i, want := range set {
		if !want {
			continue
		}
		if p.r.admit(1) == 0 {
			p.Release()
			return nil, refusedByRouter
		}
		s := p.r.shards[i]
		if s.Reserve(1) == 0 {
			p.r.done(1)
			p.Release()
			return nil, refusedByShard
		}
		if p.inline && s.TryHold() {
			// Taken on this goroutine, as a round runs (SetInline).
			p.inlineHeld[i] = true
			p.held[i] = s.DB()
			continue
		}
		h := p.holds[i]
		h.Release = p.rel
		s.Submit(h)
		<-p.done
		if h.Refused {
			// A busy script holds the shard (see shard.Shard.Drain); its
			// reply is in h.W.
			p.scriptBusy = append(p.scriptBusy[:0], h.W.Bytes()...)
			h.Refused = false
			h.W.Reset()
			p.r.done(1)
			p.Release()
			return nil, refusedByScript
		}
		p.held[i] = s.DB()
	}
	now := nowMillis()
	for _, db := range p.held {
		if db != nil {
			db.SetNow(now)
			db.SetNoTouch(p.noTouch)
		}
	}
	return p.held, notRefused
}

// Release gives back every shard taken by Hold, and returns once what the
// holder changed is as durable as the shards' log promises (written, or
// fsynced with FsyncAlways), so that the command's reply may go out.
func (p *Pipeline) Release() {
	// Commit every held shard's log before giving any shard back: the held
	// shards all wait on the one release channel, so a send may wake any of
	// them, and none may run again while its keyspace is still in use here.
	//
	// Logs whose commit can wait apart (shard.AsyncLog, as the server's
	// are) are only handed their records here, and waited for once the
	// shards are given back: the shards share one journal, whose first
	// wait writes (and fsyncs) everything appended to it, so a command that
	// changed three shards costs one write(2), not three, and holders and
	// shards that commit meanwhile share the fsync of FsyncAlways. A shard
	// that runs other clients' commands meanwhile holds their replies until
	// its log is durable up to its last commit, this one included, as
	// always: nobody is answered from records that a crash could lose.
	var tr *tracking.Table
	waits := p.waits[:0]
	for _, db := range p.held {
		if db == nil {
			continue
		}
		db.PublishLen() // before any reply: SCAN skips a shard by its count
		if l, ok := db.Log().(shard.AsyncLog); ok {
			if pos, wait := l.CommitAsync(); wait {
				waits = append(waits, logWait{l, pos})
			}
		} else {
			db.Commit() // before the reply of what ran while held goes out
		}
		db.SetNoTouch(false)
		tr = db.Tracker()
	}
	tr.Broadcast() // what broadcasting clients are told of it, before the reply
	for i, db := range p.held {
		if db == nil {
			continue
		}
		p.held[i] = nil
		if p.inlineHeld[i] {
			p.inlineHeld[i] = false
			p.r.shards[i].Unhold()
		} else {
			p.rel <- struct{}{}
		}
		p.r.done(1)
	}
	for _, w := range waits {
		if p.inline {
			p.durable = max(p.durable, w.pos) // the caller waits (SetInline)
		} else {
			w.log.WaitDurable(w.pos)
		}
	}
	clear(waits)
	p.waits = waits[:0]
}

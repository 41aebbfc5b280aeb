package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/server"
	"github.com/data-cluster/data-cluster/internal/shard"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// Scripts on a group are replicated as their effects, never as the script.
//
// A request that runs a script (EVAL, FCALL and the like, as
// server.ClusterScript sends them) waits on its group's leader in held, in
// order with the writes that come after it, until the replica has applied
// everything in its log (release): its keyspace is then the state at the
// end of the log. The leader runs the request there once, a dry run, with
// a recorder (effects): before each write command the script (or the
// request) runs, the random source is seeded anew from (origin, seq, the
// command's index) and the keys the command names are saved as they were
// (a deep copy of the value and its expiry, or their absence; the whole
// keyspace for a write without keys, as FLUSHALL); after it, the command is
// recorded as it ran, unless it failed, and SPOP as the SREM of what it
// popped, so that no replica depends on its own iteration order. Keyspace
// events are not published during the dry run, and no OnApply is made.
//
// Once the script ends (with its reply, or an error: what it wrote before
// stays, as in Redis) the saved keys are put back, so that the leader's
// keyspace holds committed entries only, and the recorded commands are
// proposed as one entryEffects entry with (origin, seq), which every
// replica, the leader too, applies together with the same seeding: keyspace
// events, the wake-ups of blocked clients and tracking come from that
// apply. The leader keeps the script's reply from its dry run and answers
// the client with it once the entry applies. Nothing proposed meanwhile can
// come before the entry: the dry run's state is the state the entry
// applies to. A leader that loses its term before the entry commits has
// nothing of it applied; the request ends with ErrUnknown, or ErrTryAgain
// when it lost the term before proposing.
//
// A script that wrote nothing proposes nothing: its reply waits for a
// ReadIndex round that started after the dry run, as a linearizable read
// does, which proves that the replica still led the group when it ran,
// without a log write and its fsync.
//
// Scripts that wait one after the other in held run in one dry run
// (runScripts, up to maxBatch), each over what the ones before it wrote,
// and their entries are proposed in that order: the log keeps that order,
// and an entry lost with a term loses every later one of the batch too.
// So scripts sent by many clients at once cost one wait for the log, not
// one each. Undo puts back the state from before the first. A script that
// wrote nothing after one that wrote may have read what that one wrote: it
// proposes an empty entry instead of a ReadIndex round, and is answered
// once that applies.
//
// The dry run is made on a goroutine of its own, which has the keyspace
// until it ends; the group's goroutine meanwhile keeps Raft going (hold):
// it ticks, steps the peers' messages, persists and sends, so that the
// leader keeps its leadership with heartbeats through a long script, but
// it applies nothing (committed entries, which only a lost leadership
// brings, wait in stash) and takes no request. Requests that arrive wait
// for the script (later); once the script has run for
// busy-reply-threshold, they, and those waiting, are answered Redis's BUSY
// error until it ends, on whichever node they were sent to, since every
// node forwards them to the leader (READONLY reads that followers answer
// from their own replica are not stopped). SCRIPT KILL and FUNCTION KILL
// on the leader's node stop a script that has called no write command
// (script.Engine.Kill; so it has recorded none). A snapshot a peer sends
// meanwhile waits for the script's end, and a follower that needs one
// built afresh is sent it later.
//
// Requests of READONLY connections run scripts at once, read-only, on the
// replica that receives them, as before.

// busyNote tells the group's goroutine that the script of its dry run seq
// turned busy.
type busyNote struct {
	seq  uint64
	msg  string
	stop <-chan struct{} // closed when the script ends
}

// scripted reports whether r runs a script.
func scripted(r *Request) bool {
	if r.Proto == 0 {
		return false // the line protocol has none
	}
	for _, args := range r.Cmds {
		if server.IsClusterScript(command.Redis.Lookup(args[0]), args) {
			return true
		}
	}
	return false
}

// effects records the writes of one request's dry run. It is used by the
// goroutine that makes the dry run, then by the group's.
type effects struct {
	g           *Group
	origin, seq uint64
	cmds        [][][]byte
	u           *undoLog // shared by the requests of one dry run
}

// undoLog is what a dry run changed, to put back.
type undoLog struct {
	saved map[string]savedKey
	full  []byte // the whole keyspace, once a write without keys ran
	keys  [][]byte
}

// savedKey is a key as it was before the dry run changed it.
type savedKey struct {
	val []byte
	obj storage.Object
	at  int64
	ok  bool // present
}

// Before implements server.Effects.
func (fx *effects) Before(spec *command.Spec, args [][]byte) {
	g, u := fx.g, fx.u
	g.seedCmd(fx.origin, fx.seq, len(fx.cmds))
	if u.full != nil {
		return
	}
	if spec.Kind == command.Keyed {
		u.keys = spec.Keys(args, u.keys[:0])
	} else {
		u.keys = u.keys[:0]
	}
	if len(u.keys) == 0 {
		view := g.eng.Freeze()
		u.full = encodeKeyspace(view, g.mv.clone())
		view.Release()
		return
	}
	for _, k := range u.keys {
		if _, ok := u.saved[string(k)]; ok {
			continue
		}
		v, obj, at, ok := g.eng.Find(k)
		s := savedKey{at: at, ok: ok}
		if obj != nil {
			s.obj = obj.Clone()
		} else if ok {
			s.val = append([]byte{}, v...)
		}
		u.saved[string(k)] = s
	}
}

// After implements server.Effects.
func (fx *effects) After(spec *command.Spec, args [][]byte, reply []byte) {
	if len(reply) == 0 || reply[0] == '-' || reply[0] == '!' {
		return // it changed nothing
	}
	if spec.Name == "spop" {
		members := bulks(reply)
		if len(members) == 0 {
			return
		}
		args = append([][]byte{[]byte("srem"), args[1]}, members...)
	}
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = append([]byte{}, a...)
	}
	fx.cmds = append(fx.cmds, out)
}

// busy is the script's server.RunOptions.Busy: it tells the group's
// goroutine, which answers BUSY until stop is closed.
func (fx *effects) busy(stop <-chan struct{}, msg string) {
	select {
	case fx.g.busyNote <- busyNote{seq: fx.seq, msg: msg, stop: stop}:
	default:
	}
}

// undo puts back in g what the dry run changed: the keyspace copied whole,
// if it was, and then each key saved before that.
func (u *undoLog) undo(g *Group) {
	if u.full != nil {
		// Taken when the run had changed the keys saved so far: they go
		// back on top of it.
		if err := g.restore(u.full); err != nil {
			g.log.Error("a script's writes could not be undone", "err", err)
		}
	}
	for k, s := range u.saved {
		switch {
		case !s.ok:
			g.eng.Delete([]byte(k))
		case s.obj != nil:
			g.eng.SetObject([]byte(k), s.obj, s.at)
		default:
			g.eng.Set([]byte(k), s.val, s.at)
		}
	}
}

// bulks returns the bulk strings of a reply that is one, or an array or a
// set of them (SPOP's).
func bulks(reply []byte) [][]byte {
	var out [][]byte
	n := int64(1)
	p := 0
	header := func() (int64, bool) {
		end := p
		for end+1 < len(reply) && reply[end] != '\r' {
			end++
		}
		v, ok := resp.ParseInt(reply[p+1 : end])
		p = end + 2
		return v, ok
	}
	if reply[0] == '*' || reply[0] == '~' {
		var ok bool
		if n, ok = header(); !ok || n < 0 {
			return nil
		}
	}
	for range n {
		if p >= len(reply) || reply[p] != '$' {
			return out
		}
		l, ok := header()
		if !ok || l < 0 || p+int(l) > len(reply) {
			return out
		}
		out = append(out, reply[p:p+int(l)])
		p += int(l) + 2
	}
	return out
}

// seed seeds the random source of the commands with (origin, seq).
func (g *Group) seed(origin, seq uint64) {
	if g.rng == nil {
		g.pcg = rand.NewPCG(0, 0)
		g.rng = rand.New(g.pcg)
	}
	g.pcg.Seed(origin, seq)
}

// seedCmd seeds the random source for the i-th command of an effects
// entry.
func (g *Group) seedCmd(origin, seq uint64, i int) {
	g.seed(origin, seq^uint64(i+1)*0x9e3779b97f4a7c15)
}

// runEffects applies the commands of an entryEffects entry, the replies
// going to g.w and g.ends.
func (g *Group) runEffects(cmds [][][]byte, proto int, origin, seq uint64) {
	g.begin(proto)
	for i, args := range cmds {
		g.seedCmd(origin, seq, i)
		if spec := command.Redis.Lookup(args[0]); spec == nil || spec.Run == nil || !spec.ArityOK(len(args)) {
			g.w.AppendError("ERR unknown command '" + clip(args[0]) + "'")
		} else {
			shard.Exec(&g.cx, spec, args)
		}
		g.ends = append(g.ends, g.w.Len())
	}
	g.cx.W = nil
}

// caughtUp reports whether the replica has applied every entry of its log
// and has nothing proposed that Raft has not handed over yet.
func (g *Group) caughtUp() bool {
	last, err := g.ms.LastIndex()
	return err == nil && g.applied >= last && !g.rn.HasReady()
}

// release takes the held requests in order: writes are proposed, and
// scripts run once the replica has caught up, those that come one after
// the other in one dry run (up to maxBatch). It returns an error only
// when the replica must stop (its storage failed, or ctx is done).
func (g *Group) release(ctx context.Context, tick <-chan time.Time) error {
	for len(g.held) > 0 {
		if !g.isLeader {
			for _, r := range g.held {
				r.finish(nil, nil, ErrNotLeader)
			}
			g.held = g.held[:0]
			return nil
		}
		r := g.held[0]
		if !r.scripted {
			g.held = g.held[1:]
			g.seq++
			g.propose(r, entryCommands, g.seq, time.Now(), r.Cmds)
			continue
		}
		if !g.caughtUp() {
			return nil
		}
		n := 1
		for n < len(g.held) && n < maxBatch && g.held[n].scripted {
			n++
		}
		batch := slices.Clone(g.held[:n])
		g.held = g.held[n:]
		if err := g.runScripts(ctx, tick, batch); err != nil {
			return err
		}
		if err := g.process(); err != nil {
			return err
		}
	}
	return nil
}

// maxBatch bounds the requests of one dry run.
const maxBatch = 256

// runScripts makes the dry run of batch, requests that run scripts, one
// after the other on a goroutine of their own, and proposes the effects of
// each as an entry of its own, in order (see above).
func (g *Group) runScripts(ctx context.Context, tick <-chan time.Time, batch []*Request) error {
	now := time.Now()
	u := &undoLog{saved: map[string]savedKey{}}
	fxs := make([]*effects, len(batch))
	for i := range batch {
		g.seq++
		fxs[i] = &effects{g: g, origin: g.cfg.ReplicaID, seq: g.seq, u: u}
	}
	term := g.rn.BasicStatus().GetTerm()
	g.db.SetNow(now.UnixMilli())
	notifier := g.db.Notifier()
	g.db.SetNotifier(nil)
	g.holding = true
	done := make(chan struct{})
	var failed any
	oom := g.oom
	go func() {
		defer close(done)
		defer func() { failed = recover() }()
		// A script that may write is refused over the limit (unless
		// allow-oom), as in Redis, when the leader has nothing to evict.
		g.cx.OOM = oom
		defer func() { g.cx.OOM = false }()
		for i, r := range batch {
			g.fx = fxs[i]
			g.seed(g.fx.origin, g.fx.seq)
			g.cx.Rand = g.rng
			g.run(r.Cmds, r.Proto, r.asked, r.client, time.Time{})
			r.pre = append(r.pre[:0], g.w.Bytes()...)
			r.preEnds = append(r.preEnds[:0], g.ends...)
			r.hasPre = true
		}
	}()
	if err := g.hold(ctx, tick, done, fxs[0].seq, fxs[len(fxs)-1].seq); err != nil {
		// The replica stops; the run's goroutine ends on its own, and
		// what it ran is never logged.
		for _, r := range batch {
			r.finish(nil, nil, ErrStopped)
		}
		return err
	}
	g.fx, g.holding, g.busyMsg, g.busyStop = nil, false, "", nil
	g.cx.Rand = nil
	u.undo(g)
	g.db.SetNotifier(notifier)

	// What waited for the scripts: entries committed meanwhile (only a
	// replica that lost its leadership has some), snapshots, requests.
	stash, msgs, later := g.stash, g.snapMsgs, g.later
	g.stash, g.snapMsgs, g.later = nil, nil, nil
	for _, e := range stash {
		g.apply(e)
	}
	for _, m := range msgs {
		g.step(m)
	}
	lost := !g.isLeader || g.rn.BasicStatus().GetTerm() != term || len(stash) > 0
	proposed := false
	for i, r := range batch {
		fx := fxs[i]
		switch {
		case failed != nil:
			g.log.Error("a script's run failed", "panic", failed)
			r.finish(nil, nil, fmt.Errorf("script run failed: %v", failed))
		case lost:
			r.finish(nil, nil, ErrTryAgain) // nothing of it was applied anywhere
		case len(fx.cmds) == 0 && !proposed:
			g.reads = append(g.reads, r)
		default:
			// A script that wrote nothing but comes after one that wrote
			// may have read what that one wrote: it proposes an empty
			// entry, so that it is answered only once that one applied.
			if !g.propose(r, entryEffects, fx.seq, now, fx.cmds) {
				lost = true // what follows was run over its effects
			}
			proposed = true
		}
	}
	for _, q := range later {
		g.take(q)
	}
	g.serveReads() // rounds that ended during the scripts
	return nil
}

// hold keeps the group's Raft going while a dry run has the keyspace,
// until done is closed; busy notes of the runs seq lo to hi turn BUSY on.
// It returns an error when ctx ends or the storage fails.
func (g *Group) hold(ctx context.Context, tick <-chan time.Time, done <-chan struct{}, lo, hi uint64) error {
	for {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-tick:
			g.rn.Tick()
			g.tick()
		case r := <-g.in:
			g.wait(r)
			for n := 0; n < 256 && len(g.in) > 0; n++ {
				g.wait(<-g.in)
			}
		case m := <-g.msgs:
			g.step(m)
			for n := 0; n < 256 && len(g.msgs) > 0; n++ {
				g.step(<-g.msgs)
			}
		case s := <-g.snapSent:
			g.snapshotSent(s)
		case b := <-g.busyNote:
			if b.seq < lo || b.seq > hi {
				continue // of an earlier run
			}
			g.busyMsg, g.busyStop = b.msg, b.stop
			for _, r := range append(g.later, g.held...) {
				g.answerBusy(r)
			}
			g.later, g.held = g.later[:0], g.held[:0]
		case <-g.busyStop:
			// The busy script ended; the next of the batch runs, and what
			// arrives waits for it again.
			g.busyMsg, g.busyStop = "", nil
		}
		if err := g.process(); err != nil {
			return err
		}
	}
}

// wait keeps a request that arrived during a dry run for after it, or
// answers BUSY once the script is busy.
func (g *Group) wait(r *Request) {
	if g.busyMsg != "" {
		g.answerBusy(r)
		return
	}
	g.later = append(g.later, r)
}

// answerBusy answers every command of r with the busy script's error.
func (g *Group) answerBusy(r *Request) {
	var b []byte
	ends := make([]int, 0, len(r.Cmds))
	for range r.Cmds {
		if r.Proto == 0 {
			b = append(append(b, g.busyMsg...), '\n')
		} else {
			b = append(append(append(b, '-'), g.busyMsg...), "\r\n"...)
		}
		ends = append(ends, len(b))
	}
	r.finish(b, ends, nil)
}

var _ server.Effects = (*effects)(nil)

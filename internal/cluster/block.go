package cluster

import (
	"bytes"
	"errors"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/server"
)

// Blocking commands on a cluster node.
//
// A client's blocking command (BZPOPMIN, BZPOPMAX, BZMPOP) is parked on the
// node that serves the client, whichever leads its group. Each attempt is
// the command's non-blocking form sent through the group as a normal
// replicated write: a member is popped by the log, exactly once, and only
// by an attempt of a client still there. An attempt that finds nothing
// answers a nil array, and the client waits for a reason to try again: the
// node's replica of the group applies a write to one of the keys (every
// node applies every entry of the groups it holds, leader or follower), or
// the group's leader changes. The watch is set before the first attempt,
// so that a write that lands between an attempt and the wait is not
// missed. Clients that wait on one key are woken oldest first: only the
// first is woken by a write, and the next when it leaves.
//
// A node that holds no replica of the group, or whose key moves to another
// group, sees no writes: its clients also try again every pollInterval,
// with a linearizable read (EXISTS) first so that a probe costs no log
// entry when the keys are still empty.

// pollInterval is how often a parked client tries again without a wake-up.
const pollInterval = time.Second

// waits is a node's clients parked in blocking commands, by group and key.
// Its methods are safe for concurrent use.
type waits struct {
	n     atomic.Int64 // parked clients: applied looks at nothing else when 0
	mu    sync.Mutex
	byKey map[waitKey][]*waiter
	keys  [][]byte // scratch of applied, under mu
}

type waitKey struct {
	group int
	key   string
}

// waiter is one parked client's watch on its keys.
type waiter struct {
	group int
	keys  []string
	// fired is set by a wake-up and cleared by the client before each
	// attempt; wake interrupts the client's read.
	fired atomic.Bool
	wake  func()
}

// add registers a client waiting on keys of group g, woken by wake.
func (ws *waits) add(g int, keys [][]byte, wake func()) *waiter {
	w := &waiter{group: g, wake: wake}
	ws.mu.Lock()
	if ws.byKey == nil {
		ws.byKey = make(map[waitKey][]*waiter)
	}
	for _, k := range keys {
		if slices.Contains(w.keys, string(k)) {
			continue
		}
		w.keys = append(w.keys, string(k))
		wk := waitKey{g, string(k)}
		ws.byKey[wk] = append(ws.byKey[wk], w)
	}
	ws.mu.Unlock()
	ws.n.Add(1)
	return w
}

// remove forgets w, waking the client next in line on each key it headed.
func (ws *waits) remove(w *waiter) {
	ws.n.Add(-1)
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for _, k := range w.keys {
		wk := waitKey{w.group, k}
		l := ws.byKey[wk]
		i := slices.Index(l, w)
		if i < 0 {
			continue
		}
		l = slices.Delete(l, i, i+1)
		if len(l) == 0 {
			delete(ws.byKey, wk)
			continue
		}
		ws.byKey[wk] = l
		if i == 0 {
			l[0].fire()
		}
	}
}

func (w *waiter) fire() {
	w.fired.Store(true)
	w.wake()
}

// applied wakes the first client waiting on each key that cmds, applied by
// group g's replica with replies reply (ends as in GroupConfig.OnApply),
// write to; nil cmds wake every client of the group. The attempts of
// blocking commands only take, but for BLMOVE and BRPOPLPUSH, which wake
// the clients waiting on their destination when they moved an element.
func (ws *waits) applied(g int, cmds [][][]byte, reply []byte, ends []int) {
	if ws.n.Load() == 0 {
		return
	}
	if cmds == nil {
		ws.wakeGroup(g)
		return
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for i, args := range cmds {
		spec := command.Redis.Lookup(args[0])
		switch {
		case spec == nil || spec.Flags&command.ReadOnly != 0:
			continue
		case spec.Block != nil:
			if d := spec.Block.Dest; d == 0 || d >= len(args) || i >= len(ends) || !moved(reply, ends, i) {
				continue
			}
			ws.keys = append(ws.keys[:0], args[spec.Block.Dest])
		default:
			ws.keys = spec.Keys(args, ws.keys[:0])
		}
		for _, k := range ws.keys {
			if l := ws.byKey[waitKey{g, string(k)}]; len(l) > 0 {
				l[0].fire()
			}
		}
	}
	clear(ws.keys)
}

// moved reports whether the i-th reply of reply, ends, a BLMOVE's or a
// BRPOPLPUSH's, is the element it moved rather than a null or an error.
func moved(reply []byte, ends []int, i int) bool {
	start := 0
	if i > 0 {
		start = ends[i-1]
	}
	r := reply[start:ends[i]]
	return len(r) > 0 && r[0] == '$' && !isNull(r)
}

// wakeGroup wakes the first client waiting on each key of group g, as
// after a change of its leader.
func (ws *waits) wakeGroup(g int) {
	if ws.n.Load() == 0 {
		return
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for wk, l := range ws.byKey {
		if wk.group == g {
			l[0].fire()
		}
	}
}

// blockState is where a parked client's command stands, for CLIENT
// UNBLOCK.
type blockState int32

const (
	notBlocked blockState = iota
	blockWaiting
	blockTimedOut  // CLIENT UNBLOCK … TIMEOUT
	blockUnblocked // CLIENT UNBLOCK … ERROR
)

// block runs a blocking command outside MULTI for the client: attempts
// through group g until one pops or fails, the timeout passes, the client
// is unblocked, or it goes away.
func (c *clientConn) block(g int, spec *command.Spec, args [][]byte) {
	c.flush()
	if !c.writeOut() {
		c.quit = true
		return
	}
	args = cloneArgs(args)
	// XREAD's "$" is the stream's last entry now, the same for every
	// attempt: a linearizable read of it comes first.
	if err := command.ResolveXreadDollar(args, func(cmd [][]byte) ([]byte, error) { return c.do(g, cmd, Read) }); err != nil {
		c.appendErr(err)
		return
	}
	w := c.s.node.waits.add(g, spec.Block.Watch(spec, args), c.wake)
	counted := false
	defer func() {
		c.s.node.waits.remove(w)
		c.unpark(counted)
	}()
	var deadline time.Time
	probe := false
	for {
		w.fired.Store(false)
		reply, err, answered := c.attempt(args, probe)
		if answered {
			if err != nil {
				c.appendErr(err)
			} else if c.out.Splice(reply) {
				c.out.Keep(reply) // the request's own memory (see do)
			}
			return
		}
		if !counted {
			counted = true
			c.countBlocked(true)
			timeout := spec.Block.Wait(args) // the attempt accepted it
			if timeout > 0 {
				deadline = time.Now().Add(timeout)
			}
		}
		switch end := c.wait(w, deadline, pollInterval); end {
		case waitRetry, waitPoll:
			probe = end == waitPoll
			continue
		case waitTimedOut:
			c.out.W.AppendNullArray()
		case waitUnblocked:
			c.out.W.AppendError(server.MsgUnblocked)
		default:
			c.quit = true
		}
		return
	}
}

// attempt runs the command's non-blocking form once through its group, and
// reports whether that answered the client: false for the nil array of
// nothing to pop, or when a probe first found every key empty. CLIENT
// UNBLOCK waits for an attempt under way to end.
func (c *clientConn) attempt(args [][]byte, probe bool) (reply []byte, err error, answered bool) {
	c.blockMu.Lock()
	defer c.blockMu.Unlock()
	if st := c.blockState; st == blockTimedOut || st == blockUnblocked {
		return nil, nil, false // the wait reports it
	}
	spec := command.Redis.Lookup(args[0])
	s, _ := c.slotOf(spec, args)
	g := c.s.node.Table().GroupOf(s)
	if probe {
		exists := append([][]byte{[]byte("exists")}, spec.Keys(args, nil)...)
		reply, err := c.do(g, exists, Read)
		if err == nil && bytes.Equal(reply, []byte(":0\r\n")) {
			return nil, nil, false
		}
	}
	reply, err = c.do(g, args, Write)
	if err == nil && isNull(reply) {
		c.blockState = blockWaiting
		return nil, nil, false
	}
	c.blockState = notBlocked
	return reply, err, true
}

// do runs one command through group g and waits for its reply, which is
// written into memory of its own (Request.Own): the caller's to keep.
func (c *clientConn) do(g int, args [][]byte, mode Mode) ([]byte, error) {
	var reply []byte
	var err error
	c.submit(g, &Request{Cmds: [][][]byte{args}, Proto: c.wireProto(), Mode: mode, ask: c.s.cfg().Redirects,
		Own: true, client: c, Done: func(r []byte, _ []int, e error) {
			reply, err = r, e
			c.done <- struct{}{}
		}})
	<-c.done
	return reply, err
}

// isNull reports whether reply is a null: the nil array of a blocking
// pop, or the nil of a BLMOVE, that found nothing.
func isNull(reply []byte) bool {
	return bytes.Equal(reply, []byte("*-1\r\n")) || bytes.Equal(reply, []byte("$-1\r\n")) || bytes.Equal(reply, []byte("_\r\n"))
}

// How a wait ends.
type waitEnd uint8

const (
	waitRetry     waitEnd = iota // a write or a new leader: try again
	waitPoll                     // the poll interval passed: probe and try again
	waitTimedOut                 // the timeout passed, or CLIENT UNBLOCK … TIMEOUT
	waitUnblocked                // CLIENT UNBLOCK … ERROR
	waitGone                     // the client went away or the server stops
)

// wait reads what the client sends, to be handled later, until w fires,
// the deadline (zero: none) or every passes, CLIENT UNBLOCK ends the wait,
// or the client goes away. Wake-ups interrupt the read by setting its
// deadline to now.
func (c *clientConn) wait(w *waiter, deadline time.Time, every time.Duration) waitEnd {
	defer c.arm(false, time.Time{})
	poll := time.Now().Add(every)
	for {
		until := poll
		if !deadline.IsZero() && deadline.Before(until) {
			until = deadline
		}
		c.arm(true, until)
		c.blockMu.Lock()
		st := c.blockState
		c.blockMu.Unlock()
		switch {
		case st == blockTimedOut:
			return waitTimedOut
		case st == blockUnblocked:
			return waitUnblocked
		case w.fired.Load():
			return waitRetry
		case !c.room():
			return waitGone
		}
		n, err := c.nc.Read(c.buf[c.w:c.readEnd()])
		c.w += n
		var ne net.Error
		switch {
		case err == nil:
		case errors.As(err, &ne) && ne.Timeout():
			now := time.Now()
			if !deadline.IsZero() && !now.Before(deadline) {
				return waitTimedOut
			}
			if !now.Before(poll) {
				return waitPoll
			}
		default:
			return waitGone
		}
	}
}

// countBlocked counts the client as blocked (INFO's blocked_clients,
// CLIENT LIST's b flag), or no longer.
func (c *clientConn) countBlocked(on bool) {
	if on {
		c.s.blocked.Add(1)
	} else {
		c.s.blocked.Add(-1)
	}
	c.blocking.Store(on)
}

// unpark ends a blocking command's wait: the client is no longer counted
// as blocked, if it was, and CLIENT UNBLOCK no longer finds it waiting.
func (c *clientConn) unpark(counted bool) {
	if counted {
		c.countBlocked(false)
	}
	c.blockMu.Lock()
	c.blockState = notBlocked
	c.blockMu.Unlock()
}

// arm sets the read deadline of a parked client, and whether wake may
// interrupt it, under the lock wake takes.
func (c *clientConn) arm(parked bool, deadline time.Time) {
	c.wakeMu.Lock()
	c.parked = parked
	c.nc.SetReadDeadline(deadline)
	c.wakeMu.Unlock()
}

// wake interrupts the read of a parked client. Any goroutine may call it.
func (c *clientConn) wake() {
	c.wakeMu.Lock()
	if c.parked {
		c.nc.SetReadDeadline(time.Now())
	}
	c.wakeMu.Unlock()
}

// unblock ends the wait of a client parked in a blocking command, as CLIENT
// UNBLOCK does, and reports whether it was parked; an attempt under way is
// waited for first.
func (c *clientConn) unblock(st blockState) bool {
	c.blockMu.Lock()
	ok := c.blockState == blockWaiting
	if ok {
		c.blockState = st
	}
	c.blockMu.Unlock()
	if ok {
		c.wake()
	}
	return ok
}

// clientUnblock implements CLIENT UNBLOCK id [TIMEOUT|ERROR].
func (c *clientConn) clientUnblock(w *resp.Writer, args [][]byte) {
	id, asError, msg := server.ParseUnblock(args)
	if msg != "" {
		w.AppendError(msg)
		return
	}
	st := blockTimedOut
	if asError {
		st = blockUnblocked
	}
	c.s.mu.Lock()
	var target *clientConn
	for o := range c.s.conns {
		if o.id == id {
			target = o
		}
	}
	c.s.mu.Unlock()
	if target != nil && target.unblock(st) {
		w.AppendInt(1)
		return
	}
	w.AppendInt(0)
}

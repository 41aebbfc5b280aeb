package server

import (
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/shard"
)

// Blocked clients.
//
// A blocking command (BZPOPMIN, BZPOPMAX, BZMPOP, BLPOP, BRPOP, BLMPOP,
// BLMOVE, BRPOPLPUSH) outside MULTI is first
// tried as a single command would be; when it finds nothing, its waiter is
// parked in the shards of its keys in the same step (router.Pipeline.Block)
// and the connection stops handling its commands until the waiter is
// served, times out or is cancelled. Meanwhile the connection goroutine
// keeps reading, as Redis does: what the client sends is buffered, to be
// handled once the reply is out, and a client that goes away is seen at
// once and its waiter cancelled. The goroutine sits in its usual Read;
// whatever ends the wait (the reply sent by a shard, CLIENT UNBLOCK,
// shutdown) sets the read deadline to now to interrupt it, and the timeout
// is the read deadline itself. So a parked client costs no goroutine, no
// timer and no queue room of its own. A BLMOVE whose destination lives on
// another shard is woken rather than served: the connection runs it again
// holding both shards, and parks again, keeping its deadline, when another
// client took the elements first.

// MsgUnblocked is the error CLIENT UNBLOCK … ERROR answers the blocked
// command with.
const MsgUnblocked = "UNBLOCKED client unblocked via CLIENT UNBLOCK"

// block runs a blocking command outside MULTI: it answers at once when
// the command finds something to pop, else when its waiter is served,
// times out or is cancelled.
func (s *session) block(spec *command.Spec, args [][]byte) {
	c := s.c
	w := shard.NewWaiter(spec, args)
	w.Reply.W.SetProto(s.proto)
	w.Reply.Wake = func() { c.wake(w) }
	var deadline time.Time
	if timeout := spec.Block.Wait(w.Args); timeout > 0 {
		deadline = time.Now().Add(timeout) // used once Try accepted it
	}
	for c.p.Block(w) && c.wait(w, deadline, (*resp.Writer).AppendNullArray) {
		w.Rewait()
	}
}

// wait parks the connection until w, parked in the shards, is served,
// times out, is cancelled or is woken, and appends the reply to the
// pipeline's output: timedOut writes it for a timeout. It reports true when
// w was woken: its command is to run again. It sets c.quit when the client
// went away or the server stops.
func (c *conn) wait(w *shard.Waiter, deadline time.Time, timedOut func(*resp.Writer)) (woken bool) {
	c.lastName.Store(c.last)
	c.lastCmd.Store(time.Now().UnixNano())
	out := c.p.Out()
	if !c.writeOut() {
		c.cancel(w, shard.Gone)
	}
	c.s.blocked.Add(1)
	c.parked.Store(w)
	defer func() {
		c.arm(nil, time.Time{})
		c.s.blocked.Add(-1)
	}()
	for {
		// Arm the deadline before looking at the state: a wake-up that
		// comes after the look interrupts the read below.
		c.arm(w, deadline)
		switch w.State() {
		case shard.Served:
			b := <-w.Reply.Done // sent once the pop is in the log
			// The waiter's reply, written by the shard into the waiter's
			// own buffer, which nothing writes to again: sent from there.
			if r := b.W.Bytes(); out.Splice(r) {
				out.Keep(r)
			}
			return false
		case shard.Woken:
			<-w.Reply.Done
			return !c.quit
		case shard.TimedOut:
			timedOut(&out.W)
			return false
		case shard.Unblocked:
			out.W.AppendError(MsgUnblocked)
			return false
		case shard.Gone:
			c.quit = true
			return false
		}
		if c.stopping.Load() || !c.grow() {
			c.cancel(w, shard.Gone)
			continue
		}
		n, err := c.nc.Read(c.buf[c.w:min(len(c.buf), c.bufLimit())])
		c.w += n
		var ne net.Error
		switch {
		case err == nil:
		case errors.As(err, &ne) && ne.Timeout():
			if !deadline.IsZero() && !time.Now().Before(deadline) {
				w.Cancel(shard.TimedOut)
			}
		default: // the client closed, or CLIENT KILL closed it
			c.cancel(w, shard.Gone)
		}
	}
}

// cancel cancels w with state st unless it was served first; a client
// served as it goes away still gets its reply written, to no one.
func (c *conn) cancel(w *shard.Waiter, st int32) {
	w.Cancel(st)
	if st == shard.Gone {
		c.quit = true
	}
}

// arm sets the read deadline of a connection parked with w (nil: no longer
// parked), under the lock that wake takes: a wake-up either comes after,
// and interrupts the next read, or before, and its state is seen after.
func (c *conn) arm(w *shard.Waiter, deadline time.Time) {
	c.wakeMu.Lock()
	if w == nil {
		c.parked.Store(nil)
	}
	c.nc.SetReadDeadline(deadline)
	if c.stopping.Load() {
		c.nc.SetReadDeadline(time.Now())
	}
	c.wakeMu.Unlock()
}

// wake interrupts the read of the connection if it is still parked with w.
// It may be called from any goroutine.
func (c *conn) wake(w *shard.Waiter) {
	c.wakeMu.Lock()
	if c.parked.Load() == w {
		c.nc.SetReadDeadline(time.Now())
	}
	c.wakeMu.Unlock()
}

// unblock ends the wait of the connection's parked command, as if it had
// timed out (TimedOut) or with the UNBLOCKED error (Unblocked), and
// reports whether there was one to end. It may be called from any
// goroutine.
func (c *conn) unblock(st int32) bool {
	w := c.parked.Load()
	if w == nil || !w.Cancel(st) {
		return false
	}
	c.wake(w)
	return true
}

// ParseUnblock parses CLIENT UNBLOCK id [TIMEOUT|ERROR]: the client's id
// and whether to answer it with the UNBLOCKED error, or Redis's error
// reply for bad arguments.
func ParseUnblock(args [][]byte) (id int64, asError bool, errReply string) {
	if len(args) != 3 && len(args) != 4 {
		return 0, false, "ERR wrong number of arguments for 'client|unblock' command"
	}
	id, err := strconv.ParseInt(string(args[2]), 10, 64)
	if err != nil {
		return 0, false, "ERR value is not an integer or out of range"
	}
	if len(args) == 4 {
		switch lower(args[3]) {
		case "timeout":
		case "error":
			asError = true
		default:
			return 0, false, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
		}
	}
	return id, asError, ""
}

// clientUnblock implements CLIENT UNBLOCK id [TIMEOUT|ERROR].
func (s *session) clientUnblock(w *resp.Writer, args [][]byte) {
	id, asError, msg := ParseUnblock(args)
	if msg != "" {
		w.AppendError(msg)
		return
	}
	st := shard.TimedOut
	if asError {
		st = shard.Unblocked
	}
	for _, c := range s.c.s.clients() {
		if c.id == id && c.unblock(st) {
			w.AppendInt(1)
			return
		}
	}
	w.AppendInt(0)
}

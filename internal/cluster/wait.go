package cluster

import (
	"strconv"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/tracker"

	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/server"
)

// WAIT on a cluster node.
//
// A write is acknowledged once a majority of its group's replicas logged
// it, so the leader and one follower at least in a group of three. WAIT
// numreplicas timeout answers how many of the other replicas have logged
// the client's writes, as Redis's counts the replicas that acknowledged
// them: for each group the client sent writes to on this connection, the
// group's leader counts its other replicas whose log reaches the last index
// of its own, taken when WAIT starts (the leader's log holds every write
// the client was answered for, and this index covers them); the answer is
// the smallest count over those groups, or over every group for a client
// that wrote nothing. When that is fewer than numreplicas, the client
// waits, asking again at growing intervals (1 ms, doubling, at most
// waitPollMax), until enough replicas caught up, the timeout passed (0:
// none) or CLIENT UNBLOCK, and is then answered the count it got last,
// asked again at the timeout (CLIENT UNBLOCK … ERROR: the UNBLOCKED
// error). The count is the leader's view: a replica counts once the leader
// heard that it logged the entries, as in Redis, where a replica counts
// once it acknowledged the offset.

// waitPollMax bounds the interval between a waiting client's questions.
const waitPollMax = 100 * time.Millisecond

// submit hands r to group g through the node, and notes the groups the
// client sent writes to, which WAIT asks about.
func (c *clientConn) submit(g int, r *Request) {
	if r.Mode == Write {
		if g >= len(c.wrote) {
			c.wrote = append(c.wrote, make([]bool, g+1-len(c.wrote))...)
		}
		c.wrote[g] = true
	}
	c.s.node.Do(g, r)
}

// acks answers an Acks request on the leader: how many of the group's
// other replicas have logged its entries up to the index in cmds (0: the
// last in its log), and that index, as a RESP array of two integers.
func (g *Group) acks(cmds [][][]byte) []byte {
	var target uint64
	if len(cmds) == 1 && len(cmds[0]) == 2 {
		target, _ = strconv.ParseUint(string(cmds[0][1]), 10, 64)
	}
	if target == 0 {
		// The leader's log holds every committed entry, so its last
		// index covers every write a client was answered for, whichever
		// replica led when it was. (A leader new in its term may not
		// know yet that they are committed: its commit index could be
		// lower than a write's.)
		target, _ = g.ms.LastIndex()
	}
	n := 0
	g.rn.WithProgress(func(id uint64, _ raft.ProgressType, pr tracker.Progress) {
		if id != g.cfg.ReplicaID && pr.Match >= target {
			n++
		}
	})
	var w resp.Writer
	w.AppendArray(2)
	w.AppendInt(int64(n))
	w.AppendInt(int64(target))
	return w.Bytes()
}

// waitCopies implements WAIT numreplicas timeout (see above).
func (c *clientConn) waitCopies(args [][]byte) {
	want, timeout, msg := server.ParseWait(args)
	if msg != "" {
		c.out.W.AppendError(msg)
		return
	}
	// Groups removed since (CLUSTER SETSHARDS) handed their keys on to
	// the others: they are not asked.
	var groups []int
	for g, w := range c.wrote[:min(len(c.wrote), c.s.node.Groups())] {
		if w {
			groups = append(groups, g)
		}
	}
	if len(groups) == 0 {
		for g := range c.s.node.Groups() {
			groups = append(groups, g)
		}
	}
	targets := make([]uint64, len(groups))
	n, err := c.countAcks(groups, targets)
	if err != nil {
		c.appendErr(err)
		return
	}
	if n >= want {
		c.out.W.AppendInt(n)
		return
	}
	if !c.writeOut() {
		c.quit = true
		return
	}
	c.countBlocked(true)
	c.blockMu.Lock()
	c.blockState = blockWaiting
	c.blockMu.Unlock()
	defer c.unpark(true)
	// The time a client waits is not its command's (as Redis, which times
	// a blocked command's runs only).
	c.rec.Pause(&c.mark)
	defer c.rec.Resume(&c.mark)
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	never := &waiter{} // nothing fires it: the polls ask again
	for poll := time.Millisecond; ; poll = min(2*poll, waitPollMax) {
		switch c.wait(never, deadline, poll) {
		case waitPoll:
			m, err := c.countAcks(groups, targets)
			if err == nil {
				n = m
			}
			if n >= want {
				c.out.W.AppendInt(n)
				return
			}
		case waitTimedOut:
			// The count at the timeout, as Redis answers, or the last
			// one when the leaders cannot be asked now.
			if m, err := c.countAcks(groups, targets); err == nil {
				n = m
			}
			c.out.W.AppendInt(n)
			return
		case waitUnblocked:
			c.out.W.AppendError(server.MsgUnblocked)
			return
		case waitGone:
			c.quit = true
			return
		}
	}
}

// countAcks asks the leader of each of groups how many of its other
// replicas have logged its entries up to targets[i] (0: the last index of
// its log now, which then becomes targets[i]) and returns the smallest
// count.
func (c *clientConn) countAcks(groups []int, targets []uint64) (int64, error) {
	ps := make([]*pending, len(groups))
	for i, g := range groups {
		p := &pending{}
		ps[i] = p
		c.submit(g, &Request{Cmds: [][][]byte{{[]byte("acks"), strconv.AppendUint(nil, targets[i], 10)}}, Proto: 2, Mode: Acks,
			Done: func(reply []byte, _ []int, err error) {
				p.reply = append(p.reply[:0], reply...)
				p.err = err
				c.done <- struct{}{}
			}})
	}
	for range ps {
		<-c.done
	}
	least := int64(-1)
	for i, p := range ps {
		if p.err != nil {
			return 0, p.err
		}
		n, target, ok := parseAcks(p.reply)
		if !ok {
			return 0, errBadReply
		}
		targets[i] = target
		if least < 0 || n < least {
			least = n
		}
	}
	return max(least, 0), nil
}

// parseAcks reads an Acks answer: "*2\r\n:<count>\r\n:<index>\r\n".
func parseAcks(b []byte) (n int64, index uint64, ok bool) {
	l, rest, ok := readLine(b)
	if !ok || string(l) != "*2" {
		return 0, 0, false
	}
	n, okN := parseIntReply(rest)
	_, rest, okL := readLine(rest)
	i, okI := parseIntReply(rest)
	return n, uint64(i), okN && okL && okI && n >= 0 && i >= 0
}

package cluster

import (
	"encoding/binary"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/tracker"
)

// maxBatchBytes bounds the data of an entryBatch entry: a write whose own
// entry would take more is proposed alone.
const maxBatchBytes = 256 << 10

// proposeQueued proposes the writes taken since the last proposal, in the
// order they came: one alone as an entryCommands entry, several together
// as entryBatch entries of at most maxBatchBytes. Raft's costs per entry
// (the proposal, its encoding in each append, the log record of every
// replica) are then paid once for all the writes a round carries. It runs
// on the group's goroutine before anything else proposes and before Raft's
// Ready is handled, so that the writes leave in this round's appends.
func (g *Group) proposeQueued() {
	q := g.queue
	if len(q) == 0 {
		return
	}
	g.queue = g.queue[:0]
	defer clear(q)
	if !g.isLeader {
		for _, r := range q {
			r.finish(nil, nil, ErrNotLeader)
		}
		return
	}
	now := time.Now()
	g.makeRoom(now)
	for len(q) > 0 {
		n := g.packBatch(q, now)
		if n == 1 {
			g.seq++
			g.propose(q[0], entryCommands, g.seq, now, q[0].Cmds)
			q = q[1:]
			continue
		}
		if err := g.rn.Propose(g.buf); err != nil {
			g.stats.Dropped.Add(int64(n)) // counted in writes, as for writes alone
			for _, r := range q[:n] {
				r.finish(nil, nil, ErrTryAgain)
			}
		} else {
			term := g.raftTerm()
			for i, r := range q[:n] {
				g.proposed(r, g.seq-uint64(n-1-i), now, term)
			}
		}
		q = q[n:]
	}
}

// proposeWhenSent is proposeQueued for a leader that could send the writes
// now: while every follower has its one append in flight (MaxInflight) or
// is being probed, Raft would only log writes proposed now and send them
// once an answer frees a follower's slot. They wait in the queue instead,
// and go as one entry, with one log write, right before the answer that
// frees the slot is stepped (Run), or at the next tick. A group of one
// replica proposes at once.
func (g *Group) proposeWhenSent() {
	if len(g.queue) == 0 || (g.isLeader && !g.canSend()) {
		return
	}
	g.proposeQueued()
}

// canSend reports whether the leader may send an append to a voting
// follower now, or has none.
func (g *Group) canSend() bool {
	can, followers := false, false
	g.rn.WithProgress(func(id uint64, typ raft.ProgressType, pr tracker.Progress) {
		if id != g.cfg.ReplicaID && typ == raft.ProgressTypePeer {
			followers = true
			can = can || !pr.IsPaused()
		}
	})
	return can || !followers
}

// packBatch encodes into g.buf an entryBatch entry of the first writes of
// q, as many as fit in maxBatchBytes, numbered with the sequence numbers
// after g.seq, which it takes, and returns how many it packed. When only
// the first fits, it returns 1, takes no number and leaves g.buf: that
// write is proposed alone.
func (g *Group) packBatch(q []*Request, now time.Time) int {
	n, size := 0, 0
	for _, r := range q {
		s := entryHeader + commandsSize(r.Cmds)
		s += uvarintLen(uint64(s))
		if n > 0 && size+s > maxBatchBytes {
			break
		}
		size += s
		n++
		if size > maxBatchBytes {
			break
		}
	}
	if n == 1 {
		return 1
	}
	g.buf = append(g.buf[:0], entryBatch)
	g.buf = binary.AppendUvarint(g.buf, uint64(n))
	for _, r := range q[:n] {
		// Each write's entry goes in place after its length, known
		// beforehand (TestCommandsSize keeps the two in step).
		g.seq++
		g.buf = binary.AppendUvarint(g.buf, uint64(entryHeader+commandsSize(r.Cmds)))
		g.buf = g.appendEntry(g.buf, r, entryCommands, g.seq, now, r.Cmds)
	}
	return n
}

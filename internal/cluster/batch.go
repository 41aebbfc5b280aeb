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
	g.gatherFrom = time.Time{}
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
// and go as one entry, with one log write, once a slot is free (right
// before the answer that frees it is stepped, without BatchWait), or at
// the next tick. A leader that is gathering a round's writes (gathering)
// keeps them too. A group of one replica proposes at once. It reports
// whether it proposed.
func (g *Group) proposeWhenSent() bool {
	if len(g.queue) == 0 {
		return false
	}
	if g.isLeader {
		can, followers := g.sendable()
		if followers && (!can || g.gathering()) {
			return false
		}
	}
	g.proposeQueued()
	return true
}

// gathering reports whether a leader with followers keeps its queued
// writes back for more (GroupConfig.BatchWait). At -c 50 unpipelined, a
// group's clients otherwise fall into two cohorts that take turns, each in
// rounds of its own: one cohort's writes are proposed while the other's
// round is in flight. A Raft round costs every replica a log write, and
// each follower a wake-up, a read and an answer, whatever it carries; one
// round for both cohorts halves those costs per write.
//   - While writes of the leader's proposals wait to apply, the writes
//     queued since stay queued: they go together once the round applies.
//   - Then, for up to BatchWait from when it began to wait, until as many
//     writes are queued as it answered since it last had none waiting,
//     plus those that were queued then: the clients just answered are
//     expected to send again, and a client that does not only costs the
//     wait once (the next count is of the writes that came).
//
// A lone client is answered, sends again, and its write goes at once (one
// answered, one queued). The tick proposes what is queued unless it is
// being gathered: a round that does not apply (a leader cut off from its
// followers) holds the writes after it until it does, or until its writes
// end at their WriteTimeout, as those writes could not commit either.
func (g *Group) gathering() bool {
	switch {
	case g.cfg.BatchWait <= 0:
		return false
	case len(g.waiters) > 0:
		return true
	case len(g.queue) >= g.expect:
		return false
	case g.gatherFrom.IsZero():
		g.gatherFrom = time.Now()
		g.gatherT.Reset(g.cfg.BatchWait)
		return true
	}
	return time.Since(g.gatherFrom) < g.cfg.BatchWait
}

// sendable reports whether the leader may send an append to a voting
// follower now, and whether it has any.
func (g *Group) sendable() (can, followers bool) {
	g.rn.WithProgress(func(id uint64, typ raft.ProgressType, pr tracker.Progress) {
		if id != g.cfg.ReplicaID && typ == raft.ProgressTypePeer {
			followers = true
			can = can || !pr.IsPaused()
		}
	})
	return can, followers
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

package cluster

import (
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

// Read leases. A linearizable read needs the leader to know that no other
// replica has been elected since the read arrived. A ReadIndex round proves
// it for one moment, at the cost of a heartbeat to every follower and their
// answers. A lease stretches one proof over a span of time, as TiKV and
// CockroachDB do, so that the reads within it are served from the leader's
// applied state at once:
//
//   - A ReadIndex round started at S (read on the monotonic clock before
//     its heartbeats go out) and acknowledged by a quorum gives its leader
//     a lease until S + Lease, in the round's term.
//   - Each follower of that quorum received the heartbeat after S, and
//     Raft's CheckQuorum makes it ignore (pre-)votes for another candidate
//     until it has counted ElectionTicks ticks without hearing from its
//     leader. The group's ticker delivers at most one tick that fired
//     before the heartbeat, so those ticks take at least ElectionTicks−2
//     tick intervals: Lease is nine tenths of that, the tenth covering
//     clocks that run at different rates.
//   - Every quorum that could elect another leader holds one of those
//     followers, so none is elected before S + Lease. A configuration
//     change committed meanwhile needs the leader, and its new quorum's
//     members then heard from it after S too.
//   - The lease is checked on the monotonic clock at the moment a read is
//     served, so a leader paused for any time (a stopped process, a long
//     garbage collection) finds it expired when it runs again; a count of
//     ticks would not, since a paused goroutine counts none.
//   - A replica that restarts has forgotten its leader and would vote at
//     once: it ignores (pre-)votes for an election timeout after it starts
//     with a log (voteAfter).
//   - A leadership transfer makes the followers vote at once (Raft's
//     forced campaign), and the transferee may act on it late: a leader
//     that started a transfer takes no lease for the rest of its term.
//   - A read under a lease runs once the applied state has reached the
//     commit index, which covers every write acknowledged before the read
//     arrived; a new leader gets its first lease only from a round, which
//     Raft answers once an entry of its term is committed.
//
// While the leader serves reads under its lease, it renews the lease with
// a round of its own every few ticks (renewal), so that steady reads never
// wait for one.

// leaseSpan is how long a quorum's acknowledgement lets the leader serve
// reads alone, 0 when leases are off or the election timeout too short.
func (c GroupConfig) leaseSpan() time.Duration {
	if !c.ReadLease || c.ElectionTicks < 3 {
		return 0
	}
	return time.Duration(c.ElectionTicks-2) * c.Tick * 9 / 10
}

// leased reports whether the replica may serve a read alone at now. Used by
// the group's goroutine only.
func (g *Group) leased(now time.Time) bool {
	return g.isLeader && g.leaseTerm == g.curTerm && g.noLease != g.curTerm && now.Before(g.lease)
}

// renewLease asks for a round that renews the lease when the replica leads
// and its lease ends within half a span: at each tick.
func (g *Group) renewLease(now time.Time) {
	span := g.cfg.leaseSpan()
	if span == 0 || !g.isLeader || g.noLease == g.curTerm {
		return
	}
	if g.leaseTerm != g.curTerm || g.lease.Sub(now) < span/2 {
		g.renew = true
	}
}

// roundAnswered extends the lease with a round that a quorum acknowledged.
func (g *Group) roundAnswered(rd *readRound) {
	span := g.cfg.leaseSpan()
	if span == 0 || !g.isLeader || rd.term != g.curTerm || g.noLease == g.curTerm {
		return
	}
	if until := rd.start.Add(span); g.leaseTerm != g.curTerm || until.After(g.lease) {
		g.lease, g.leaseTerm = until, g.curTerm
	}
}

// dropLease ends the lease, for good in this term: before a leadership
// transfer.
func (g *Group) dropLease() {
	g.lease = time.Time{}
	g.noLease = g.curTerm
}

// transfer hands leadership to replica to, dropping the lease first.
func (g *Group) transfer(to uint64) {
	g.dropLease()
	g.rn.TransferLeader(to)
}

// deafToVote reports whether m asks for a vote that this replica, restarted
// less than an election timeout ago, must not give.
func (g *Group) deafToVote(m *raftpb.Message) bool {
	t := m.GetType()
	return (t == raftpb.MsgVote || t == raftpb.MsgPreVote) && !g.voteAfter.IsZero() && time.Now().Before(g.voteAfter)
}

package cluster

import (
	"slices"
	"strconv"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"go.etcd.io/raft/v3/tracker"
	"google.golang.org/protobuf/proto"
)

// A group's members change the way etcd's do, driven by its leader toward
// the voters the placement table names (SetMembers):
//
//  1. a replica the table adds joins as a Raft learner: it votes in nothing
//     while the leader sends it a snapshot and the log;
//  2. once it has caught up, one joint change (ConfChangeV2, left
//     automatically) promotes it and removes the replica it replaces, so
//     that a majority of both the old and the new voters agrees on every
//     entry meanwhile;
//  3. a leader that the table takes away first hands leadership to a
//     voter that stays, or, when no voter stays (a group of one replica
//     moving), leads the joint change that removes it and steps down.
//
// One change is under way at a time. The node sees the change done in
// Members and settles the move in the table.

// catchUp is how far behind the commit index a learner may be and count as
// caught up: under a steady stream of writes it is never exactly level.
const catchUp = 1000

// members is what the placement table wants of a group: its voters and its
// preferred leader.
type members struct {
	voters    []uint64
	preferred uint64
}

// SetMembers sets the voters the group should have and its preferred
// leader. The group's leader changes the Raft configuration to match, one
// step at a time; other replicas keep it for when they lead.
func (g *Group) SetMembers(voters []uint64, preferred uint64) {
	g.want.Store(&members{voters: slices.Clone(voters), preferred: preferred})
}

// Members returns the group's configuration as this replica last applied
// it: voters, learners, and whether a joint change is under way.
func (g *Group) Members() (voters, learners []uint64, joint bool) {
	cs := g.members.Load()
	if cs == nil {
		return nil, nil, false
	}
	return slices.Clone(cs.GetVoters()), slices.Clone(cs.GetLearners()), len(cs.GetVotersOutgoing()) > 0
}

// publishConf makes the applied configuration visible to Members.
func (g *Group) publishConf() {
	if g.conf != nil {
		g.members.Store(proto.CloneOf(g.conf))
		id := g.cfg.ReplicaID
		g.removed.Store(!slices.Contains(g.conf.GetVoters(), id) && !slices.Contains(g.conf.GetLearners(), id) &&
			!slices.Contains(g.conf.GetVotersOutgoing(), id) && !slices.Contains(g.conf.GetLearnersNext(), id) &&
			len(g.conf.GetVoters()) > 0)
	}
}

// Removed reports whether the replica has applied its own removal from
// the group: what it believes of the group's leader is stale.
func (g *Group) Removed() bool { return g.removed.Load() }

// confApplied records a configuration change applied: the next may be
// proposed.
func (g *Group) confApplied(cs *raftpb.ConfState) {
	g.conf = cs
	g.confWait = time.Time{}
	g.publishConf()
	g.log.Info("configuration changed", "voters", cs.GetVoters(), "learners", cs.GetLearners(),
		"outgoing", cs.GetVotersOutgoing())
}

// preferred returns the replica that should lead the group.
func (g *Group) preferred() uint64 {
	if m := g.want.Load(); m != nil && m.preferred != 0 {
		return m.preferred
	}
	return g.cfg.Preferred
}

// reconfigure takes the next step toward the wanted voters, on the
// leader, at most one configuration change at a time.
func (g *Group) reconfigure(now time.Time) {
	m := g.want.Load()
	if m == nil || !g.isLeader || g.conf == nil || now.Before(g.confWait) || len(m.voters) == 0 {
		return
	}
	cs := g.conf
	if len(cs.GetVotersOutgoing()) > 0 {
		return // joint: Raft leaves it on its own
	}
	want := m.voters
	voters, learners := cs.GetVoters(), cs.GetLearners()
	var changes []*raftpb.ConfChangeSingle
	add := func(t raftpb.ConfChangeType, id uint64) {
		changes = append(changes, &raftpb.ConfChangeSingle{Type: t.Enum(), NodeId: new(id)})
	}
	// Learners first: a new replica catches up before it votes.
	for _, id := range want {
		if !slices.Contains(voters, id) && !slices.Contains(learners, id) {
			add(raftpb.ConfChangeType_ConfChangeAddLearnerNode, id)
		}
	}
	for _, id := range learners {
		if !slices.Contains(want, id) {
			add(raftpb.ConfChangeType_ConfChangeRemoveNode, id)
		}
	}
	if len(changes) > 0 {
		g.proposeConf(changes, false, now)
		return
	}
	leaving := false
	for _, id := range voters {
		leaving = leaving || !slices.Contains(want, id)
	}
	if len(learners) == 0 && !leaving {
		return // the configuration is the table's
	}
	st := g.rn.Status()
	caughtUp := func(id uint64) bool {
		pr, ok := st.Progress[id]
		return ok && g.alive(id) && pr.State == tracker.StateReplicate && pr.Match+catchUp >= st.GetCommit()
	}
	for _, id := range learners {
		if !caughtUp(id) {
			return
		}
	}
	stays := slices.ContainsFunc(voters, func(id uint64) bool { return slices.Contains(want, id) })
	if !slices.Contains(want, g.cfg.ReplicaID) && stays {
		// This leader goes: hand over to a voter that stays. When none
		// does (the group's only voter moves), the joint change below
		// promotes the learners and removes this leader, which leads
		// the joint configuration and steps down once Raft leaves it.
		to := g.preferred()
		if !slices.Contains(want, to) || !slices.Contains(voters, to) || !caughtUp(to) {
			to = 0
			for _, id := range want {
				if slices.Contains(voters, id) && caughtUp(id) {
					to = id
					break
				}
			}
		}
		if to != 0 && st.LeadTransferee == 0 {
			g.log.Info("handing leadership over before leaving the group", "to", to)
			g.transfer(to)
			g.confWait = now.Add(g.cfg.Tick * time.Duration(g.cfg.ElectionTicks))
		}
		return
	}
	for _, id := range learners {
		add(raftpb.ConfChangeType_ConfChangeAddNode, id)
	}
	for _, id := range voters {
		if !slices.Contains(want, id) {
			add(raftpb.ConfChangeType_ConfChangeRemoveNode, id)
		}
	}
	g.proposeConf(changes, len(changes) > 1, now)
}

// proposeConf proposes one configuration change; a joint one, which Raft
// leaves by itself once it is applied, changes more than one voter.
func (g *Group) proposeConf(changes []*raftpb.ConfChangeSingle, joint bool, now time.Time) {
	cc := &raftpb.ConfChangeV2{Changes: changes}
	if joint {
		cc.Transition = raftpb.ConfChangeTransition_ConfChangeTransitionJointImplicit.Enum()
	}
	if err := g.rn.ProposeConfChange(cc); err != nil {
		g.log.Warn("configuration change refused", "err", err)
		return
	}
	g.log.Info("configuration change proposed", "changes", describeChanges(changes))
	// Wait for it to apply (apply clears confWait) or give up after the
	// write timeout: a change proposed by a leader that lost its place may
	// never commit.
	g.confWait = now.Add(g.cfg.WriteTimeout)
}

func describeChanges(changes []*raftpb.ConfChangeSingle) []string {
	s := make([]string, len(changes))
	for i, c := range changes {
		s[i] = c.GetType().String() + " " + strconv.FormatUint(c.GetNodeId(), 10)
	}
	return s
}

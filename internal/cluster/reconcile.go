package cluster

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/data-cluster/data-cluster/internal/placement"
)

// A node follows the placement table the metadata group holds. Every tick
// it:
//
//   - reads the table from its replica of the metadata group (or from the
//     group's leader when it holds none) and adopts it when its epoch is
//     higher;
//   - starts the replicas the table gives it, which join their groups
//     empty and are sent a snapshot, and stops and drops those the table
//     took away (only once a move has settled, so Raft has removed them);
//   - tells each replica the voters the table wants, for its leader to
//     change the Raft configuration (members.go);
//   - for each group whose leader it holds, settles a move once Raft's
//     configuration is the table's;
//   - when it leads the metadata group, plans the next step toward a
//     healthy, balanced table (placement.Table.Plan) and writes it, if
//     automatic placement is on.
//
// Every change of the table goes through the metadata group's log as a
// compare-and-set on the table, so no two nodes ever act on different
// tables of the same epoch.

// adopt makes t the table the node follows, if it is newer than the one it
// has.
func (n *Node) adopt(t *placement.Table) {
	for {
		cur := n.v()
		if t.Epoch() <= cur.table.Epoch() {
			return
		}
		if n.view.CompareAndSwap(cur, newView(t, n.cfg.NodeID)) {
			n.log.Info("placement table changed", "epoch", t.Epoch())
			if n.cfg.OnTable != nil {
				n.cfg.OnTable(t)
			}
			return
		}
	}
}

// followTable reads the cluster's current table in mode and adopts it if it is
// newer than the node's. Only a newer table is decoded: the loop reads the
// table every tick, and decoding one costs far more than reading it.
func (n *Node) followTable(mode Mode) error {
	b, _, err := n.readEncodedTable(mode)
	if err != nil {
		return err
	}
	epoch, err := placement.EncodedEpoch(b)
	if err != nil || epoch <= n.v().table.Epoch() {
		return err
	}
	t, err := placement.Decode(b)
	if err != nil {
		return err
	}
	n.adopt(t)
	return nil
}

// reconcileLoop runs the steps above every tick until ctx is done.
func (n *Node) reconcileLoop(ctx context.Context) {
	t := time.NewTicker(n.cfg.Group.Tick)
	defer t.Stop()
	for tick := 0; ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n.observePeers(time.Now())
		n.probeLeaders(tick%n.cfg.Group.ElectionTicks == 0)
		if !n.agreed.Load() {
			continue
		}
		// From the local replica, and now and then through the leader: a
		// replica removed from the metadata group hears of nothing after
		// its removal, the table that drops it included.
		mode := Stale
		if n.local(n.meta) == nil || tick%n.cfg.Group.ElectionTicks == 0 {
			mode = Read
		}
		if err := n.followTable(mode); err != nil {
			n.log.Debug("reading the placement table", "mode", mode, "err", err)
		}
		v := n.v()
		n.reconcile(v)
		n.settle(v)
		n.plan(v)
		n.planShards(v)
		n.startMover(n.v())
	}
}

// probeLeaders asks a node of each group this node holds no replica of,
// or one that knows no leader yet (just added), for its leader, when none
// is known or, with all, for every such group:
// the answer to a forwarded request names the leader, and CLUSTER SLOTS and
// cluster_state need it before any client request has gone there.
func (n *Node) probeLeaders(all bool) {
	if !n.agreed.Load() {
		return
	}
	for g := range n.v().ngroups {
		if loc := n.local(g); loc != nil && loc.Leader() != 0 || (!all && n.hints[g].Load() != 0) {
			continue
		}
		n.Do(g, &Request{Mode: Stale, Done: func([]byte, []int, error) {}})
	}
}

// reconcile starts and stops replicas to match v, and tells every replica
// the voters wanted.
func (n *Node) reconcile(v *view) {
	for g := range n.all {
		grp := v.group(g, n.meta)
		// A node removed from the table holds nothing: it was drained.
		id, want := grp.Holds(v.self)
		loc := n.local(g)
		switch {
		case want && loc != nil && loc.cfg.ReplicaID != id:
			// An old replica of the group, removed, and a new one
			// wanted here again.
			n.removeReplica(g)
			n.addReplica(g, id, grp.Born)
		case want && loc == nil:
			n.addReplica(g, id, grp.Born)
		case !want && loc != nil:
			n.removeReplica(g)
		}
		if loc := n.local(g); loc != nil && want {
			loc.SetMembers(grp.IDs, grp.IDs[0])
		}
	}
}

// addReplica starts this node's replica id of group g, empty: it joins the
// group once its leader adds it, or founds it with the other replicas born
// with the group when id is one of them.
func (n *Node) addReplica(g int, id uint64, born []uint64) {
	n.repMu.Lock()
	defer n.repMu.Unlock()
	if n.runCtx == nil || n.runCtx.Err() != nil || n.local(g) != nil {
		return
	}
	n.held[g] = id
	if err := saveHeld(n.store, n.held); err != nil {
		n.log.Error("saving the node's replica ids", "err", err)
		delete(n.held, g)
		return
	}
	st, state, err := n.cfg.OpenStorage(n.storageID(g))
	if err == nil && !state.empty() {
		// What a replica removed before a crash left: not this one's.
		if d, ok := st.(dropper); ok {
			err = d.Drop()
		}
		if err == nil {
			st, state, err = n.cfg.OpenStorage(n.storageID(g))
		}
	}
	var peers []uint64
	if slices.Contains(born, id) {
		peers = born
	}
	var grp *Group
	if err == nil {
		grp, err = n.newReplica(g, id, peers, peers != nil, st, state)
	}
	if err != nil {
		n.log.Error("starting a replica", "group", g, "replica", id, "err", err)
		return
	}
	n.log.Info("replica added", "group", g, "replica", id)
	n.all[g].Store(grp)
	n.runReplica(g, grp)
}

// dropper is a Storage that can forget a replica's log.
type dropper interface{ Drop() error }

// removeReplica stops this node's replica of group g and drops its log.
func (n *Node) removeReplica(g int) {
	n.repMu.Lock()
	defer n.repMu.Unlock()
	loc := n.local(g)
	if loc == nil {
		return
	}
	n.all[g].Store(nil)
	if c := n.cancels[g]; c != nil {
		c()
		n.cancels[g] = nil
	}
	<-loc.done
	if d, ok := loc.cfg.Storage.(dropper); ok {
		if err := d.Drop(); err != nil {
			n.log.Error("dropping a removed replica's log", "group", g, "err", err)
			return
		}
	}
	delete(n.held, g)
	if err := saveHeld(n.store, n.held); err != nil {
		n.log.Error("saving the node's replica ids", "err", err)
	}
	n.log.Info("replica removed", "group", g, "replica", loc.cfg.ReplicaID)
}

// settle ends the moves of the groups this node leads whose Raft
// configuration has become the table's.
func (n *Node) settle(v *view) {
	for g := range n.all {
		grp := v.group(g, n.meta)
		loc := n.local(g)
		if !grp.Moving() || loc == nil || loc.Leader() != loc.cfg.ReplicaID {
			continue
		}
		voters, learners, joint := loc.Members()
		slices.Sort(voters)
		want := slices.Sorted(slices.Values(grp.IDs))
		if joint || len(learners) > 0 || !slices.Equal(voters, want) {
			continue
		}
		gid := grp.ID
		if _, err := n.changeTable(func(t *placement.Table) (*placement.Table, error) { return t.Settle(gid) }); err != nil {
			if !errors.Is(err, placement.ErrChange) {
				n.log.Warn("settling a move", "group", gid, "err", err)
			}
			continue
		}
		n.log.Info("move done", "group", gid)
	}
}

// observePeers notes which peers are connected now.
func (n *Node) observePeers(now time.Time) {
	if n.tr == nil {
		return
	}
	v := n.v()
	n.seenMu.Lock()
	defer n.seenMu.Unlock()
	for i, nd := range v.nodes {
		if _, ok := n.lastSeen[nd.ID]; !ok || i == v.self || n.tr.Connected(nd.ID) {
			n.lastSeen[nd.ID] = now
		}
	}
}

// unreachable says how node i of v looks from here, as CLUSTER NODES,
// SHARDS and SLOTS report it: "" while this node is connected to it (or it
// is this node), "fail?" once it is not, and "fail" once it has been out of
// reach for longer than an election timeout, which is when its groups have
// elected other leaders. Redis Cluster shows the same two steps (PFAIL,
// then FAIL once a majority of masters agrees); here the view is this
// node's own, from its connection to the peer.
//
// A node that stays connected but has sent no frame of heartbeats (every
// node sends each other one every half tick) for an election timeout is
// out of reach too: "fail?" from then, "fail" an election timeout later. One
// never heard from (just connected) is not.
func (n *Node) unreachable(v *view, i int) string {
	if i == v.self || n.tr == nil {
		return ""
	}
	id := v.nodes[i].ID
	timeout := n.cfg.Group.Tick * time.Duration(n.cfg.Group.ElectionTicks)
	n.seenMu.Lock()
	seen, ok := n.lastSeen[id]
	heard, wasHeard := n.heard[id]
	n.seenMu.Unlock()
	if n.tr.Connected(id) {
		if !wasHeard || time.Since(heard) <= timeout {
			return ""
		}
		seen, ok = heard.Add(timeout), true
	}
	if ok && time.Since(seen) <= timeout {
		return "fail?"
	}
	return "fail"
}

// down reports whether node id has been out of reach for longer than
// NodeConfig.DownAfter.
func (n *Node) down(id string) bool {
	n.seenMu.Lock()
	defer n.seenMu.Unlock()
	seen, ok := n.lastSeen[id]
	return ok && time.Since(seen) > n.cfg.DownAfter
}

// errNoStep is changeTable's answer when Plan has nothing to do.
var errNoStep = errors.New("cluster: no placement step to take")

// planShards writes the next step toward the number of groups and of
// replicas the table wants (placement.Table.PlanShards and PlanReplicas)
// when this node leads the metadata group. Unlike replica placement it is
// never off: both change only when told to.
func (n *Node) planShards(v *view) {
	n.takeStep(v, "shard step", (*placement.Table).PlanShards)
	n.takeStep(v, "replica count step", (*placement.Table).PlanReplicas)
}

// plan writes the next step of placement.Table.Plan, when this node leads
// the metadata group and automatic placement is on.
func (n *Node) plan(v *view) {
	if !n.cfg.ManualPlacement {
		n.takeStep(v, "placement step", (*placement.Table).Plan)
	}
}

// takeStep writes the next step a planner gives, when this node leads the
// metadata group, and logs it as what.
func (n *Node) takeStep(v *view, what string, planner func(*placement.Table, func(string) bool) (placement.Step, bool)) {
	loc := n.local(n.meta)
	if loc == nil || loc.Leader() != loc.cfg.ReplicaID {
		return
	}
	if _, ok := planner(v.table, n.down); !ok {
		return
	}
	var step placement.Step
	_, err := n.changeTable(func(t *placement.Table) (*placement.Table, error) {
		var ok bool
		if step, ok = planner(t, n.down); !ok {
			return nil, errNoStep
		}
		return t.Apply(step)
	})
	switch {
	case errors.Is(err, errNoStep):
	case err != nil:
		n.log.Warn(what+" refused", "step", step.String(), "err", err)
	default:
		n.log.Info(what, "step", step.String())
	}
}

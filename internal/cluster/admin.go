package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/data-cluster/data-cluster/internal/placement"
)

// Operations that change the cluster's shape, for the CLUSTER subcommands
// of ours (MOVE, FORGET, REBALANCE, STATUS) and the admin command line.
// Each is one change of the placement table, written to the metadata
// group's log; the nodes then carry it out (reconcile.go).

// ErrNodeDown reports a move to a node that is out of reach.
var ErrNodeDown = errors.New("cluster: node is down")

// MoveReplica starts moving group g's replica (placement.Meta for the
// metadata group) from node from to node to.
func (n *Node) MoveReplica(g int, from, to string) error {
	v := n.v()
	if i := v.table.NodeIndex(to); i >= 0 && i != v.self && (n.down(to) || n.tr == nil || !n.tr.Connected(to)) {
		return fmt.Errorf("%w: %s is out of reach", ErrNodeDown, to)
	}
	_, err := n.changeTable(func(t *placement.Table) (*placement.Table, error) { return t.Move(g, from, to) })
	return err
}

// RemoveNode drains node id: its replicas move to the other nodes, and
// once it holds none it leaves the table (the next automatic step, or
// Rebalance).
func (n *Node) RemoveNode(id string) error {
	_, err := n.changeTable(func(t *placement.Table) (*placement.Table, error) { return t.Drain(id) })
	return err
}

// Rebalance takes the next step toward a healthy, balanced table, with
// automatic placement on or off, and describes it; ok is false when there
// is nothing to do.
func (n *Node) Rebalance() (step string, ok bool, err error) {
	var s placement.Step
	_, err = n.changeTable(func(t *placement.Table) (*placement.Table, error) {
		var found bool
		if s, found = t.Plan(n.down); !found {
			return nil, errNoStep
		}
		return t.Apply(s)
	})
	if errors.Is(err, errNoStep) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return s.String(), true, nil
}

// SetShards makes the cluster head for shards groups: groups are added,
// or emptied and removed, and slots move between them while clients read
// and write (placement.Table.PlanShards, mover.go). It fails while an
// earlier change to another number of groups is under way; asking again
// for the number under way changes nothing.
func (n *Node) SetShards(shards int) error {
	if n.Loading() {
		return ErrLoading
	}
	_, err := n.changeTable(func(t *placement.Table) (*placement.Table, error) {
		_, moving := t.Migration()
		_, next := t.PlanShards(n.down)
		if (moving || next) && shards == t.WantShards() {
			return nil, errNoStep
		}
		if moving || next {
			return nil, fmt.Errorf("%w: the cluster is already changing to %d shard groups; wait for it to end",
				placement.ErrChange, t.WantShards())
		}
		return t.SetShards(shards, n.cfg.Vnodes)
	})
	if errors.Is(err, errNoStep) {
		return nil
	}
	return err
}

// SetReplicas makes every data group head for replicas replicas: groups
// with fewer gain them on the nodes holding the fewest, groups with more
// lose them, one change at a time (placement.Table.PlanReplicas).
func (n *Node) SetReplicas(replicas int) error {
	_, err := n.changeTable(func(t *placement.Table) (*placement.Table, error) {
		if replicas == t.WantReplicas() {
			return nil, errNoStep
		}
		return t.SetReplicas(replicas)
	})
	if errors.Is(err, errNoStep) {
		return nil
	}
	return err
}

// StatusReport is CLUSTER STATUS: the table this node follows and what it
// knows of its own replicas. The admin command line merges the reports of
// every node.
type StatusReport struct {
	Node   string        `json:"node"`
	Epoch  uint64        `json:"epoch"`
	Agreed bool          `json:"agreed"`
	Nodes  []NodeStatus  `json:"nodes"`
	Groups []GroupStatus `json:"groups"`
	Meta   *GroupStatus  `json:"meta"`
	// Shards is the number of groups the cluster heads for; Migration the
	// slots moving between two of them, if any.
	Shards int `json:"shards"`
	// Replicas is the number of replicas every group heads for.
	Replicas  int              `json:"replicas"`
	Migration *MigrationStatus `json:"migration"`
	// Reshaping is true until the groups are as Shards wants them.
	Reshaping bool `json:"reshaping"`
	// KeysMoved counts the keys this node's movers have moved.
	KeysMoved int64 `json:"keys_moved"`
	// Loading is true while the node loads a single server's data.
	Loading bool `json:"loading"`
}

// MigrationStatus describes slots moving between groups.
type MigrationStatus struct {
	From  int `json:"from"`
	To    int `json:"to"`
	Slots int `json:"slots"`
}

// NodeStatus describes one node of the table.
type NodeStatus struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Addr      string `json:"addr"`
	PeerAddr  string `json:"peer_addr"`
	Connected bool   `json:"connected"`
	Down      bool   `json:"down"`
	Draining  bool   `json:"draining"`
	Replicas  int    `json:"replicas"`
	Leads     int    `json:"leads"`
}

// GroupStatus describes one group: its replicas in the table and, when
// this node holds one, that replica's Raft state.
type GroupStatus struct {
	Group    int             `json:"group"`
	Slots    int             `json:"slots"`
	Leader   string          `json:"leader"`
	Moving   bool            `json:"moving"`
	Replicas []ReplicaStatus `json:"replicas"`
	Local    *LocalStatus    `json:"local"`
}

// ReplicaStatus is one replica of a group in the table.
type ReplicaStatus struct {
	Node    string `json:"node"`
	ID      uint64 `json:"id"`
	Leaving bool   `json:"leaving"`
}

// LocalStatus is this node's replica of a group.
type LocalStatus struct {
	Replica  uint64   `json:"replica"`
	Role     string   `json:"role"`
	Term     uint64   `json:"term"`
	Commit   uint64   `json:"commit"`
	Applied  uint64   `json:"applied"`
	Voters   []uint64 `json:"voters"`
	Learners []uint64 `json:"learners"`
}

// Status returns the node's report.
func (n *Node) Status() StatusReport {
	v := n.v()
	r := StatusReport{Node: n.cfg.NodeID, Epoch: v.table.Epoch(), Agreed: n.agreed.Load(),
		Shards: v.table.WantShards(), Replicas: v.table.WantReplicas(), KeysMoved: n.migStats.Keys.Load(),
		Loading: n.Loading()}
	if m, ok := v.table.Migration(); ok {
		r.Migration = &MigrationStatus{From: m.From, To: m.To, Slots: placement.SlotCount(m.Slots)}
	}
	_, next := v.table.PlanShards(n.down)
	r.Reshaping = r.Migration != nil || next
	for i, nd := range v.nodes {
		ns := NodeStatus{ID: nd.ID, Name: placement.NodeName(nd.ID), Addr: n.ClientAddr(v, i), PeerAddr: nd.PeerAddr,
			Connected: i == v.self || n.tr != nil && n.tr.Connected(nd.ID), Down: i != v.self && n.down(nd.ID), Draining: nd.Draining}
		for _, g := range v.table.Groups() {
			if slices.Contains(g.Replicas, i) || slices.Contains(g.Leaving, i) {
				ns.Replicas++
			}
			if g.Replicas[0] == i {
				ns.Leads++
			}
		}
		r.Nodes = append(r.Nodes, ns)
	}
	for _, g := range v.indexes() {
		gs := n.groupStatus(v, g)
		if g == n.meta {
			r.Meta = &gs
		} else {
			r.Groups = append(r.Groups, gs)
		}
	}
	return r
}

func (n *Node) groupStatus(v *view, g int) GroupStatus {
	grp := v.group(g, n.meta)
	gs := GroupStatus{Group: grp.ID, Moving: grp.Moving(), Replicas: []ReplicaStatus{}}
	if g != n.meta {
		for _, r := range v.table.Ranges(g) {
			gs.Slots += int(r.End-r.Start) + 1
		}
	}
	if l := n.Leader(v, g); l >= 0 {
		gs.Leader = v.nodes[l].ID
	}
	for i, r := range grp.Replicas {
		gs.Replicas = append(gs.Replicas, ReplicaStatus{Node: v.nodes[r].ID, ID: grp.IDs[i]})
	}
	for i, r := range grp.Leaving {
		gs.Replicas = append(gs.Replicas, ReplicaStatus{Node: v.nodes[r].ID, ID: grp.LeavingIDs[i], Leaving: true})
	}
	if loc := n.local(g); loc != nil {
		st := loc.Status()
		voters, learners, _ := loc.Members()
		slices.Sort(voters)
		slices.Sort(learners)
		gs.Local = &LocalStatus{Replica: loc.cfg.ReplicaID, Role: st.Role, Term: st.Term, Commit: st.Commit,
			Applied: st.Applied, Voters: nonNil(voters), Learners: nonNil(learners)}
	}
	return gs
}

func nonNil(s []uint64) []uint64 {
	if s == nil {
		return []uint64{}
	}
	return s
}

// adminError turns an error of the operations above into a reply's text.
func adminError(err error) string {
	msg := err.Error()
	for _, p := range []string{"placement: invalid change: ", "cluster: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	switch {
	case errors.Is(err, ErrTryAgain) || errors.Is(err, ErrUnknown) || errors.Is(err, ErrConflict):
		return "TRYAGAIN " + msg
	case errors.Is(err, ErrLoading):
		return "LOADING " + msg
	}
	return "ERR " + msg
}

// admin runs CLUSTER STATUS|MOVE|FORGET|REBALANCE|SETSHARDS|SETREPLICAS|
// ADDNODE, whose arity the caller checked, reporting false for another
// subcommand.
func (c *clientConn) admin(sub string, args [][]byte) bool {
	w := &c.out.W
	n := c.s.node
	switch sub {
	case "status":
		b, err := json.Marshal(n.Status())
		if err != nil {
			w.AppendError("ERR " + err.Error())
			return true
		}
		w.AppendBulk(b)
	case "move":
		g := placement.Meta
		if s := strings.ToLower(string(args[2])); s != "meta" {
			v, err := strconv.Atoi(s)
			if err != nil || v < 0 {
				w.AppendError("ERR invalid group '" + string(args[2]) + "': use a group number or meta")
				return true
			}
			g = v
		}
		if err := n.MoveReplica(g, string(args[3]), string(args[4])); err != nil {
			w.AppendError(adminError(err))
			return true
		}
		w.AppendOK()
	case "forget":
		id := string(args[2])
		// A Redis Cluster node name (40 hex digits) names a node too.
		for _, nd := range n.Table().Nodes() {
			if placement.NodeName(nd.ID) == strings.ToLower(id) {
				id = nd.ID
			}
		}
		if n.Table().NodeIndex(id) < 0 {
			w.AppendError("ERR Unknown node " + id)
			return true
		}
		if err := n.RemoveNode(id); err != nil {
			w.AppendError(adminError(err))
			return true
		}
		w.AppendOK()
	case "setshards":
		k, err := strconv.Atoi(string(args[2]))
		if err != nil {
			w.AppendError("ERR invalid number of shards '" + string(args[2]) + "'")
			return true
		}
		if err := n.SetShards(k); err != nil {
			w.AppendError(adminError(err))
			return true
		}
		w.AppendOK()
	case "setreplicas":
		k, err := strconv.Atoi(string(args[2]))
		if err != nil {
			w.AppendError("ERR invalid number of replicas '" + string(args[2]) + "'")
			return true
		}
		if err := n.SetReplicas(k); err != nil {
			w.AppendError(adminError(err))
			return true
		}
		w.AppendOK()
	case "addnode":
		if _, err := n.Admit(string(args[2]), string(args[3])); err != nil {
			w.AppendError(adminError(err))
			return true
		}
		w.AppendOK()
	case "rebalance":
		step, ok, err := n.Rebalance()
		switch {
		case err != nil:
			w.AppendError(adminError(err))
		case !ok:
			w.AppendBulkString("balanced")
		default:
			w.AppendBulkString(step)
		}
	default:
		return false
	}
	return true
}

// Admit adds node id, whose peer address is peerAddr, to the cluster's
// table, for a node that asks to join; it returns the table with it. The
// node holds nothing at first: automatic placement, or moves, give it
// replicas. Asking again for a node already admitted at the same address
// that holds nothing yet (a node that stopped before it heard the answer)
// returns the table unchanged; any other node already in the table is an
// error wrapping placement.ErrChange.
func (n *Node) Admit(id, peerAddr string) (*placement.Table, error) {
	if n.Loading() {
		return nil, ErrLoading
	}
	cur, _, err := n.readTable(Read)
	if err != nil {
		return nil, err
	}
	if i := cur.NodeIndex(id); i >= 0 {
		nd := cur.Nodes()[i]
		if nd.PeerAddr == peerAddr && !nd.Draining && cur.ReplicasOf(i) == 0 {
			return cur, nil
		}
		return nil, fmt.Errorf("%w: node %s is already in the cluster (at %s)", placement.ErrChange, id, nd.PeerAddr)
	}
	return n.changeTable(func(t *placement.Table) (*placement.Table, error) {
		return t.AddNode(placement.Node{ID: id, PeerAddr: peerAddr})
	})
}

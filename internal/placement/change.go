package placement

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ErrChange reports a change the table refuses: a move of a group already
// moving, to a node that holds the group, of a replica the node does not
// hold, the removal of a node that still holds replicas, and the like. It
// is wrapped with the reason, so compare it with errors.Is.
var ErrChange = errors.New("placement: invalid change")

// next returns a deep copy of t with the epoch one higher: the table a
// change starts from.
func (t *Table) next() *Table {
	c := *t
	c.epoch++
	c.nodes = slices.Clone(t.nodes)
	c.groups = make([]Group, len(t.groups))
	for i, g := range t.groups {
		c.groups[i] = g.clone()
	}
	c.meta = t.meta.clone()
	c.ranges = make([][]Range, len(t.ranges))
	for i, r := range t.ranges {
		c.ranges[i] = slices.Clone(r)
	}
	return &c
}

// node returns the index of node id, or an error naming it.
func (t *Table) node(id string) (int, error) {
	i := t.NodeIndex(id)
	if i < 0 {
		return -1, fmt.Errorf("%w: no node %q in the cluster", ErrChange, id)
	}
	return i, nil
}

// group checks that g is a group of t, or Meta.
func (t *Table) group(g int) error {
	if g != Meta && (g < 0 || g >= len(t.groups)) {
		return fmt.Errorf("%w: no group %d (the cluster has %d)", ErrChange, g, len(t.groups))
	}
	return nil
}

// groupName names group g in errors: its number, or "meta" for the
// metadata group, as CLUSTER MOVE and the admin command line name it.
func groupName(g int) string {
	if g == Meta {
		return "meta"
	}
	return strconv.Itoa(g)
}

// grp returns group g, which must be valid, or the metadata group.
func (t *Table) grp(g int) *Group {
	if g == Meta {
		return &t.meta
	}
	return &t.groups[g]
}

// Group returns group g (Meta for the metadata group). It panics unless g
// is valid.
func (t *Table) Group(g int) Group { return t.grp(g).clone() }

// Move starts moving group g's replica on node from to node to, which gets
// a new replica id. In the table it returns, to is among g's replicas, in
// from's place, and from among its leaving ones until Settle. Moving the
// replica itself (a Raft learner on to, caught up, then promoted while from
// is removed, in one joint change) is the cluster's work.
//
// It fails, changing nothing, for an unknown group or node, a group whose
// previous move has not settled, a from that holds no staying replica of
// g, and a to that holds one (staying or leaving) or is draining.
func (t *Table) Move(g int, from, to string) (*Table, error) {
	fi, pos, err := t.leaving(g, from)
	if err != nil {
		return nil, err
	}
	ti, err := t.joining(g, to)
	if err != nil {
		return nil, err
	}
	c := t.next()
	cg := c.grp(g)
	cg.Leaving, cg.LeavingIDs = []int{fi}, []uint64{cg.IDs[pos]}
	cg.Replicas[pos], cg.IDs[pos] = ti, c.nextID
	c.nextID++
	return c, nil
}

// leaving checks that group g exists, is not moving, and has a staying
// replica on node from, and returns from's index and the replica's
// position.
func (t *Table) leaving(g int, from string) (fi, pos int, err error) {
	if err := t.group(g); err != nil {
		return -1, -1, err
	}
	if fi, err = t.node(from); err != nil {
		return -1, -1, err
	}
	grp := t.grp(g)
	if grp.Moving() {
		return -1, -1, fmt.Errorf("%w: group %s is already moving a replica from %s; one move at a time per group",
			ErrChange, groupName(g), t.nodes[grp.Leaving[0]].ID)
	}
	if pos = slices.Index(grp.Replicas, fi); pos < 0 {
		return -1, -1, fmt.Errorf("%w: node %s holds no replica of group %s", ErrChange, from, groupName(g))
	}
	return fi, pos, nil
}

// joining checks that node to can take a new replica of group g, and
// returns its index.
func (t *Table) joining(g int, to string) (int, error) {
	ti, err := t.node(to)
	if err != nil {
		return -1, err
	}
	if t.nodes[ti].Draining {
		return -1, fmt.Errorf("%w: node %s is being removed", ErrChange, to)
	}
	if _, held := t.grp(g).Holds(ti); held {
		return -1, fmt.Errorf("%w: node %s already holds a replica of group %s", ErrChange, to, groupName(g))
	}
	return ti, nil
}

// Settle ends group g's move: its leaving replicas are no longer in the
// table. Call it once Raft has removed them. It fails for an unknown group
// and one that is not moving.
func (t *Table) Settle(g int) (*Table, error) {
	if err := t.group(g); err != nil {
		return nil, err
	}
	if !t.grp(g).Moving() {
		return nil, fmt.Errorf("%w: group %s is not moving", ErrChange, groupName(g))
	}
	c := t.next()
	c.grp(g).Leaving, c.grp(g).LeavingIDs, c.grp(g).Joining = nil, nil, nil
	return c, nil
}

// Grow adds a replica of group g on node to, with a new id. It fails as
// Move does.
func (t *Table) Grow(g int, to string) (*Table, error) {
	if err := t.group(g); err != nil {
		return nil, err
	}
	if t.grp(g).Moving() {
		return nil, fmt.Errorf("%w: group %s is already moving a replica; one move at a time per group", ErrChange, groupName(g))
	}
	ti, err := t.joining(g, to)
	if err != nil {
		return nil, err
	}
	c := t.next()
	cg := c.grp(g)
	cg.Replicas, cg.IDs = append(cg.Replicas, ti), append(cg.IDs, c.nextID)
	cg.Joining = []uint64{c.nextID}
	c.nextID++
	return c, nil
}

// Shrink starts removing group g's replica on node from, with no
// replacement: it is leaving until Settle. It fails for an unknown group
// or node, a group already moving, a node without a staying replica, and
// the group's last replica.
func (t *Table) Shrink(g int, from string) (*Table, error) {
	fi, pos, err := t.leaving(g, from)
	if err != nil {
		return nil, err
	}
	if len(t.grp(g).Replicas) == 1 {
		return nil, fmt.Errorf("%w: node %s holds the last replica of group %s", ErrChange, from, groupName(g))
	}
	c := t.next()
	cg := c.grp(g)
	cg.Leaving, cg.LeavingIDs = []int{fi}, []uint64{cg.IDs[pos]}
	cg.Replicas, cg.IDs = slices.Delete(cg.Replicas, pos, pos+1), slices.Delete(cg.IDs, pos, pos+1)
	return c, nil
}

// Lead makes node id group g's preferred leader. It fails for an unknown
// group or node, and a node that holds no staying replica of g.
func (t *Table) Lead(g int, id string) (*Table, error) {
	if err := t.group(g); err != nil {
		return nil, err
	}
	ni, err := t.node(id)
	if err != nil {
		return nil, err
	}
	pos := slices.Index(t.grp(g).Replicas, ni)
	if pos < 0 {
		return nil, fmt.Errorf("%w: node %s holds no replica of group %s", ErrChange, id, groupName(g))
	}
	c := t.next()
	cg := c.grp(g)
	cg.Replicas[0], cg.Replicas[pos] = cg.Replicas[pos], cg.Replicas[0]
	cg.IDs[0], cg.IDs[pos] = cg.IDs[pos], cg.IDs[0]
	return c, nil
}

// AddNode adds node n, which holds no replica until moves give it some.
// It fails for an invalid node and an ID or address already in the
// cluster.
func (t *Table) AddNode(n Node) (*Table, error) {
	n.Draining = false
	if t.NodeIndex(n.ID) >= 0 {
		return nil, fmt.Errorf("%w: node %s is already in the cluster", ErrChange, n.ID)
	}
	nodes, err := validNodes(append(slices.Clone(t.nodes), n))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrChange, err)
	}
	return t.renumber(nodes), nil
}

// Drain marks node id as being removed, so that its replicas move away.
// It fails for an unknown or draining node, and when the nodes left could
// not hold every group's replicas.
func (t *Table) Drain(id string) (*Table, error) {
	ni, err := t.node(id)
	if err != nil {
		return nil, err
	}
	if t.nodes[ni].Draining {
		return nil, fmt.Errorf("%w: node %s is already being removed", ErrChange, id)
	}
	left := 0
	for _, n := range t.nodes {
		if !n.Draining {
			left++
		}
	}
	if need := t.WantReplicas(); left-1 < need {
		return nil, fmt.Errorf("%w: removing %s would leave %d nodes for groups of %d replicas", ErrChange, id, left-1, need)
	}
	c := t.next()
	c.nodes[ni].Draining = true
	return c, nil
}

// RemoveNode removes node id from the cluster. It fails for an unknown node
// and one that holds a replica, staying or leaving: drain it first.
func (t *Table) RemoveNode(id string) (*Table, error) {
	ni, err := t.node(id)
	if err != nil {
		return nil, err
	}
	if n := t.ReplicasOf(ni); n > 0 {
		return nil, fmt.Errorf("%w: node %s still holds %d replicas; drain it first", ErrChange, id, n)
	}
	if len(t.nodes) == 1 {
		return nil, fmt.Errorf("%w: node %s is the last node", ErrChange, id)
	}
	nodes := slices.Delete(slices.Clone(t.nodes), ni, ni+1)
	return t.renumber(nodes), nil
}

// renumber returns the next table with nodes (sorted by ID), mapping every
// replica's node index from t's list to the new one. Every node holding a
// replica must be in nodes.
func (t *Table) renumber(nodes []Node) *Table {
	c := t.next()
	c.nodes = nodes
	at := func(old int) int { return c.NodeIndex(t.nodes[old].ID) }
	for _, g := range append(c.all(), &c.meta) {
		for j, r := range g.Replicas {
			g.Replicas[j] = at(r)
		}
		for j, r := range g.Leaving {
			g.Leaving[j] = at(r)
		}
	}
	return c
}

// all returns pointers to the data groups.
func (t *Table) all() []*Group {
	gs := make([]*Group, len(t.groups))
	for i := range t.groups {
		gs[i] = &t.groups[i]
	}
	return gs
}

// replicaCount returns the most staying replicas any group has.
func (t *Table) replicaCount() int {
	n := 0
	for _, g := range t.groups {
		n = max(n, len(g.Replicas))
	}
	return n
}

// ReplicasOf returns how many groups, the metadata group included, node
// (an index) holds a replica of, staying or leaving.
func (t *Table) ReplicasOf(node int) int {
	n := 0
	for _, g := range append(t.all(), &t.meta) {
		if _, ok := g.Holds(node); ok {
			n++
		}
	}
	return n
}

// StepKind names what a Step does.
type StepKind int

// Kinds of Step.
const (
	// StepMove moves Group's replica from node From to node To (Move).
	StepMove StepKind = iota + 1
	// StepLead makes To the preferred leader of Group (Lead).
	StepLead
	// StepRemove removes the drained node From (RemoveNode).
	StepRemove
	// StepGrow adds a replica of Group on To (Grow).
	StepGrow
	// StepShrink removes Group's replica on From (Shrink).
	StepShrink
	// StepAddGroup adds group Group with replicas on Nodes (AddGroup).
	StepAddGroup
	// StepMigrate starts moving Slots from Group to group ToGroup
	// (Migrate).
	StepMigrate
	// StepDropGroup removes the empty group Group (DropGroup).
	StepDropGroup
)

// Step is one change toward a healthy, balanced table.
type Step struct {
	Kind     StepKind
	Group    int
	From, To string
	Nodes    []string // StepAddGroup
	ToGroup  int      // StepMigrate
	Slots    []Range  // StepMigrate
}

// String describes s for logs and errors.
func (s Step) String() string {
	if s.Group == Meta {
		switch s.Kind {
		case StepMove:
			return fmt.Sprintf("move a metadata replica from %s to %s", s.From, s.To)
		case StepGrow:
			return fmt.Sprintf("add a metadata replica on %s", s.To)
		case StepShrink:
			return fmt.Sprintf("remove the metadata replica on %s", s.From)
		case StepLead:
			return fmt.Sprintf("make %s the metadata group's preferred leader", s.To)
		}
	}
	switch s.Kind {
	case StepMove:
		return fmt.Sprintf("move group %d's replica from %s to %s", s.Group, s.From, s.To)
	case StepLead:
		return fmt.Sprintf("make %s group %d's preferred leader", s.To, s.Group)
	case StepRemove:
		return fmt.Sprintf("remove drained node %s", s.From)
	case StepGrow:
		return fmt.Sprintf("add a replica of group %d on %s", s.Group, s.To)
	case StepShrink:
		return fmt.Sprintf("remove group %d's replica on %s", s.Group, s.From)
	case StepAddGroup:
		return fmt.Sprintf("add group %d on %s", s.Group, strings.Join(s.Nodes, ", "))
	case StepMigrate:
		return fmt.Sprintf("move %d slots from group %d to group %d", SlotCount(s.Slots), s.Group, s.ToGroup)
	case StepDropGroup:
		return fmt.Sprintf("remove the empty group %d", s.Group)
	}
	return "no step"
}

// Apply returns the table after s.
func (t *Table) Apply(s Step) (*Table, error) {
	switch s.Kind {
	case StepMove:
		return t.Move(s.Group, s.From, s.To)
	case StepLead:
		return t.Lead(s.Group, s.To)
	case StepRemove:
		return t.RemoveNode(s.From)
	case StepGrow:
		return t.Grow(s.Group, s.To)
	case StepShrink:
		return t.Shrink(s.Group, s.From)
	case StepAddGroup:
		if s.Group != len(t.groups) {
			return nil, fmt.Errorf("%w: the next group is %d, not %d", ErrChange, len(t.groups), s.Group)
		}
		return t.AddGroup(s.Nodes)
	case StepMigrate:
		return t.Migrate(s.Group, s.ToGroup, s.Slots)
	case StepDropGroup:
		if s.Group != len(t.groups)-1 {
			return nil, fmt.Errorf("%w: only the highest group, %d, can go", ErrChange, len(t.groups)-1)
		}
		return t.DropGroup()
	}
	return nil, fmt.Errorf("%w: unknown step kind %d", ErrChange, s.Kind)
}

// MetaReplicas is how many replicas Plan gives the metadata group when
// there are nodes enough.
const MetaReplicas = 5

// Plan returns the next step toward a table in which no replica is on a
// node that is down (down reports it by ID) or draining, and replicas and
// preferred leaders are spread over the other nodes with at most one more
// on the busiest than on the idlest; the metadata group has MetaReplicas
// replicas, or one on every usable node when there are fewer. It reports false when there is
// nothing to do, or nothing that can be done now.
//
// It plans one move at a time in the whole cluster: none while a group is
// moving, so that moves are paced and each starts from a settled table. In
// order it proposes: removing a drained node; moving the metadata group's
// replicas off nodes down or draining (shrinking it when no node can take
// one from a draining node), and growing it; moving a replica off a down
// or draining node; moving a replica from the node with the most to the
// one with the fewest, when they differ by more than one; then making a
// node with too few preferred leaderships the preferred leader of a group
// it holds.
func (t *Table) Plan(down func(id string) bool) (Step, bool) {
	if t.meta.Moving() {
		return Step{}, false
	}
	for _, g := range t.groups {
		if g.Moving() {
			return Step{}, false
		}
	}
	usable := func(ni int) bool { return !t.nodes[ni].Draining && !down(t.nodes[ni].ID) }
	for ni, n := range t.nodes {
		if n.Draining && t.ReplicasOf(ni) == 0 {
			return Step{Kind: StepRemove, From: n.ID}, true
		}
	}
	counts := make([]int, len(t.nodes))
	leads := make([]int, len(t.nodes))
	for _, g := range t.groups {
		for _, r := range g.Replicas {
			counts[r]++
		}
		leads[g.Replicas[0]]++
	}
	// The usable node holding no replica of g with the fewest replicas
	// (then fewest leaderships, then the lowest index), or -1.
	target := func(g Group) int {
		best := -1
		for ni := range t.nodes {
			if _, held := g.Holds(ni); held || !usable(ni) {
				continue
			}
			if best < 0 || counts[ni] < counts[best] || counts[ni] == counts[best] && leads[ni] < leads[best] {
				best = ni
			}
		}
		return best
	}
	// The metadata group: off nodes that are down or leaving, then up to
	// MetaReplicas replicas while there are nodes for them.
	nusable := 0
	for ni := range t.nodes {
		if usable(ni) {
			nusable++
		}
	}
	for _, r := range t.meta.Replicas {
		if usable(r) {
			continue
		}
		if to := target(t.meta); to >= 0 {
			return Step{Kind: StepMove, Group: Meta, From: t.nodes[r].ID, To: t.nodes[to].ID}, true
		}
		if t.nodes[r].Draining && len(t.meta.Replicas) > 1 {
			return Step{Kind: StepShrink, Group: Meta, From: t.nodes[r].ID}, true
		}
	}
	if len(t.meta.Replicas) < min(MetaReplicas, nusable) {
		if to := target(t.meta); to >= 0 {
			return Step{Kind: StepGrow, Group: Meta, To: t.nodes[to].ID}, true
		}
	}
	for _, g := range t.groups {
		for _, r := range g.Replicas {
			if usable(r) {
				continue
			}
			if to := target(g); to >= 0 {
				return Step{Kind: StepMove, Group: g.ID, From: t.nodes[r].ID, To: t.nodes[to].ID}, true
			}
		}
	}
	// Balance replicas among the usable nodes.
	lo, hi := -1, -1
	for ni := range t.nodes {
		if !usable(ni) {
			continue
		}
		if lo < 0 || counts[ni] < counts[lo] {
			lo = ni
		}
		if hi < 0 || counts[ni] > counts[hi] {
			hi = ni
		}
	}
	if lo < 0 {
		return Step{}, false
	}
	if counts[hi]-counts[lo] > 1 {
		// Prefer a group hi does not lead, so that no leadership moves.
		var pick *Group
		for i := range t.groups {
			g := &t.groups[i]
			if _, held := g.Holds(lo); held || !slices.Contains(g.Replicas, hi) {
				continue
			}
			if pick == nil || pick.Replicas[0] == hi && g.Replicas[0] != hi {
				pick = g
			}
		}
		if pick != nil {
			return Step{Kind: StepMove, Group: pick.ID, From: t.nodes[hi].ID, To: t.nodes[lo].ID}, true
		}
	}
	// Balance preferred leaders: a group whose preferred leader is on a
	// node that is not usable, or on the node with the most, goes to the
	// usable replica with the fewest.
	for _, g := range t.groups {
		if usable(g.Replicas[0]) {
			continue
		}
		best := -1
		for _, r := range g.Replicas[1:] {
			if usable(r) && (best < 0 || leads[r] < leads[best]) {
				best = r
			}
		}
		if best >= 0 {
			return Step{Kind: StepLead, Group: g.ID, To: t.nodes[best].ID}, true
		}
	}
	// A node with two leaderships more than another passes one on. When
	// none of its groups has a replica on a node with fewer, leadership
	// moves along a chain (hi leads a group on a, a leads one on b, ...):
	// the step returned is the chain's last, and each call shortens it.
	for hi := range t.nodes {
		if !usable(hi) {
			continue
		}
		queue := []int{hi}
		seen := map[int]bool{hi: true}
		for len(queue) > 0 {
			u := queue[0]
			queue = queue[1:]
			for _, g := range t.groups {
				if g.Replicas[0] != u {
					continue
				}
				for _, v := range g.Replicas[1:] {
					if seen[v] || !usable(v) {
						continue
					}
					seen[v] = true
					if leads[v] <= leads[hi]-2 {
						return Step{Kind: StepLead, Group: g.ID, To: t.nodes[v].ID}, true
					}
					queue = append(queue, v)
				}
			}
		}
	}
	return Step{}, false
}

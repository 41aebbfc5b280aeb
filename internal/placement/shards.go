package placement

import (
	"fmt"
	"slices"
	"sync"

	"github.com/data-cluster/data-cluster/internal/slot"
)

// # Changing the number of groups
//
// A table has a wanted number of groups (SetShards). The slots' owners it
// is heading for are those New gives that many groups with the table's
// virtual nodes: since a group's points do not depend on how many groups
// there are, growing from n to m groups moves only the slots the new groups
// take, and shrinking moves only the slots of the groups that go.
//
// PlanShards takes the steps there one at a time: it adds the missing
// groups (AddGroup), each born with its replicas, owning no slot; it moves
// the slots whose owner is not the wanted one, all those of one group bound
// for one other group at a time (Migrate, then Assign once the cluster has
// copied their keys); and it drops the highest groups once they own no slot
// (DropGroup).

// Migration is a move of slots from one group to another under way: the
// slots stay From's in the table until Assign gives them to To. Epoch is
// that of the table that started it, which tells migrations of the same
// slots apart.
type Migration struct {
	From, To int
	Slots    []Range
	Epoch    uint64
}

// Migration returns the migration under way, false when there is none.
func (t *Table) Migration() (Migration, bool) {
	if t.mig == nil {
		return Migration{}, false
	}
	return Migration{From: t.mig.From, To: t.mig.To, Slots: slices.Clone(t.mig.Slots), Epoch: t.mig.Epoch}, true
}

// Migrating reports whether slot s is being moved, and to which group.
func (t *Table) Migrating(s uint16) (to int, ok bool) {
	if t.mig == nil {
		return 0, false
	}
	for _, r := range t.mig.Slots {
		if r.Start <= s && s <= r.End {
			return t.mig.To, true
		}
	}
	return 0, false
}

// Vnodes returns the number of virtual nodes per group the table's slots
// were placed with, 0 when it is not known (a table encoded before it was
// recorded).
func (t *Table) Vnodes() int { return t.vnodes }

// WantShards returns the number of groups the table is heading for.
func (t *Table) WantShards() int {
	if t.want == 0 {
		return len(t.groups)
	}
	return t.want
}

// SetShards sets the number of groups the table heads for to n; vnodes is
// the number of virtual nodes per group to place slots with when the table
// does not know its own. It fails unless 1 <= n <= MaxShards and every one
// of the n groups would own a slot.
func (t *Table) SetShards(n, vnodes int) (*Table, error) {
	if t.vnodes > 0 {
		vnodes = t.vnodes
	}
	if n < 1 || n > MaxShards {
		return nil, fmt.Errorf("%w: %d shards, want 1 to %d", ErrChange, n, MaxShards)
	}
	if vnodes < 1 || vnodes > MaxVnodes {
		return nil, fmt.Errorf("%w: %d virtual nodes, want 1 to %d", ErrChange, vnodes, MaxVnodes)
	}
	if _, err := targetSlots(n, vnodes); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrChange, err)
	}
	c := t.next()
	c.want, c.vnodes = n, vnodes
	return c, nil
}

// targets caches the last slot map targetSlots computed.
var targets struct {
	sync.Mutex
	n, vnodes int
	slots     *[slot.Count]uint16
}

// targetSlots returns the owner of every slot in a new table of n groups
// of vnodes points.
func targetSlots(n, vnodes int) (*[slot.Count]uint16, error) {
	targets.Lock()
	defer targets.Unlock()
	if targets.slots != nil && targets.n == n && targets.vnodes == vnodes {
		return targets.slots, nil
	}
	var scratch Table
	if err := scratch.placeSlots(n, vnodes); err != nil {
		return nil, err
	}
	targets.n, targets.vnodes, targets.slots = n, vnodes, &scratch.slots
	return targets.slots, nil
}

// AddGroup adds group len(Groups()) with a replica on each of nodes, new
// ids, and no slot: its replicas found it together (Born). It fails for
// an unknown, draining or repeated node, no nodes, and a table with
// MaxShards groups.
func (t *Table) AddGroup(nodes []string) (*Table, error) {
	if len(t.groups) >= MaxShards {
		return nil, fmt.Errorf("%w: the cluster has %d groups already", ErrChange, MaxShards)
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("%w: a new group needs a replica", ErrChange)
	}
	c := t.next()
	g := Group{ID: len(t.groups)}
	for _, id := range nodes {
		ni, err := t.node(id)
		if err != nil {
			return nil, err
		}
		if t.nodes[ni].Draining {
			return nil, fmt.Errorf("%w: node %s is being removed", ErrChange, id)
		}
		if slices.Contains(g.Replicas, ni) {
			return nil, fmt.Errorf("%w: node %s named twice", ErrChange, id)
		}
		g.Replicas, g.IDs = append(g.Replicas, ni), append(g.IDs, c.nextID)
		c.nextID++
	}
	g.Born = slices.Clone(g.IDs)
	c.groups = append(c.groups, g)
	c.ranges = append(c.ranges, nil)
	return c, nil
}

// Migrate starts moving slots from group from to group to. It fails for
// unknown groups, from == to, a migration already under way, no slots,
// and a slot from does not own.
func (t *Table) Migrate(from, to int, slots []Range) (*Table, error) {
	if err := t.group(from); err != nil || from == Meta {
		return nil, fmt.Errorf("%w: no group %d", ErrChange, from)
	}
	if err := t.group(to); err != nil || to == Meta {
		return nil, fmt.Errorf("%w: no group %d", ErrChange, to)
	}
	switch {
	case from == to:
		return nil, fmt.Errorf("%w: slots of group %d cannot move to itself", ErrChange, from)
	case t.mig != nil:
		return nil, fmt.Errorf("%w: slots are moving from group %d to group %d; one migration at a time",
			ErrChange, t.mig.From, t.mig.To)
	case len(slots) == 0:
		return nil, fmt.Errorf("%w: no slots to move", ErrChange)
	}
	for _, r := range slots {
		if r.End < r.Start || r.End >= slot.Count {
			return nil, fmt.Errorf("%w: bad slot range %d-%d", ErrChange, r.Start, r.End)
		}
		for s := int(r.Start); s <= int(r.End); s++ {
			if int(t.slots[s]) != from {
				return nil, fmt.Errorf("%w: slot %d belongs to group %d, not %d", ErrChange, s, t.slots[s], from)
			}
		}
	}
	c := t.next()
	c.mig = &Migration{From: from, To: to, Slots: slices.Clone(slots), Epoch: c.epoch}
	return c, nil
}

// Assign ends the migration under way: its slots become the target
// group's. Call it once the cluster has moved their keys. It fails when no
// migration is under way.
func (t *Table) Assign() (*Table, error) {
	if t.mig == nil {
		return nil, fmt.Errorf("%w: no slots are moving", ErrChange)
	}
	c := t.next()
	for _, r := range t.mig.Slots {
		for s := int(r.Start); s <= int(r.End); s++ {
			c.slots[s] = uint16(t.mig.To)
		}
	}
	c.mig = nil
	c.rangesFromSlots(len(c.groups))
	return c, nil
}

// DropGroup removes the highest group, which must own no slot, take part
// in no migration, move no replica, and be beyond the wanted number of
// groups.
func (t *Table) DropGroup() (*Table, error) {
	g := len(t.groups) - 1
	switch {
	case g < 1:
		return nil, fmt.Errorf("%w: the last group cannot go", ErrChange)
	case len(t.ranges[g]) > 0:
		return nil, fmt.Errorf("%w: group %d still owns slots", ErrChange, g)
	case t.mig != nil && (t.mig.From == g || t.mig.To == g):
		return nil, fmt.Errorf("%w: group %d is migrating slots", ErrChange, g)
	case t.groups[g].Moving():
		return nil, fmt.Errorf("%w: group %d is moving a replica", ErrChange, g)
	case g < t.WantShards():
		return nil, fmt.Errorf("%w: the cluster is to have %d groups", ErrChange, t.WantShards())
	}
	c := t.next()
	c.groups = c.groups[:g]
	c.ranges = c.ranges[:g]
	return c, nil
}

// rangesFromSlots computes t.ranges of groups groups from t.slots.
func (t *Table) rangesFromSlots(groups int) {
	t.ranges = make([][]Range, groups)
	start := 0
	for s := 1; s <= slot.Count; s++ {
		if s < slot.Count && t.slots[s] == t.slots[start] {
			continue
		}
		g := t.slots[start]
		t.ranges[g] = append(t.ranges[g], Range{Start: uint16(start), End: uint16(s - 1)})
		start = s
	}
}

// PlanShards returns the next step toward the wanted number of groups, as
// the section above describes, or false when there is none to take now
// (the groups are as wanted, or a migration is under way). down reports the
// nodes that are out of reach, which get no replica of a new group.
func (t *Table) PlanShards(down func(id string) bool) (Step, bool) {
	if t.mig != nil || t.vnodes == 0 {
		return Step{}, false
	}
	want := t.WantShards()
	if len(t.groups) < want {
		// The usable nodes with the fewest replicas, as many as the
		// other groups have.
		counts := make([]int, len(t.nodes))
		for _, g := range t.groups {
			for _, r := range g.Replicas {
				counts[r]++
			}
		}
		var usable []int
		for ni, n := range t.nodes {
			if !n.Draining && !down(n.ID) {
				usable = append(usable, ni)
			}
		}
		slices.SortStableFunc(usable, func(a, b int) int { return counts[a] - counts[b] })
		r := min(t.WantReplicas(), len(usable))
		if r == 0 {
			return Step{}, false
		}
		var nodes []string
		for _, ni := range usable[:r] {
			nodes = append(nodes, t.nodes[ni].ID)
		}
		return Step{Kind: StepAddGroup, Group: len(t.groups), Nodes: nodes}, true
	}
	target, err := targetSlots(want, t.vnodes)
	if err != nil {
		return Step{}, false
	}
	for s := range slot.Count {
		from, to := int(t.slots[s]), int(target[s])
		if from == to {
			continue
		}
		var slots []Range
		for s2 := s; s2 < slot.Count; s2++ {
			if int(t.slots[s2]) != from || int(target[s2]) != to {
				continue
			}
			if n := len(slots); n > 0 && int(slots[n-1].End) == s2-1 {
				slots[n-1].End = uint16(s2)
			} else {
				slots = append(slots, Range{Start: uint16(s2), End: uint16(s2)})
			}
		}
		return Step{Kind: StepMigrate, Group: from, ToGroup: to, Slots: slots}, true
	}
	if g := len(t.groups) - 1; g >= want && len(t.ranges[g]) == 0 && !t.groups[g].Moving() {
		return Step{Kind: StepDropGroup, Group: g}, true
	}
	return Step{}, false
}

// SlotCount returns how many slots ranges cover.
func SlotCount(ranges []Range) int {
	n := 0
	for _, r := range ranges {
		n += int(r.End) - int(r.Start) + 1
	}
	return n
}

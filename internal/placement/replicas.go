package placement

import (
	"fmt"
	"slices"
)

// # Changing the number of replicas
//
// A table has a wanted number of replicas per data group (SetReplicas),
// by default as many as its groups were founded with. PlanReplicas takes
// the steps there one at a time: it adds a replica to a group with too
// few on the usable node holding the fewest (Grow), and removes one from a
// group with too many, from the node holding the most, its preferred
// leader last (Shrink). A cluster founded by one node, a single server's
// data included, thus reaches three copies once two more nodes have
// joined and the operator asks for them.

// WantReplicas returns the number of replicas the table wants in every
// data group: the number SetReplicas set, or else the most any group has.
func (t *Table) WantReplicas() int {
	if t.copies == 0 {
		return t.replicaCount()
	}
	return t.copies
}

// SetReplicas sets the number of replicas every data group heads for to
// n. It fails unless 1 <= n <= the number of nodes not being removed.
func (t *Table) SetReplicas(n int) (*Table, error) {
	nodes := 0
	for _, nd := range t.nodes {
		if !nd.Draining {
			nodes++
		}
	}
	if n < 1 || n > nodes {
		return nil, fmt.Errorf("%w: %d replicas, want 1 to %d (the nodes not being removed)", ErrChange, n, nodes)
	}
	c := t.next()
	c.copies = n
	return c, nil
}

// PlanReplicas returns the next step toward WantReplicas replicas in
// every data group, as the section above describes, or false when there
// is none to take now: every group has as many, a group is moving, or no
// usable node can take a missing replica. down reports the nodes that are
// out of reach, which get no replica.
func (t *Table) PlanReplicas(down func(id string) bool) (Step, bool) {
	if t.copies == 0 {
		return Step{}, false
	}
	for _, g := range t.groups {
		if g.Moving() {
			return Step{}, false
		}
	}
	counts := make([]int, len(t.nodes))
	for _, g := range t.groups {
		for _, r := range g.Replicas {
			counts[r]++
		}
	}
	for _, g := range t.groups {
		switch {
		case len(g.Replicas) < t.copies:
			to := -1
			for ni, nd := range t.nodes {
				if _, held := g.Holds(ni); held || nd.Draining || down(nd.ID) {
					continue
				}
				if to < 0 || counts[ni] < counts[to] {
					to = ni
				}
			}
			if to >= 0 {
				return Step{Kind: StepGrow, Group: g.ID, To: t.nodes[to].ID}, true
			}
		case len(g.Replicas) > t.copies:
			// A follower's replica, on a node down or being removed
			// first, then on the busiest.
			score := func(ni int) int {
				if nd := t.nodes[ni]; nd.Draining || down(nd.ID) {
					return counts[ni] + len(t.groups)
				}
				return counts[ni]
			}
			from := slices.MaxFunc(g.Replicas[1:], func(a, b int) int { return score(a) - score(b) })
			return Step{Kind: StepShrink, Group: g.ID, From: t.nodes[from].ID}, true
		}
	}
	return Step{}, false
}

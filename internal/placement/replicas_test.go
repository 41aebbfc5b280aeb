package placement

import (
	"errors"
	"slices"
	"testing"
)

// followReplicas applies PlanReplicas's steps to tb, settling each at
// once, until there is none, and returns the table reached.
func followReplicas(t *testing.T, tb *Table, down func(string) bool) *Table {
	t.Helper()
	for range 1000 {
		step, ok := tb.PlanReplicas(down)
		if !ok {
			return tb
		}
		next, err := tb.Apply(step)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		roundTrip(t, next)
		if next, err = next.Settle(step.Group); err != nil {
			t.Fatal(err)
		}
		tb = next
	}
	t.Fatal("PlanReplicas never ends")
	return nil
}

// TestSetReplicasFromOneNode grows a cluster founded by one node: two nodes
// join, three replicas are asked for, and every group ends with one on each
// node, its preferred leader unchanged.
func TestSetReplicasFromOneNode(t *testing.T) {
	none := func(string) bool { return false }
	tb := newTable(t, 1, 3, 1)
	if got := tb.WantReplicas(); got != 1 {
		t.Fatalf("WantReplicas of a new table = %d, want 1", got)
	}
	if _, err := tb.SetReplicas(3); !errors.Is(err, ErrChange) {
		t.Fatalf("SetReplicas(3) on one node: %v, want ErrChange", err)
	}
	for _, id := range []string{"n2", "n3"} {
		var err error
		if tb, err = tb.AddNode(Node{ID: id, PeerAddr: "127.0.0.1:1700" + id[1:]}); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := tb.PlanReplicas(none); ok {
		t.Fatal("PlanReplicas has a step before any number of replicas is asked for")
	}
	set, err := tb.SetReplicas(3)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, set)
	got := followReplicas(t, set, none)
	for _, g := range got.Groups() {
		if len(g.Replicas) != 3 || g.Replicas[0] != tb.Group(g.ID).Replicas[0] {
			t.Fatalf("group %d: replicas %v, want 3 led by node %d", g.ID, g.Replicas, tb.Group(g.ID).Replicas[0])
		}
	}
	// Back to one: followers go, preferred leaders stay.
	one, err := got.SetReplicas(1)
	if err != nil {
		t.Fatal(err)
	}
	back := followReplicas(t, one, none)
	for _, g := range back.Groups() {
		if len(g.Replicas) != 1 || g.Replicas[0] != tb.Group(g.ID).Replicas[0] {
			t.Fatalf("group %d after SetReplicas(1): replicas %v", g.ID, g.Replicas)
		}
	}
}

// TestPlanReplicasSkipsDownNodes checks that a missing replica goes to a
// node that is up, none to a down one, and that a surplus replica on a
// down node goes first.
func TestPlanReplicasSkipsDownNodes(t *testing.T) {
	tb := newTable(t, 4, 4, 2)
	set, err := tb.SetReplicas(3)
	if err != nil {
		t.Fatal(err)
	}
	downN4 := func(id string) bool { return id == "n4" }
	got := followReplicas(t, set, downN4)
	n4 := got.NodeIndex("n4")
	for _, g := range got.Groups() {
		if len(g.Replicas) != 3 {
			t.Fatalf("group %d: %d replicas, want 3", g.ID, len(g.Replicas))
		}
		if _, held := g.Holds(n4); held && !slices.Contains(tb.Group(g.ID).Replicas, n4) {
			t.Fatalf("group %d got a replica on the down node", g.ID)
		}
	}
	// Every node down but one: nothing can grow.
	onlyN1 := func(id string) bool { return id != "n1" }
	five, err := newTable(t, 4, 2, 1).SetReplicas(4)
	if err != nil {
		t.Fatal(err)
	}
	if step, ok := followReplicas(t, five, onlyN1).PlanReplicas(onlyN1); ok {
		t.Fatalf("a step with every other node down: %s", step)
	}
	// Shrinking takes a follower on a down node before a busier one.
	two, err := got.SetReplicas(2)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for {
		step, ok := two.PlanReplicas(downN4)
		if !ok {
			break
		}
		g := two.Group(step.Group)
		if g.Replicas[0] != n4 && slices.Contains(g.Replicas, n4) {
			checked++
			if step.From != "n4" {
				t.Fatalf("%s, with n4 down and following group %d", step, g.ID)
			}
		}
		if two, err = two.Apply(step); err != nil {
			t.Fatal(err)
		}
		if two, err = two.Settle(step.Group); err != nil {
			t.Fatal(err)
		}
	}
	if checked == 0 {
		t.Fatal("no group had a follower on n4 to remove")
	}
}

// TestSetReplicasRefuses checks the bounds, and that a drain keeps nodes
// enough for the replicas asked for.
func TestSetReplicasRefuses(t *testing.T) {
	tb := newTable(t, 3, 3, 2)
	for _, n := range []int{0, -1, 4} {
		if _, err := tb.SetReplicas(n); !errors.Is(err, ErrChange) {
			t.Fatalf("SetReplicas(%d): %v, want ErrChange", n, err)
		}
	}
	three, err := tb.SetReplicas(3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := three.Drain("n1"); !errors.Is(err, ErrChange) {
		t.Fatalf("draining one of three nodes with 3 replicas wanted: %v, want ErrChange", err)
	}
	drained, err := tb.Drain("n1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := drained.SetReplicas(3); !errors.Is(err, ErrChange) {
		t.Fatalf("SetReplicas(3) with a node draining: %v, want ErrChange", err)
	}
}

// TestEncodeVersions checks that a table that wants no number of replicas
// is still written as version 2, and one that does as version 3.
func TestEncodeVersions(t *testing.T) {
	tb := newTable(t, 3, 3, 2)
	if v := tb.Encode()[0]; v != 2 {
		t.Fatalf("version %d, want 2", v)
	}
	grown, err := tb.Grow(0, tb.Nodes()[2].ID)
	if err != nil {
		t.Fatal(err)
	}
	if v := grown.Encode()[0]; v != 3 || !grown.Group(0).Moving() {
		t.Fatalf("a growing table: version %d, moving %v; want 3, true", v, grown.Group(0).Moving())
	}
	roundTrip(t, grown)
	if _, err := grown.Grow(0, tb.Nodes()[0].ID); !errors.Is(err, ErrChange) {
		t.Fatalf("a second growth while one runs: %v, want ErrChange", err)
	}
	set, err := tb.SetReplicas(2)
	if err != nil {
		t.Fatal(err)
	}
	if v := set.Encode()[0]; v != 3 {
		t.Fatalf("version %d, want 3", v)
	}
	roundTrip(t, set)
}

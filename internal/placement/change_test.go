package placement

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func nodesN(n int) []Node {
	nodes := make([]Node, n)
	for i := range nodes {
		nodes[i] = Node{ID: fmt.Sprintf("n%d", i+1), PeerAddr: fmt.Sprintf("127.0.0.1:%d", 17001+i)}
	}
	return nodes
}

func newTable(t *testing.T, nodes, shards, replicas int) *Table {
	t.Helper()
	tb, err := New(1, nodesN(nodes), shards, replicas, 64)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// roundTrip checks that tb survives Encode and Decode unchanged.
func roundTrip(t *testing.T, tb *Table) {
	t.Helper()
	b := tb.Encode()
	got, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode(Encode()): %v", err)
	}
	if !bytes.Equal(got.Encode(), b) || got.Epoch() != tb.Epoch() || got.slots != tb.slots || got.WantReplicas() != tb.WantReplicas() ||
		!slices.EqualFunc(got.Groups(), tb.Groups(), groupEqual) || !slices.Equal(got.Nodes(), tb.Nodes()) {
		t.Fatalf("Decode(Encode()) differs from the table encoded")
	}
	if epoch, err := EncodedEpoch(b); err != nil || epoch != tb.Epoch() {
		t.Fatalf("EncodedEpoch = %d, %v; want %d", epoch, err, tb.Epoch())
	}
	for g := range tb.Groups() {
		if !slices.Equal(got.Ranges(g), tb.Ranges(g)) {
			t.Fatalf("group %d: ranges %v, want %v", g, got.Ranges(g), tb.Ranges(g))
		}
	}
}

func groupEqual(a, b Group) bool {
	return a.ID == b.ID && slices.Equal(a.Replicas, b.Replicas) && slices.Equal(a.IDs, b.IDs) &&
		slices.Equal(a.Leaving, b.Leaving) && slices.Equal(a.LeavingIDs, b.LeavingIDs) && slices.Equal(a.Born, b.Born) &&
		slices.Equal(a.Joining, b.Joining)
}

func TestMoveSettle(t *testing.T) {
	tb := newTable(t, 4, 3, 3)
	g := tb.Groups()[0] // n1 n2 n3
	moved, err := tb.Move(0, "n2", "n4")
	if err != nil {
		t.Fatal(err)
	}
	mg := moved.Groups()[0]
	if moved.Epoch() != tb.Epoch()+1 || !slices.Equal(mg.Replicas, []int{0, 3, 2}) || !slices.Equal(mg.Leaving, []int{1}) {
		t.Fatalf("after Move: epoch %d, replicas %v leaving %v", moved.Epoch(), mg.Replicas, mg.Leaving)
	}
	if mg.IDs[1] != 5 || mg.LeavingIDs[0] != g.IDs[1] || moved.ReplicaID(0, 1) != g.IDs[1] || moved.ReplicaID(0, 3) != 5 {
		t.Fatalf("after Move: ids %v leaving %v, want the new replica to get id 5", mg.IDs, mg.LeavingIDs)
	}
	roundTrip(t, moved)
	if _, err := moved.Move(0, "n1", "n2"); !errors.Is(err, ErrChange) {
		t.Fatalf("second move of a moving group: %v, want ErrChange", err)
	}
	settled, err := moved.Settle(0)
	if err != nil {
		t.Fatal(err)
	}
	if sg := settled.Groups()[0]; sg.Moving() || settled.ReplicaID(0, 1) != 0 || settled.ReplicasOf(1) != 2 {
		t.Fatalf("after Settle: %+v", sg)
	}
	// n2 comes back: a new id, never its old one.
	back, err := settled.Move(0, "n4", "n2")
	if err != nil {
		t.Fatal(err)
	}
	if id := back.ReplicaID(0, 1); id == g.IDs[1] || id != 6 {
		t.Fatalf("replica id on return: %d, want a new one (6)", id)
	}
	if _, err := tb.Settle(0); !errors.Is(err, ErrChange) {
		t.Fatalf("Settle of a group not moving: %v", err)
	}
}

func TestChangeErrors(t *testing.T) {
	tb := newTable(t, 4, 3, 3)
	drained, err := tb.Drain("n4")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		do   func() (*Table, error)
	}{
		{"unknown group", func() (*Table, error) { return tb.Move(3, "n1", "n4") }},
		{"negative group", func() (*Table, error) { return tb.Move(-1, "n1", "n4") }},
		{"unknown from", func() (*Table, error) { return tb.Move(0, "n9", "n4") }},
		{"unknown to", func() (*Table, error) { return tb.Move(0, "n1", "n9") }},
		{"from holds no replica", func() (*Table, error) { return tb.Move(0, "n4", "n1") }},
		{"to holds one", func() (*Table, error) { return tb.Move(0, "n1", "n2") }},
		{"to draining", func() (*Table, error) { return drained.Move(0, "n1", "n4") }},
		{"lead without replica", func() (*Table, error) { return tb.Lead(0, "n4") }},
		{"add existing id", func() (*Table, error) { return tb.AddNode(Node{ID: "n1", PeerAddr: "127.0.0.1:1"}) }},
		{"add existing address", func() (*Table, error) { return tb.AddNode(Node{ID: "n9", PeerAddr: "127.0.0.1:17001"}) }},
		{"add bad id", func() (*Table, error) { return tb.AddNode(Node{ID: "n 9", PeerAddr: "127.0.0.1:1"}) }},
		{"remove holder", func() (*Table, error) { return tb.RemoveNode("n1") }},
		{"remove unknown", func() (*Table, error) { return tb.RemoveNode("n9") }},
		{"drain twice", func() (*Table, error) { return drained.Drain("n4") }},
		{"drain below replicas", func() (*Table, error) { return drained.Drain("n3") }},
	} {
		if got, err := tc.do(); !errors.Is(err, ErrChange) || got != nil {
			t.Errorf("%s: got %v, %v; want ErrChange", tc.name, got, err)
		}
	}
}

// TestChangeErrorsNameMeta checks that refused changes of the metadata
// group name it "meta", as CLUSTER MOVE does, and a data group by its
// number.
func TestChangeErrorsNameMeta(t *testing.T) {
	tb, err := newTable(t, 4, 3, 3).AddNode(Node{ID: "n9", PeerAddr: "127.0.0.1:17009"})
	if err != nil {
		t.Fatal(err)
	}
	const spare = "n9" // a node that holds nothing
	name := func(i int) string { return tb.Nodes()[i].ID }
	meta := tb.MetaGroup().Replicas
	data := tb.Group(0).Replicas
	moving, err := tb.Move(Meta, name(meta[0]), spare)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		do   func() (*Table, error)
		want string
	}{
		{"to holds one", func() (*Table, error) { return tb.Move(Meta, name(meta[0]), name(meta[1])) },
			"node " + name(meta[1]) + " already holds a replica of group meta"},
		{"from holds none", func() (*Table, error) { return tb.Move(Meta, spare, name(meta[0])) },
			"node " + spare + " holds no replica of group meta"},
		{"lead without replica", func() (*Table, error) { return tb.Lead(Meta, spare) },
			"node " + spare + " holds no replica of group meta"},
		{"settle not moving", func() (*Table, error) { return tb.Settle(Meta) }, "group meta is not moving"},
		{"move while moving", func() (*Table, error) { return moving.Move(Meta, name(meta[1]), name(meta[0])) },
			"group meta is already moving a replica from " + name(meta[0]) + "; one move at a time per group"},
		{"grow while moving", func() (*Table, error) { return moving.Grow(Meta, name(meta[0])) },
			"group meta is already moving a replica; one move at a time per group"},
		{"data group", func() (*Table, error) { return tb.Move(0, name(data[0]), name(data[1])) },
			"node " + name(data[1]) + " already holds a replica of group 0"},
	} {
		_, err := tc.do()
		if want := ErrChange.Error() + ": " + tc.want; err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %q", tc.name, err, want)
		}
	}
}

func TestAddRemoveNodeRenumbers(t *testing.T) {
	tb := newTable(t, 3, 3, 3)
	// "a0" sorts first: every index shifts, the replicas stay on their nodes.
	added, err := tb.AddNode(Node{ID: "a0", PeerAddr: "127.0.0.1:17000"})
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, added)
	for g, grp := range added.Groups() {
		old := tb.Groups()[g]
		for i, r := range grp.Replicas {
			if added.Nodes()[r].ID != tb.Nodes()[old.Replicas[i]].ID || grp.IDs[i] != old.IDs[i] {
				t.Fatalf("group %d: replica %d moved in renumbering", g, i)
			}
		}
	}
	removed, err := added.RemoveNode("a0")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(removed.Groups(), tb.Groups(), groupEqual) || removed.Epoch() != tb.Epoch()+2 {
		t.Fatal("adding and removing a node changed the groups")
	}
}

func TestDecodeRejects(t *testing.T) {
	good := newTable(t, 3, 3, 3).Encode()
	if _, err := Decode(good); err != nil {
		t.Fatal(err)
	}
	for i := range good {
		if _, err := Decode(good[:i]); !errors.Is(err, ErrDecode) {
			t.Fatalf("Decode of the first %d bytes: %v, want ErrDecode", i, err)
		}
	}
	if _, err := Decode(append(slices.Clone(good), 0)); !errors.Is(err, ErrDecode) {
		t.Fatalf("trailing byte: %v", err)
	}
	bad := slices.Clone(good)
	bad[0] = 9
	if _, err := Decode(bad); !errors.Is(err, ErrDecode) {
		t.Fatalf("version 9: %v", err)
	}
	for _, b := range [][]byte{nil, good[:1], bad, {3, 0x80}} {
		if _, err := EncodedEpoch(b); !errors.Is(err, ErrDecode) {
			t.Fatalf("EncodedEpoch(%x): %v, want ErrDecode", b, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	tb, _ := New(3, nodesN(4), 3, 3, 64)
	f.Add(tb.Encode())
	moved, _ := tb.Move(0, "n2", "n4")
	f.Add(moved.Encode())
	set, _ := moved.SetShards(4, 64)
	grown, _ := set.AddGroup([]string{"n1", "n3"})
	if mig, err := grown.Migrate(1, 3, grown.Ranges(1)[:1]); err == nil {
		f.Add(mig.Encode())
	}
	if two, err := moved.SetReplicas(2); err == nil {
		f.Add(two.Encode())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Decode(b)
		if err != nil {
			return
		}
		if again, err := Decode(got.Encode()); err != nil || !bytes.Equal(again.Encode(), got.Encode()) {
			t.Fatalf("a decoded table does not round-trip: %v", err)
		}
		if epoch, err := EncodedEpoch(b); err != nil || epoch != got.Epoch() {
			t.Fatalf("EncodedEpoch = %d, %v; Decode's epoch %d", epoch, err, got.Epoch())
		}
	})
}

// TestPlanConverges grows, shrinks and breaks clusters at random and
// checks that following Plan ends in a table with no replica on a down or
// draining node, replicas and preferred leaders spread within one, and
// replica ids never reused.
func TestPlanConverges(t *testing.T) {
	seed := uint64(rand.Int64())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	for round := range 200 {
		nodes, shards := 3+r.IntN(3), 1+r.IntN(12)
		tb := newTable(t, nodes, shards, 3)
		down := map[string]bool{}
		used := map[int]map[uint64]bool{Meta: {}}
		for g := range shards {
			used[g] = map[uint64]bool{}
		}
		for range 1 + r.IntN(3) {
			switch r.IntN(3) {
			case 0:
				id := fmt.Sprintf("m%d", r.IntN(1000))
				if nt, err := tb.AddNode(Node{ID: id, PeerAddr: "127.0.0.2:" + fmt.Sprint(1000+r.IntN(50000))}); err == nil {
					tb = nt
				}
			case 1:
				ns := tb.Nodes()
				if usable(tb, down) <= 3 {
					break
				}
				if nt, err := tb.Drain(ns[r.IntN(len(ns))].ID); err == nil {
					tb = nt
				}
			case 2:
				ns := tb.Nodes()
				if usable(tb, down) > 3 {
					down[ns[r.IntN(len(ns))].ID] = true
				}
			}
			tb = follow(t, seed, round, tb, down, used)
		}
		checkBalanced(t, seed, round, tb, down)
	}
}

// usable counts the nodes that are neither down nor draining.
func usable(tb *Table, down map[string]bool) int {
	n := 0
	for _, nd := range tb.Nodes() {
		if !nd.Draining && !down[nd.ID] {
			n++
		}
	}
	return n
}

// follow applies Plan's steps (settling each move at once) until there is
// none, and returns the table.
func follow(t *testing.T, seed uint64, round int, tb *Table, down map[string]bool, used map[int]map[uint64]bool) *Table {
	t.Helper()
	for steps := 0; ; steps++ {
		if steps > 500 {
			t.Fatalf("seed %d round %d: Plan did not converge", seed, round)
		}
		s, ok := tb.Plan(func(id string) bool { return down[id] })
		if !ok {
			return tb
		}
		nt, err := tb.Apply(s)
		if err != nil {
			t.Fatalf("seed %d round %d: %v: %v", seed, round, s, err)
		}
		if s.Kind == StepMove || s.Kind == StepGrow {
			id := nt.ReplicaID(s.Group, nt.NodeIndex(s.To))
			if used[s.Group][id] {
				t.Fatalf("seed %d round %d: replica id %d of group %d reused", seed, round, id, s.Group)
			}
		}
		if nt.Group(s.Group).Moving() {
			if nt, err = nt.Settle(s.Group); err != nil {
				t.Fatal(err)
			}
		}
		for _, g := range append(nt.Groups(), nt.MetaGroup()) {
			for _, id := range g.IDs {
				used[g.ID][id] = true
			}
		}
		roundTrip(t, nt)
		tb = nt
	}
}

func checkBalanced(t *testing.T, seed uint64, round int, tb *Table, down map[string]bool) {
	t.Helper()
	nodes := tb.Nodes()
	counts := make([]int, len(nodes))
	leads := make([]int, len(nodes))
	for _, g := range tb.Groups() {
		if len(g.Replicas) != 3 {
			t.Fatalf("seed %d round %d: group %d has %d replicas", seed, round, g.ID, len(g.Replicas))
		}
		for _, r := range g.Replicas {
			if nodes[r].Draining || down[nodes[r].ID] {
				t.Fatalf("seed %d round %d: group %d keeps a replica on %+v (down %v)", seed, round, g.ID, nodes[r], down[nodes[r].ID])
			}
			counts[r]++
		}
		leads[g.Replicas[0]]++
	}
	meta := tb.MetaGroup()
	up := 0
	for _, r := range meta.Replicas {
		if nodes[r].Draining {
			t.Fatalf("seed %d round %d: metadata replica on draining %+v", seed, round, nodes[r])
		}
		if !down[nodes[r].ID] {
			up++
		}
	}
	if want := min(MetaReplicas, usable(tb, down)); up != want {
		t.Fatalf("seed %d round %d: metadata group has %d replicas on usable nodes, want %d", seed, round, up, want)
	}
	var cs, ls []int
	for i, n := range nodes {
		if n.Draining {
			t.Fatalf("seed %d round %d: drained node %s not removed", seed, round, n.ID)
		}
		if !down[n.ID] {
			cs, ls = append(cs, counts[i]), append(ls, leads[i])
		}
	}
	if slices.Max(cs)-slices.Min(cs) > 1 {
		t.Fatalf("seed %d round %d: replica counts %v", seed, round, cs)
	}
	if slices.Max(ls)-slices.Min(ls) > 1 {
		t.Fatalf("seed %d round %d: preferred leader counts %v", seed, round, ls)
	}
}

func TestStepString(t *testing.T) {
	for _, tc := range []struct {
		s    Step
		want string
	}{
		{Step{Kind: StepMove, Group: 2, From: "n1", To: "n4"}, "move group 2's replica from n1 to n4"},
		{Step{Kind: StepGrow, Group: Meta, To: "n5"}, "add a metadata replica on n5"},
		{Step{Kind: StepShrink, Group: Meta, From: "n4"}, "remove the metadata replica on n4"},
		{Step{Kind: StepRemove, From: "n4"}, "remove drained node n4"},
		{Step{}, "no step"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.s, got, tc.want)
		}
	}
}

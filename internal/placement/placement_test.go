package placement

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/data-cluster/data-cluster/internal/slot"
)

// testNodes returns n valid nodes "n1".."n<n>" on consecutive local ports.
func testNodes(n int) []Node {
	nodes := make([]Node, n)
	for i := range nodes {
		nodes[i] = Node{ID: fmt.Sprintf("n%d", i+1), PeerAddr: fmt.Sprintf("127.0.0.1:%d", 17001+i)}
	}
	return nodes
}

func mustNew(tb testing.TB, nodes []Node, shards, replicas, vnodes int) *Table {
	tb.Helper()
	t, err := New(1, nodes, shards, replicas, vnodes)
	if err != nil {
		tb.Fatalf("New(%d nodes, %d, %d, %d): got error %v, want nil", len(nodes), shards, replicas, vnodes, err)
	}
	return t
}

// TestGolden pins the owners of fixed slots and keys, and the number of slots
// of each group. A failure here means data placed by an earlier build would
// now be looked for in the wrong group: fix the code, never the table.
func TestGolden(t *testing.T) {
	tests := []struct {
		shards, vnodes int
		counts         []int          // slots per group
		slots          map[uint16]int // slot -> group
		keys           map[string]int // key -> group
	}{
		{
			shards: 3, vnodes: 64,
			counts: []int{4898, 6495, 4991},
			slots:  map[uint16]int{0: 2, 1: 2, 100: 2, 5000: 0, 8191: 1, 8192: 1, 12182: 0, 16383: 2},
			keys:   map[string]int{"foo": 0, "bar": 0, "hello": 2, "{user1000}.following": 0, "a": 2, "": 2},
		},
		{
			shards: 5, vnodes: 16,
			counts: []int{3403, 4421, 1992, 4045, 2523},
			slots:  map[uint16]int{0: 1, 100: 2, 5000: 0, 8191: 4, 16383: 1},
			keys:   map[string]int{"hello": 3, "{user1000}.following": 4, "a": 1},
		},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%dx%d", tt.shards, tt.vnodes), func(t *testing.T) {
			tb := mustNew(t, testNodes(3), tt.shards, 3, tt.vnodes)
			counts := make([]int, tt.shards)
			for s := range slot.Count {
				counts[tb.GroupOf(uint16(s))]++
			}
			for g, n := range counts {
				t.Logf("group %d: %5d slots, share %.4f, %d ranges", g, n, float64(n)/slot.Count, len(tb.Ranges(g)))
			}
			if !slices.Equal(counts, tt.counts) {
				t.Errorf("slots per group: got %v, want %v", counts, tt.counts)
			}
			for s, want := range tt.slots {
				if got := tb.GroupOf(s); got != want {
					t.Errorf("GroupOf(%d): got %d, want %d", s, got, want)
				}
			}
			for key, want := range tt.keys {
				if got := tb.GroupOfKey([]byte(key)); got != want {
					t.Errorf("GroupOfKey(%q): got %d, want %d", key, got, want)
				}
			}
		})
	}
}

// TestPointName pins the byte strings that place the points. They must never
// change.
func TestPointName(t *testing.T) {
	tests := []struct {
		group, vnode int
		want         string
	}{
		{0, 0, "shard-0-vnode-0"},
		{2, 7, "shard-2-vnode-7"},
		{10, 63, "shard-10-vnode-63"},
		{1023, 4095, "shard-1023-vnode-4095"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := string(pointName(nil, tt.group, tt.vnode)); got != tt.want {
				t.Errorf("pointName(%d, %d): got %q, want %q", tt.group, tt.vnode, got, tt.want)
			}
		})
	}
}

// referenceOwner computes the owner of slot s straight from the rule in the
// package documentation: walk clockwise from s to the first slot holding a
// point and take the lowest group with a point there.
func referenceOwner(shards, vnodes int, s int) int {
	at := make(map[int][]int) // slot -> groups with a point there
	for g := range shards {
		for v := range vnodes {
			p := int(xxhash.Sum64String(fmt.Sprintf("shard-%d-vnode-%d", g, v)) % slot.Count)
			at[p] = append(at[p], g)
		}
	}
	for d := range slot.Count {
		if gs := at[(s+d)%slot.Count]; len(gs) > 0 {
			return slices.Min(gs)
		}
	}
	panic("no points")
}

// TestSlotRule checks every slot's owner against referenceOwner, over sizes
// with and without colliding points.
func TestSlotRule(t *testing.T) {
	tests := []struct{ shards, vnodes int }{
		{1, 1},
		{2, 1},
		{3, 64},
		{5, 16},
		{64, 64},  // 4096 points: many collisions
		{512, 16}, // 8192 points
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%dx%d", tt.shards, tt.vnodes), func(t *testing.T) {
			tb := mustNew(t, testNodes(1), tt.shards, 1, tt.vnodes)
			// referenceOwner recomputes the points on every call; this is
			// the same rule with the points computed once.
			at := make([]int, slot.Count) // lowest group with a point there, or -1
			for i := range at {
				at[i] = -1
			}
			for g := tt.shards - 1; g >= 0; g-- {
				for v := range tt.vnodes {
					at[xxhash.Sum64String(fmt.Sprintf("shard-%d-vnode-%d", g, v))%slot.Count] = g
				}
			}
			for s := range slot.Count {
				want := -1
				for d := range slot.Count {
					if g := at[(s+d)%slot.Count]; g >= 0 {
						want = g
						break
					}
				}
				if got := tb.GroupOf(uint16(s)); got != want {
					t.Fatalf("GroupOf(%d): got %d, want %d", s, got, want)
				}
			}
			for _, s := range []int{0, 1, slot.Count / 2, slot.Count - 1} {
				if got, want := tb.GroupOf(uint16(s)), referenceOwner(tt.shards, tt.vnodes, s); got != want {
					t.Errorf("GroupOf(%d): got %d, want %d (referenceOwner)", s, got, want)
				}
			}
		})
	}
}

func TestGroupOfKey(t *testing.T) {
	tb := mustNew(t, testNodes(3), 8, 3, 64)
	for i := range 10_000 {
		key := fmt.Appendf(nil, "key:%d", i)
		if got, want := tb.GroupOfKey(key), tb.GroupOf(slot.Of(key)); got != want {
			t.Fatalf("GroupOfKey(%q): got %d, want %d (GroupOf(slot.Of))", key, got, want)
		}
	}
	a, b := tb.GroupOfKey([]byte("{user1000}.following")), tb.GroupOfKey([]byte("{user1000}.followers"))
	if a != b {
		t.Errorf("hash-tagged keys: got groups %d and %d, want the same", a, b)
	}
}

// TestAddGroupMovement checks the consistent-hashing property: adding a group
// moves slots only to the new group.
func TestAddGroupMovement(t *testing.T) {
	for _, shards := range []int{1, 3, 8, 63} {
		t.Run(fmt.Sprintf("%d->%d", shards, shards+1), func(t *testing.T) {
			before := mustNew(t, testNodes(1), shards, 1, 64)
			after := mustNew(t, testNodes(1), shards+1, 1, 64)
			moved := 0
			for s := range slot.Count {
				from, to := before.GroupOf(uint16(s)), after.GroupOf(uint16(s))
				if from == to {
					continue
				}
				moved++
				if to != shards {
					t.Fatalf("slot %d moved from group %d: got group %d, want %d (the new group)", s, from, to, shards)
				}
			}
			t.Logf("%d of %d slots moved (%.4f, ideal %.4f)", moved, slot.Count,
				float64(moved)/slot.Count, 1/float64(shards+1))
		})
	}
}

func TestRanges(t *testing.T) {
	tests := []struct{ shards, vnodes int }{
		{1, 1},
		{3, 64},
		{5, 16},
		{64, 64},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%dx%d", tt.shards, tt.vnodes), func(t *testing.T) {
			tb := mustNew(t, testNodes(1), tt.shards, 1, tt.vnodes)
			seen := make([]bool, slot.Count)
			for g := range tt.shards {
				rs := tb.Ranges(g)
				if len(rs) == 0 {
					t.Fatalf("Ranges(%d): got none, want at least one", g)
				}
				for i, r := range rs {
					if r.Start > r.End || r.End >= slot.Count {
						t.Fatalf("Ranges(%d)[%d]: got %v, want Start <= End < %d", g, i, r, slot.Count)
					}
					if i > 0 && int(rs[i-1].End)+1 >= int(r.Start) {
						t.Fatalf("Ranges(%d)[%d:%d]: got %v, %v, want ascending with a gap", g, i-1, i+1, rs[i-1], r)
					}
					for s := int(r.Start); s <= int(r.End); s++ {
						if got := tb.GroupOf(uint16(s)); got != g {
							t.Fatalf("GroupOf(%d) in Ranges(%d): got %d, want %d", s, g, got, g)
						}
						seen[s] = true
					}
				}
			}
			if i := slices.Index(seen, false); i >= 0 {
				t.Fatalf("slot %d: in no group's ranges, want in one", i)
			}
		})
	}
	t.Run("one group", func(t *testing.T) {
		tb := mustNew(t, testNodes(1), 1, 1, 1)
		if got, want := tb.Ranges(0), []Range{{0, slot.Count - 1}}; !slices.Equal(got, want) {
			t.Errorf("Ranges(0): got %v, want %v", got, want)
		}
	})
}

// TestReplicaSpread checks the replica rule over many sizes: replicas in a
// group are distinct, and both the replicas and the preferred leaders per
// node differ by at most one between the busiest node and the idlest.
func TestReplicaSpread(t *testing.T) {
	var sizes [][2]int // nodes, shards
	for n := 1; n <= 16; n++ {
		for s := 1; s <= 64; s++ {
			sizes = append(sizes, [2]int{n, s})
		}
	}
	for _, n := range []int{17, 31, 64, 100} {
		for _, s := range []int{1, 2, 16, 63, 64, 97, 128, 255, 256, 1000, 1023, MaxShards} {
			sizes = append(sizes, [2]int{n, s})
		}
	}
	combos := 0
	for _, size := range sizes {
		n, shards := size[0], size[1]
		for replicas := 1; replicas <= n; replicas++ {
			checkSpread(t, n, shards, replicas, placeReplicas(n, shards, replicas))
			combos++
		}
	}
	t.Logf("%d (nodes, shards, replicas) combinations checked", combos)

	// New places replicas by the same rule.
	for _, c := range [][3]int{{3, 3, 3}, {5, 3, 3}, {7, 100, 3}, {4, 1024, 2}} {
		n, shards, replicas := c[0], c[1], c[2]
		tb := mustNew(t, testNodes(n), shards, replicas, 8)
		checkSpread(t, n, shards, replicas, tb.Groups())
	}
}

// checkSpread fails t unless groups are shards groups of replicas distinct
// nodes in [0, n), with replicas and leaders spread within one per node.
func checkSpread(t *testing.T, n, shards, replicas int, groups []Group) {
	t.Helper()
	held := make([]int, n)
	led := make([]int, n)
	if len(groups) != shards {
		t.Fatalf("%d nodes, %d shards, %d replicas: got %d groups, want %d", n, shards, replicas, len(groups), shards)
	}
	for g, grp := range groups {
		if grp.ID != g || len(grp.Replicas) != replicas {
			t.Fatalf("%d nodes, %d shards, %d replicas: group %d: got ID %d with %d replicas, want ID %d with %d",
				n, shards, replicas, g, grp.ID, len(grp.Replicas), g, replicas)
		}
		for i, r := range grp.Replicas {
			if r < 0 || r >= n || slices.Contains(grp.Replicas[:i], r) {
				t.Fatalf("%d nodes, %d shards, %d replicas: group %d: got replicas %v, want distinct nodes in [0, %d)",
					n, shards, replicas, g, grp.Replicas, n)
			}
			held[r]++
		}
		led[grp.Replicas[0]]++
	}
	if lo, hi := slices.Min(held), slices.Max(held); hi-lo > 1 {
		t.Fatalf("%d nodes, %d shards, %d replicas: replicas per node %v: got max-min %d, want at most 1",
			n, shards, replicas, held, hi-lo)
	}
	if lo, hi := slices.Min(led), slices.Max(led); hi-lo > 1 {
		t.Fatalf("%d nodes, %d shards, %d replicas: leaders per node %v: got max-min %d, want at most 1",
			n, shards, replicas, led, hi-lo)
	}
}

// TestRoundRobinUneven records why the replica rule is not plain round
// robin (group g on nodes g, g+1, ...): that spreads replicas unevenly
// whenever the groups do not fill whole laps of the nodes.
func TestRoundRobinUneven(t *testing.T) {
	const n, shards, replicas = 5, 3, 3
	held := make([]int, n)
	for g := range shards {
		for i := range replicas {
			held[(g+i)%n]++
		}
	}
	if lo, hi := slices.Min(held), slices.Max(held); hi-lo <= 1 {
		t.Fatalf("round robin, replicas per node %v: got max-min %d, want more than 1", held, hi-lo)
	}
	checkSpread(t, n, shards, replicas, placeReplicas(n, shards, replicas))
}

// TestReplicaGolden pins the replicas of a few small tables.
func TestReplicaGolden(t *testing.T) {
	tests := []struct {
		nodes, shards, replicas int
		want                    [][]int
	}{
		{3, 3, 3, [][]int{{0, 1, 2}, {1, 2, 0}, {2, 0, 1}}},
		{3, 1, 3, [][]int{{0, 1, 2}}},
		{5, 3, 3, [][]int{{0, 1, 2}, {1, 2, 3}, {3, 4, 0}}},
		{3, 4, 2, [][]int{{0, 1}, {0, 1}, {1, 2}, {2, 0}}},
		{1, 2, 1, [][]int{{0}, {0}}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%d/%d", tt.nodes, tt.shards, tt.replicas), func(t *testing.T) {
			tb := mustNew(t, testNodes(tt.nodes), tt.shards, tt.replicas, 64)
			var got [][]int
			for _, g := range tb.Groups() {
				got = append(got, g.Replicas)
			}
			if !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("replicas: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	nodes := testNodes(5)
	shuffled := slices.Clone(nodes)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	})
	a := mustNew(t, nodes, 7, 3, 64)
	b := mustNew(t, shuffled, 7, 3, 64)
	if a.slots != b.slots {
		t.Errorf("slots: got different owners from the same sizes, want the same")
	}
	if !slices.Equal(a.Nodes(), b.Nodes()) {
		t.Errorf("Nodes: got %v and %v, want the same", a.Nodes(), b.Nodes())
	}
	if !slices.EqualFunc(a.Groups(), b.Groups(), func(x, y Group) bool {
		return x.ID == y.ID && slices.Equal(x.Replicas, y.Replicas)
	}) {
		t.Errorf("Groups: got %v and %v, want the same", a.Groups(), b.Groups())
	}
}

func TestNodes(t *testing.T) {
	nodes := []Node{
		{ID: "n3", PeerAddr: "127.0.0.1:17003"},
		{ID: "n1", PeerAddr: "127.0.0.1:17001"},
		{ID: "n2", PeerAddr: "127.0.0.1:17002"},
	}
	given := slices.Clone(nodes)
	tb, err := New(42, nodes, 3, 3, 64)
	if err != nil {
		t.Fatalf("New: got error %v, want nil", err)
	}
	if !slices.Equal(nodes, given) {
		t.Errorf("New changed its argument: got %v, want %v", nodes, given)
	}
	if got := tb.Epoch(); got != 42 {
		t.Errorf("Epoch: got %d, want 42", got)
	}
	want := []Node{given[1], given[2], given[0]}
	if got := tb.Nodes(); !slices.Equal(got, want) {
		t.Errorf("Nodes: got %v, want %v", got, want)
	}
	for i, n := range want {
		if got := tb.NodeIndex(n.ID); got != i {
			t.Errorf("NodeIndex(%q): got %d, want %d", n.ID, got, i)
		}
	}
	for _, id := range []string{"", "n0", "n4", "N1", "n1 "} {
		if got := tb.NodeIndex(id); got != -1 {
			t.Errorf("NodeIndex(%q): got %d, want -1", id, got)
		}
	}
}

// TestImmutable checks that changing what the accessors return leaves the
// table as it was.
func TestImmutable(t *testing.T) {
	tb := mustNew(t, testNodes(3), 3, 3, 64)
	nodes, groups, ranges := tb.Nodes(), tb.Groups(), tb.Ranges(0)

	n := tb.Nodes()
	n[0].ID = "changed"
	g := tb.Groups()
	g[0].Replicas[0] = 99
	g[1].ID = 99
	r := tb.Ranges(0)
	r[0].Start = 1234

	if got := tb.Nodes(); !slices.Equal(got, nodes) {
		t.Errorf("Nodes after changing a copy: got %v, want %v", got, nodes)
	}
	if got := tb.Groups(); !slices.EqualFunc(got, groups, func(x, y Group) bool {
		return x.ID == y.ID && slices.Equal(x.Replicas, y.Replicas)
	}) {
		t.Errorf("Groups after changing a copy: got %v, want %v", got, groups)
	}
	if got := tb.Ranges(0); !slices.Equal(got, ranges) {
		t.Errorf("Ranges(0) after changing a copy: got %v, want %v", got, ranges)
	}
}

func TestReplicaID(t *testing.T) {
	tb := mustNew(t, testNodes(5), 4, 3, 64)
	for _, g := range tb.Groups() {
		seen := make(map[uint64]bool)
		for _, r := range g.Replicas {
			id := tb.ReplicaID(g.ID, r)
			if id == 0 || seen[id] {
				t.Fatalf("ReplicaID(%d, %d): got %d, want non-zero and unique in the group", g.ID, r, id)
			}
			if want := uint64(r) + 1; id != want {
				t.Errorf("ReplicaID(%d, %d): got %d, want %d", g.ID, r, id, want)
			}
			seen[id] = true
		}
	}
	tests := []struct {
		name             string
		group, nodeIndex int
	}{
		{"negative group", -2, 0},
		{"group too large", 4, 0},
		{"negative node", 0, -1},
		{"node too large", 0, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("ReplicaID(%d, %d): got no panic, want one", tt.group, tt.nodeIndex)
				}
			}()
			tb.ReplicaID(tt.group, tt.nodeIndex)
		})
	}
}

// TestNodeName pins node names, checked against an independent SHA-1.
func TestNodeName(t *testing.T) {
	tests := []struct{ id, want string }{
		{"n1", "40b3eab63f3f1d4fa48e09559401c5ed4efceaa6"},
		{"n2", "40243476fcaaf8dca4d9eda7fde4232c5c18f75d"},
		{"n3", "26c2ce28d0df94c010c5255203b885cba81b9018"},
		{"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			got := NodeName(tt.id)
			if got != tt.want {
				t.Errorf("NodeName(%q): got %q, want %q", tt.id, got, tt.want)
			}
			if len(got) != 40 || strings.Trim(got, "0123456789abcdef") != "" {
				t.Errorf("NodeName(%q): got %q, want 40 lower-case hex digits", tt.id, got)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	nodes := testNodes(3)
	tests := []struct {
		name                     string
		nodes                    []Node
		shards, replicas, vnodes int
		want                     error
		text                     string // in the error's message
	}{
		{"no nodes", nil, 3, 1, 64, ErrNodes, "none"},
		{"bad id", []Node{{ID: "n 1", PeerAddr: "127.0.0.1:1"}}, 1, 1, 64, ErrNodes, `invalid node id "n 1"`},
		{"empty id", []Node{{ID: "", PeerAddr: "127.0.0.1:1"}}, 1, 1, 64, ErrNodes, `invalid node id ""`},
		{"bad address", []Node{{ID: "n1", PeerAddr: "127.0.0.1"}}, 1, 1, 64, ErrNodes, "want host:port"},
		{"duplicate id", []Node{{ID: "n1", PeerAddr: "127.0.0.1:1"}, {ID: "n1", PeerAddr: "127.0.0.1:2"}}, 1, 1, 64, ErrNodes, `duplicate node id "n1"`},
		{"duplicate address", []Node{{ID: "n1", PeerAddr: "127.0.0.1:1"}, {ID: "n2", PeerAddr: "127.0.0.1:01"}}, 1, 1, 64, ErrNodes, "duplicate address"},
		{"zero shards", nodes, 0, 1, 64, ErrShards, "want 1 to 1024"},
		{"too many shards", nodes, MaxShards + 1, 1, 64, ErrShards, "1025"},
		{"zero replicas", nodes, 3, 0, 64, ErrReplicas, "want 1 to 3"},
		{"more replicas than nodes", nodes, 3, 4, 64, ErrReplicas, "want 1 to 3"},
		{"zero vnodes", nodes, 3, 3, 0, ErrVnodes, "want 1 to 4096"},
		{"too many vnodes", nodes, 3, 3, MaxVnodes + 1, ErrVnodes, "4097"},
		{"empty group, few points", nodes, MaxShards, 1, 1, ErrEmptyGroup, "use more virtual nodes"},
		{"empty group, crowded points", nodes, MaxShards, 1, 64, ErrEmptyGroup, "use fewer virtual nodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb, err := New(1, tt.nodes, tt.shards, tt.replicas, tt.vnodes)
			if !errors.Is(err, tt.want) {
				t.Fatalf("New: got error %v, want %v", err, tt.want)
			}
			if tb != nil {
				t.Errorf("New: got table %p, want nil", tb)
			}
			t.Log(err)
			if msg := err.Error(); !strings.Contains(msg, tt.text) || strings.Contains(msg, "\n") {
				t.Errorf("New: got error %q, want one line containing %q", msg, tt.text)
			}
		})
	}
}

func TestAllocs(t *testing.T) {
	tb := mustNew(t, testNodes(3), 3, 3, 64)
	key := []byte("{user1000}.following")
	tests := []struct {
		name string
		f    func()
	}{
		{"GroupOf", func() { tb.GroupOf(1234) }},
		{"GroupOfKey", func() { tb.GroupOfKey(key) }},
		{"NodeIndex", func() { tb.NodeIndex("n2") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := testing.AllocsPerRun(1000, tt.f); got != 0 {
				t.Errorf("allocs per run: got %v, want 0", got)
			}
		})
	}
}

func TestConcurrentReads(t *testing.T) {
	tb := mustNew(t, testNodes(3), 8, 3, 64)
	want := make([]int, 1000)
	for i := range want {
		want[i] = tb.GroupOfKey(fmt.Appendf(nil, "key:%d", i))
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i, w := range want {
				if got := tb.GroupOfKey(fmt.Appendf(nil, "key:%d", i)); got != w {
					t.Errorf("GroupOfKey(key:%d): got %d, want %d", i, got, w)
					return
				}
				_ = tb.Groups()
				_ = tb.Ranges(w)
			}
		})
	}
	wg.Wait()
}

// benchKeys returns 1024 pseudo-random keys of n bytes each, the same on
// every run.
func benchKeys(n int) [][]byte {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	keys := make([][]byte, 1024)
	for i := range keys {
		k := make([]byte, n)
		for j := range k {
			k[j] = 'a' + byte(rng.IntN(26))
		}
		keys[i] = k
	}
	return keys
}

func BenchmarkGroupOfKey3x64(b *testing.B)  { benchmarkGroupOfKey(b, 3, 64) }
func BenchmarkGroupOfKey64x64(b *testing.B) { benchmarkGroupOfKey(b, 64, 64) }

func benchmarkGroupOfKey(b *testing.B, shards, vnodes int) {
	tb := mustNew(b, testNodes(3), shards, 3, vnodes)
	for _, n := range []int{8, 32, 256} {
		keys := benchKeys(n)
		b.Run(fmt.Sprintf("key=%d", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				tb.GroupOfKey(keys[i%len(keys)])
				i++
			}
		})
	}
}

func BenchmarkNew(b *testing.B) {
	for _, size := range [][2]int{{3, 64}, {64, 64}, {1024, 8}} {
		nodes := testNodes(5)
		b.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := New(1, nodes, size[0], 3, size[1]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

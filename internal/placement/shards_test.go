package placement

import (
	"encoding/hex"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

// followShards applies PlanShards's steps to tb, ending every migration at
// once, until there is none, and returns the table reached. It checks each
// table's encoding on the way.
func followShards(t *testing.T, tb *Table) *Table {
	t.Helper()
	none := func(string) bool { return false }
	for range 10000 {
		if _, ok := tb.Migration(); ok {
			next, err := tb.Assign()
			if err != nil {
				t.Fatal(err)
			}
			tb = next
			roundTrip(t, tb)
			continue
		}
		step, ok := tb.PlanShards(none)
		if !ok {
			return tb
		}
		next, err := tb.Apply(step)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		tb = next
		roundTrip(t, tb)
	}
	t.Fatal("PlanShards never ends")
	return nil
}

func TestSetShardsGrowsAndShrinks(t *testing.T) {
	tb := newTable(t, 5, 3, 3)
	for _, n := range []int{5, 2, 7, 1} {
		set, err := tb.SetShards(n, 64)
		if err != nil {
			t.Fatal(err)
		}
		got := followShards(t, set)
		want, err := New(1, nodesN(5), n, 3, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got.slots != want.slots || len(got.Groups()) != n {
			t.Fatalf("%d shards: slots or groups differ from a new table of %d groups", n, n)
		}
		for _, g := range got.Groups() {
			if len(g.Replicas) != 3 {
				t.Fatalf("%d shards: group %d has %d replicas", n, g.ID, len(g.Replicas))
			}
			if g.ID >= len(tb.Groups()) && !slices.Equal(g.Born, g.IDs) {
				t.Fatalf("%d shards: new group %d born %v, ids %v", n, g.ID, g.Born, g.IDs)
			}
		}
		tb = got
	}
}

// TestSetShardsMovesOnlyWhatItMust checks that growing moves slots only to
// the new groups, and that each migration moves the slots of one group to
// one other.
func TestSetShardsMovesOnlyWhatItMust(t *testing.T) {
	tb, err := newTable(t, 4, 3, 3).SetShards(4, 64)
	if err != nil {
		t.Fatal(err)
	}
	none := func(string) bool { return false }
	step, ok := tb.PlanShards(none)
	if !ok || step.Kind != StepAddGroup || len(step.Nodes) != 3 || step.Group != 3 {
		t.Fatalf("first step %v", step)
	}
	if tb, err = tb.Apply(step); err != nil {
		t.Fatal(err)
	}
	before := tb.slots
	for {
		step, ok := tb.PlanShards(none)
		if !ok {
			break
		}
		if step.Kind != StepMigrate || step.ToGroup != 3 {
			t.Fatalf("step %v, want a migration to group 3", step)
		}
		if tb, err = tb.Apply(step); err != nil {
			t.Fatal(err)
		}
		if _, ok := tb.PlanShards(none); ok {
			t.Fatal("a second step planned while slots migrate")
		}
		m, _ := tb.Migration()
		for _, r := range m.Slots {
			for s := r.Start; s <= r.End; s++ {
				if to, ok := tb.Migrating(s); !ok || to != 3 || tb.GroupOf(s) != m.From {
					t.Fatalf("slot %d: migrating %v to %d, owner %d", s, ok, to, tb.GroupOf(s))
				}
			}
		}
		if tb, err = tb.Assign(); err != nil {
			t.Fatal(err)
		}
	}
	for s, g := range tb.slots {
		if g != before[s] && g != 3 {
			t.Fatalf("slot %d moved from %d to %d, not to the new group", s, before[s], g)
		}
	}
}

func TestShardChangesRefused(t *testing.T) {
	tb := newTable(t, 3, 3, 3)
	if _, err := tb.SetShards(0, 64); !errors.Is(err, ErrChange) {
		t.Fatalf("0 shards: %v", err)
	}
	if _, err := tb.SetShards(MaxShards+1, 64); !errors.Is(err, ErrChange) {
		t.Fatalf("too many shards: %v", err)
	}
	if _, err := tb.SetShards(1000, 1); !errors.Is(err, ErrChange) || !strings.Contains(err.Error(), "owns no slot") {
		t.Fatalf("groups that would own no slot: %v", err)
	}
	r0 := tb.Ranges(0)[0]
	r1 := tb.Ranges(1)[0]
	if _, err := tb.Migrate(0, 0, []Range{r0}); !errors.Is(err, ErrChange) {
		t.Fatalf("to itself: %v", err)
	}
	if _, err := tb.Migrate(0, 1, []Range{r1}); !errors.Is(err, ErrChange) {
		t.Fatalf("slots of another group: %v", err)
	}
	if _, err := tb.Migrate(0, 5, []Range{r0}); !errors.Is(err, ErrChange) {
		t.Fatalf("to no group: %v", err)
	}
	if _, err := tb.Assign(); !errors.Is(err, ErrChange) {
		t.Fatalf("assign with nothing moving: %v", err)
	}
	mig, err := tb.Migrate(0, 1, []Range{r0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mig.Migrate(1, 2, []Range{r1}); !errors.Is(err, ErrChange) {
		t.Fatalf("second migration: %v", err)
	}
	if _, err := tb.DropGroup(); !errors.Is(err, ErrChange) {
		t.Fatalf("dropping a group that owns slots: %v", err)
	}
	grown, err := tb.AddGroup([]string{"n1", "n2"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := grown.DropGroup(); !errors.Is(err, ErrChange) {
		t.Fatalf("dropping a group the table wants: %v", err)
	}
	if _, err := tb.AddGroup([]string{"n1", "n1"}); !errors.Is(err, ErrChange) {
		t.Fatalf("a node twice: %v", err)
	}
	if _, err := tb.AddGroup([]string{"n9"}); !errors.Is(err, ErrChange) {
		t.Fatalf("unknown node: %v", err)
	}
}

// TestDecodeVersion1 reads a table written before version 2: groups have
// no born replicas, the virtual nodes are not known, and nothing moves.
func TestDecodeVersion1(t *testing.T) {
	h, err := os.ReadFile("testdata/table-v1.hex")
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(h)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	tb, _ := New(3, nodesN(4), 3, 3, 64)
	want, _ := tb.Move(0, "n2", "n4")
	if got.slots != want.slots || got.Epoch() != want.Epoch() || got.Vnodes() != 0 || got.WantShards() != 3 {
		t.Fatal("version 1 table decoded differently")
	}
	for g, grp := range got.Groups() {
		w := want.Groups()[g]
		if !slices.Equal(grp.IDs, w.IDs) || !slices.Equal(grp.LeavingIDs, w.LeavingIDs) || len(grp.Born) != 0 {
			t.Fatalf("group %d decoded as %+v, want %+v", g, grp, w)
		}
	}
	if _, ok := got.PlanShards(func(string) bool { return false }); ok {
		t.Fatal("a table without its virtual nodes planned a shard step")
	}
	if set, err := got.SetShards(4, 64); err != nil || set.Vnodes() != 64 {
		t.Fatalf("SetShards on a version 1 table: %v", err)
	}
}

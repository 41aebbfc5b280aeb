package cluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestServerSave checks SAVE, BGSAVE and LASTSAVE on a node: every replica
// there writes a snapshot of all it applied, INFO persistence says so, and
// a run under way refuses another, or schedules it (BGSAVE SCHEDULE).
func TestServerSave(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	n := tn.nodes[0]
	rc := redis.NewClient(&redis.Options{Addr: serveNode(t, tn, 0, ServerConfig{}), Protocol: 2})
	defer rc.Close()
	ctx := context.Background()
	persistence := func() string {
		t.Helper()
		info, err := rc.Info(ctx, "persistence").Result()
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	snapshots := func() (sum int64) {
		for g := range n.all {
			if loc := n.local(g); loc != nil {
				sum += loc.Stats().Snapshots.Load()
			}
		}
		return sum
	}

	if got, err := rc.LastSave(ctx).Result(); err != nil || got != n.started.Unix() {
		t.Fatalf("LASTSAVE before any save: %d, %v, want the node's start, %d", got, err, n.started.Unix())
	}
	for i := range 100 {
		if err := rc.Set(ctx, fmt.Sprintf("key:%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	applied := map[int]uint64{}
	for g := range n.all {
		if loc := n.local(g); loc != nil {
			applied[g] = loc.appliedAt.Load()
		}
	}
	if len(applied) != 4 {
		t.Fatalf("node 0 holds %d replicas, want 4 (3 groups and the metadata group)", len(applied))
	}
	if err := rc.Save(ctx).Err(); err != nil {
		t.Fatalf("SAVE: %v", err)
	}
	for g, a := range applied {
		st := n.local(g).Stats()
		if st.SavedIndex.Load() < a || st.SavedAt.Load() == 0 {
			t.Errorf("group %d: after SAVE its replica here saved up to %d at %d; it had applied %d before",
				g, st.SavedIndex.Load(), st.SavedAt.Load(), a)
		}
	}
	if got, err := rc.LastSave(ctx).Result(); err != nil || got < n.started.Unix() || got > time.Now().Unix() {
		t.Fatalf("LASTSAVE after SAVE: %d, %v", got, err)
	}
	if info := persistence(); !strings.Contains(info, "rdb_bgsave_in_progress:0") || !strings.Contains(info, "rdb_last_bgsave_status:ok") ||
		!strings.Contains(info, "rdb_last_save_time:") || !strings.Contains(info, "rdb_changes_since_last_save:") {
		t.Fatalf("INFO persistence after SAVE:\n%s", info)
	}

	if err := rc.Set(ctx, "key:x", "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// The write is acknowledged once its group's leader applied it; the
	// replica here, which BGSAVE saves, may follow and not have it yet, and
	// would then have nothing new to save.
	g := n.v().table.GroupOfKey([]byte("key:x"))
	var lead uint64
	for _, o := range tn.nodes {
		lead = max(lead, o.local(g).appliedAt.Load())
	}
	eventually(t, "the replica here to apply the write", func() bool { return n.local(g).appliedAt.Load() >= lead })
	before := snapshots()
	if got, err := rc.BgSave(ctx).Result(); err != nil || got != "Background saving started" {
		t.Fatalf("BGSAVE: %q, %v", got, err)
	}
	eventually(t, "the BGSAVE to end", func() bool {
		return strings.Contains(persistence(), "rdb_bgsave_in_progress:0") && snapshots() > before
	})
	if err := rc.Do(ctx, "BGSAVE", "x").Err(); err == nil || err.Error() != "ERR syntax error" {
		t.Fatalf("BGSAVE x: %v, want ERR syntax error", err)
	}

	// A run under way (begun here as a SAVE would be) refuses SAVE and
	// BGSAVE, and schedules BGSAVE SCHEDULE, which starts once it ends.
	if !n.beginSave() {
		t.Fatal("a save is still under way")
	}
	if info := persistence(); !strings.Contains(info, "rdb_bgsave_in_progress:1") || !strings.Contains(info, "rdb_current_bgsave_time_sec:0") {
		t.Fatalf("INFO persistence while a save runs:\n%s", info)
	}
	for _, cmd := range [][]any{{"SAVE"}, {"BGSAVE"}} {
		if err := rc.Do(ctx, cmd...).Err(); err == nil || err.Error() != "ERR Background save already in progress" {
			t.Fatalf("%v while a save runs: %v", cmd, err)
		}
	}
	if err := rc.Set(ctx, "key:y", "y", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := rc.Do(ctx, "BGSAVE", "SCHEDULE").Text(); err != nil || got != "Background saving scheduled" {
		t.Fatalf("BGSAVE SCHEDULE while a save runs: %q, %v", got, err)
	}
	before = snapshots()
	n.endSave(nil)
	eventually(t, "the scheduled BGSAVE to run", func() bool {
		return strings.Contains(persistence(), "rdb_bgsave_in_progress:0") && snapshots() > before
	})
}

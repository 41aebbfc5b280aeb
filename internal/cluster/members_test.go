package cluster

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// join starts a new replica id that is not among the group's founders: it
// has no peers and waits to be added.
func (tg *testGroup) join(id uint64) {
	tg.t.Helper()
	tg.stores[id] = &MemStorage{}
	tg.startWith(id, nil)
}

// replacing returns the voters of the group with replica old replaced by
// the new replica 4, sorted.
func (tg *testGroup) replacing(old uint64) []uint64 {
	voters := []uint64{4}
	for id := range tg.reps {
		if id != old {
			voters = append(voters, id)
		}
	}
	slices.Sort(voters)
	return voters
}

// want tells every replica the voters wanted.
func (tg *testGroup) want(voters []uint64, preferred uint64) {
	for _, g := range tg.reps {
		g.SetMembers(voters, preferred)
	}
}

// configured waits until replica id has applied a configuration of
// exactly voters, with no learner and no joint change.
func (tg *testGroup) configured(id uint64, voters []uint64) {
	tg.t.Helper()
	eventually(tg.t, fmt.Sprintf("replica %d to apply voters %v", id, voters), func() bool {
		v, l, joint := tg.reps[id].Members()
		slices.Sort(v)
		return slices.Equal(v, voters) && len(l) == 0 && !joint
	})
}

// writeWhile writes keys w0, w1, ... to whichever replica leads until stop
// is closed, and returns the keys whose write was acknowledged.
func (tg *testGroup) writeWhile(stop <-chan struct{}) func() []string {
	var mu sync.Mutex
	var acked []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k := fmt.Sprintf("w%d", i)
			var lead uint64
			for id, g := range tg.reps {
				if g.Status().Role == "leader" {
					lead = id
				}
			}
			if lead == 0 {
				continue
			}
			if r, err := tg.do(lead, Write, "SET", k, k); err == nil && r == "+OK\r\n" {
				mu.Lock()
				acked = append(acked, k)
				mu.Unlock()
			} else if err != nil && !errors.Is(err, ErrNotLeader) && !errors.Is(err, ErrTryAgain) && !errors.Is(err, ErrUnknown) && !errors.Is(err, ErrStopped) {
				tg.t.Errorf("write %s: %v", k, err)
			}
		}
	}()
	return func() []string {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return acked
	}
}

// checkHas waits for replica id to apply what the leader committed and
// checks that it holds every key of keys.
func (tg *testGroup) checkHas(id uint64, keys []string) {
	tg.t.Helper()
	lead := tg.leader()
	commit := tg.reps[lead].Status().Commit
	eventually(tg.t, fmt.Sprintf("replica %d to apply %d", id, commit), func() bool {
		return tg.reps[id].Status().Applied >= commit
	})
	for _, k := range keys {
		if r, _ := tg.do(id, Stale, "GET", k); r != fmt.Sprintf("$%d\r\n%s\r\n", len(k), k) {
			tg.t.Fatalf("replica %d lost acknowledged write %s: %q", id, k, r)
		}
	}
}

// TestGroupMovesReplica replaces a follower by a new replica while writes
// go on: the new one joins as a learner, catches up from a snapshot, and a
// joint change promotes it and removes the old one. Every acknowledged
// write is on the new replica afterwards.
func TestGroupMovesReplica(t *testing.T) {
	tg := newTestGroup(t, func(c *GroupConfig) { c.SnapshotEntries, c.CompactKeep = 50, 10 })
	lead := tg.leader()
	for i := range 200 {
		tg.mustDo(lead, Write, "SET", fmt.Sprintf("k%d", i), "v")
	}
	old := tg.follower(lead)
	voters := tg.replacing(old)

	tg.join(4)
	stop := make(chan struct{})
	acked := tg.writeWhile(stop)
	tg.want(voters, lead)
	tg.configured(lead, voters)
	tg.configured(4, voters)
	close(stop)
	keys := acked()
	if len(keys) == 0 {
		t.Fatal("no write was acknowledged during the move")
	}
	tg.checkHas(4, keys)
	if tg.reps[4].Stats().Installed.Load() == 0 {
		t.Fatal("the new replica caught up without a snapshot; the test wants one")
	}
	// The old replica is out: the group writes without it.
	tg.stop(old)
	tg.mustDo(tg.leader(), Write, "SET", "after", "1")
}

// TestGroupMovesLeader replaces the leader's replica: it hands leadership
// to a replica that stays before the change removes it.
func TestGroupMovesLeader(t *testing.T) {
	tg := newTestGroup(t, nil)
	lead := tg.leader()
	voters := tg.replacing(lead)
	tg.join(4)
	stop := make(chan struct{})
	acked := tg.writeWhile(stop)
	tg.want(voters, voters[0])
	newLead := tg.leader(lead)
	tg.configured(newLead, voters)
	close(stop)
	keys := acked()
	tg.checkHas(4, keys)
	if st := tg.reps[lead].Status(); st.Role == "leader" {
		t.Fatalf("the removed replica still leads: %+v", st)
	}
}

// The pacer holds a stream of sends to its rate: 2 MiB at 8 MiB/s take a
// quarter of a second, whatever the sizes of the parts.
func TestPacer(t *testing.T) {
	var p pacer
	start := time.Now()
	for range 8 {
		p.wait(256<<10, 8<<20)
	}
	// The first part goes at once; the other seven wait 7/32 s.
	if d := time.Since(start); d < 7*time.Second/32 {
		t.Fatalf("8 parts of 256 KiB at 8 MiB/s took %v, want at least %v", d, 7*time.Second/32)
	}
	p = pacer{}
	p.wait(1<<20, 0)
	if !p.next.IsZero() {
		t.Fatal("a rate of 0 paced a send")
	}
}

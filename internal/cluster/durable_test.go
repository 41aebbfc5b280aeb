package cluster

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

// A replica answers for what it has saved: an append response leaves once
// the entries it acknowledges are in the replica's storage, a vote once the
// vote and its term are, whatever the commit indexes saved lazily
// (Group.toSave) and the commit-only appends held back (Group.holdCommit).
// Each answer is checked against the sender's storage as it leaves, through
// writes, a leader cut off and the election that follows.
func TestGroupAnswersAfterSaving(t *testing.T) {
	var (
		mu         sync.Mutex
		violations []string
		appResps   atomic.Int64
		votes      atomic.Int64
	)
	var tg *testGroup
	check := func(from, to uint64, m *raftpb.Message) {
		if m.GetReject() {
			return
		}
		switch m.GetType() {
		case raftpb.MsgAppResp, raftpb.MsgVoteResp:
		default:
			return
		}
		st := tg.stores[from].State()
		last := st.Snapshot.GetMetadata().GetIndex()
		if n := len(st.Entries); n > 0 {
			last = max(last, st.Entries[n-1].GetIndex())
		}
		hs := st.HardState
		var bad string
		switch m.GetType() {
		case raftpb.MsgAppResp:
			appResps.Add(1)
			if last < m.GetIndex() || hs.GetTerm() < m.GetTerm() {
				bad = fmt.Sprintf("replica %d acknowledged index %d in term %d with index %d, term %d saved",
					from, m.GetIndex(), m.GetTerm(), last, hs.GetTerm())
			}
		case raftpb.MsgVoteResp:
			votes.Add(1)
			if hs.GetVote() != to || hs.GetTerm() != m.GetTerm() {
				bad = fmt.Sprintf("replica %d voted for %d in term %d with vote %d, term %d saved",
					from, to, m.GetTerm(), hs.GetVote(), hs.GetTerm())
			}
		}
		if bad != "" {
			mu.Lock()
			violations = append(violations, bad)
			mu.Unlock()
		}
	}
	tg = newTestGroup(t, nil)
	tg.net.mu.Lock()
	tg.net.watch = check
	tg.net.mu.Unlock()
	l := tg.leader()
	for i := range 30 {
		tg.mustDo(l, Write, "SET", "k", strconv.Itoa(i))
	}
	tg.net.isolate(l, true)
	nl := tg.leader(l)
	for i := range 30 {
		tg.mustDo(nl, Write, "SET", "k", strconv.Itoa(100+i))
	}
	tg.net.isolate(l, false)
	eventually(t, "the old leader to catch up", func() bool {
		r, _ := tg.do(l, Stale, "GET", "k")
		return r == "$3\r\n129\r\n"
	})
	mu.Lock()
	defer mu.Unlock()
	if len(violations) > 0 {
		t.Fatalf("%d answers before their state was saved, the first: %s", len(violations), violations[0])
	}
	if appResps.Load() == 0 || votes.Load() == 0 {
		t.Fatalf("got %d append responses and %d votes checked, want some of each", appResps.Load(), votes.Load())
	}
}

// A replica's saved commit index may be older than its snapshot (commit
// indexes are saved lazily): the whole group restarted from such state
// comes back with every acknowledged write.
func TestGroupRestartCommitBelowSnapshot(t *testing.T) {
	tg := newTestGroup(t, func(c *GroupConfig) { c.SnapshotEntries = 4 })
	l := tg.leader()
	n, behind := 0, false
	for n < 400 && !behind {
		n++
		tg.mustDo(l, Write, "INCR", "n")
		for _, s := range tg.stores {
			st := s.State()
			behind = behind || st.HardState.GetCommit() < st.Snapshot.GetMetadata().GetIndex()
		}
	}
	if !behind {
		t.Fatalf("no replica saved a commit index below its snapshot in %d writes", n)
	}
	for id := range tg.reps {
		tg.stop(id)
	}
	for id := range tg.reps {
		tg.start(id)
	}
	l = tg.leader()
	want := fmt.Sprintf(":%d\r\n", n+1)
	if got := tg.mustDo(l, Write, "INCR", "n"); got != want {
		t.Fatalf("INCR after the restart: got %q, want %q", got, want)
	}
}

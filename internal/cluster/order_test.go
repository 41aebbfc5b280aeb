package cluster

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// savedLog is what a replica's storage holds: the index of its last entry
// and its hard state. Saves and sends of one replica happen on its
// goroutine, one after the other, so a message sent sees every Save made
// before it.
type savedLog struct {
	mu   sync.Mutex
	last uint64
	hs   *raftpb.HardState
}

// recordingStorage is a MemStorage that records what it saved.
type recordingStorage struct {
	*MemStorage
	saved *savedLog
}

func (s recordingStorage) Save(hs *raftpb.HardState, ents []*raftpb.Entry, sync bool) error {
	if err := s.MemStorage.Save(hs, ents, sync); err != nil {
		return err
	}
	s.saved.mu.Lock()
	defer s.saved.mu.Unlock()
	if len(ents) > 0 {
		s.saved.last = ents[len(ents)-1].GetIndex()
	}
	if hs != nil {
		s.saved.hs = proto.CloneOf(hs)
	}
	return nil
}

func (s recordingStorage) SaveSnapshot(snap *raftpb.Snapshot) error {
	if err := s.MemStorage.SaveSnapshot(snap); err != nil {
		return err
	}
	s.saved.mu.Lock()
	s.saved.last = max(s.saved.last, snap.GetMetadata().GetIndex())
	s.saved.mu.Unlock()
	return nil
}

// A replica answers for its log only once it is saved: an append
// acknowledgement leaves after the entries it acknowledges are saved, and
// a granted vote after the hard state that records it. A leader's appends
// need not wait for its own log write, and do not.
func TestGroupSendsAnswersAfterSave(t *testing.T) {
	saved := map[*MemStorage]*savedLog{}
	var mu sync.Mutex // guards saved: the wrap runs as replicas start
	tg := newTestGroupWith(t, nil, func(s *MemStorage) Storage {
		mu.Lock()
		defer mu.Unlock()
		if saved[s] == nil {
			saved[s] = &savedLog{}
		}
		return recordingStorage{s, saved[s]}
	})
	var acks, votes, early atomic.Int64
	var bad atomic.Pointer[string]
	tg.net.mu.Lock()
	tg.net.watch = func(from, to uint64, m *raftpb.Message) {
		mu.Lock()
		sl := saved[tg.stores[from]]
		mu.Unlock()
		sl.mu.Lock()
		last, hs := sl.last, sl.hs
		sl.mu.Unlock()
		switch m.GetType() {
		case raftpb.MsgAppResp:
			if m.GetReject() {
				return
			}
			acks.Add(1)
			if m.GetIndex() > last {
				s := fmt.Sprintf("replica %d acknowledged index %d with its log saved up to %d", from, m.GetIndex(), last)
				bad.CompareAndSwap(nil, &s)
			}
		case raftpb.MsgVoteResp:
			if m.GetReject() {
				return
			}
			votes.Add(1)
			if hs.GetTerm() != m.GetTerm() || hs.GetVote() != to {
				s := fmt.Sprintf("replica %d granted its vote to %d in term %d with term %d, vote %d saved",
					from, to, m.GetTerm(), hs.GetTerm(), hs.GetVote())
				bad.CompareAndSwap(nil, &s)
			}
		case raftpb.MsgApp:
			if n := len(m.GetEntries()); n > 0 && m.GetEntries()[n-1].GetIndex() > last {
				early.Add(1)
			}
		}
	}
	tg.net.mu.Unlock()

	l := tg.leader()
	for i := range 50 {
		tg.mustDo(l, Write, "SET", fmt.Sprintf("k%d", i), "v")
	}
	// An election: the old leader cut off, the others elect one of them.
	tg.net.isolate(l, true)
	nl := tg.leader(l)
	tg.net.isolate(l, false)
	for i := range 50 {
		tg.mustDo(nl, Write, "SET", fmt.Sprintf("k%d", i), "w")
	}
	if s := bad.Load(); s != nil {
		t.Fatal(*s)
	}
	if acks.Load() == 0 || votes.Load() == 0 {
		t.Fatalf("got %d acknowledgements and %d votes granted, want some of each", acks.Load(), votes.Load())
	}
	if early.Load() == 0 {
		t.Fatal("no leader sent entries before saving them, want appends sent ahead of the leader's log write")
	}
}

package raftlog

import (
	"sync"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

// BenchmarkSharedSaveSync measures Saves of one small entry with sync in
// SyncAlways, made by 1, 3 or 8 groups at once, each on its own goroutine,
// into one Shared: ns/op is the time per Save of the whole node, and
// fdatasyncs/save how many fdatasyncs each Save cost once shared.
func BenchmarkSharedSaveSync1(b *testing.B) { benchmarkSaveSync(b, 1) }
func BenchmarkSharedSaveSync3(b *testing.B) { benchmarkSaveSync(b, 3) }
func BenchmarkSharedSaveSync8(b *testing.B) { benchmarkSaveSync(b, 8) }

func benchmarkSaveSync(b *testing.B, groups int) {
	cfg := testConfig(0)
	cfg.Sync = SyncAlways
	dir := b.TempDir()
	s := mustOpenShared(b, dir, cfg)
	defer mustCloseShared(b, s)
	savers := make([]*GroupLog, groups)
	for i := range savers {
		savers[i] = s.Group(uint32(i))
	}
	syncs := s.Syncs

	// Each token is one Save, by whichever group is free: the groups run
	// freely, as a node's groups do.
	tokens := make(chan struct{}, groups)
	errs := make(chan error, groups)
	var wg sync.WaitGroup
	for _, sv := range savers {
		wg.Go(func() {
			e := &raftpb.Entry{Index: new(uint64(0)), Term: new(uint64(1)), Data: []byte("set key:00001234")}
			ents := []*raftpb.Entry{e}
			var failed error
			for range tokens {
				*e.Index++
				if failed == nil {
					failed = sv.Save(nil, ents, true)
				}
			}
			errs <- failed
		})
	}
	before := syncs()
	saves := 0
	b.ReportAllocs()
	for b.Loop() {
		tokens <- struct{}{}
		saves++
	}
	close(tokens)
	wg.Wait()
	for range groups {
		if err := <-errs; err != nil {
			b.Fatalf("Save: %v", err)
		}
	}
	b.ReportMetric(float64(syncs()-before)/float64(saves), "fdatasyncs/save")
}

package shard

import (
	"sync/atomic"

	"github.com/data-cluster/data-cluster/internal/cmdstat"
	"github.com/data-cluster/data-cluster/internal/latency"
	"github.com/data-cluster/data-cluster/internal/slowlog"
)

// obs is what a shard counts for INFO, SLOWLOG and the metrics.
type obs struct {
	stats *cmdstat.Table    // per-command counters, read by anyone
	rec   *cmdstat.Recorder // fills stats; the shard's goroutine only
	lat   *latency.Monitor  // slow expiry cycles and evictions go here; may be nil
	busy  atomic.Int64      // commands refused for lack of queue room
	// avgTTL is the estimated average time to live of the keys with an
	// expiry, in milliseconds; 0 when there are none.
	avgTTL atomic.Int64
	ttlAvg int64 // the running average behind avgTTL; the shard's goroutine only
}

func newObs(slow *slowlog.Log, lat *latency.Monitor) obs {
	t := cmdstat.NewTable()
	rec := cmdstat.NewRecorder(t, slow)
	rec.Watch(lat)
	return obs{stats: t, rec: rec, lat: lat}
}

var _ cmdstat.Batch = (*Batch)(nil)

// Args returns the arguments of the i-th command run by the batch's last
// submission (counted from From), for the slow log.
func (b *Batch) Args(i int) [][]byte { return b.Cmds[b.From+i].Args }

// Stats returns the counters of the commands run by the shard's goroutine.
func (s *Shard) Stats() *cmdstat.Table { return s.stats }

// Busy returns how many commands this shard's queue refused for lack of room.
func (s *Shard) Busy() int64 { return s.busy.Load() }

// AvgTTL returns the estimated average time to live, in milliseconds, of the
// keys that have an expiry, or 0 when none has. It is sampled by the active
// expiry cycle, as Redis estimates its avg_ttl.
func (s *Shard) AvgTTL() int64 { return s.avgTTL.Load() }

// sampleTTL samples keys with an expiry and folds their average remaining
// time into a running average, as Redis does in its expiry cycle: the new
// sample weighs 2%, the previous estimate 98%, and the first sample is taken
// as it is. It runs on the shard's goroutine after ActiveExpire.
func (s *Shard) sampleTTL() {
	if s.db.ExpiresLen() == 0 {
		s.ttlAvg = 0
		s.avgTTL.Store(0)
		return
	}
	now := s.db.Now()
	var sum, n int64
	s.db.Engine().SampleExpiring(s.cfg.ExpireSample, func(_ []byte, at int64) {
		if at > now {
			sum += at - now
			n++
		}
	})
	if n == 0 {
		return
	}
	avg := sum / n
	if s.ttlAvg == 0 {
		s.ttlAvg = avg
	}
	s.ttlAvg = s.ttlAvg/50*49 + avg/50
	s.avgTTL.Store(s.ttlAvg)
}

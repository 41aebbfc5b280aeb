package shard

import (
	"sync/atomic"

	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// SetEviction changes the shard's memory limit and policy (CONFIG SET
// maxmemory …). It is safe to call from any goroutine: the shard takes the
// new settings before it runs any batch it receives after the call.
func (s *Shard) SetEviction(ev keyspace.Eviction) { s.nextEv.Store(&ev) }

// takeEviction applies the settings of the last SetEviction, if any. It
// runs on the shard's goroutine.
func (s *Shard) takeEviction() {
	if ev := s.nextEv.Swap(nil); ev != nil {
		s.db.SetEviction(*ev)
	}
}

// memStats are the memory figures a shard publishes for INFO, refreshed by
// its expiry cycle.
type memStats struct {
	used    atomic.Int64
	evicted atomic.Int64
}

// newKeyspace returns the keyspace of a shard over engine e with its memory
// limit set.
func newKeyspace(e storage.Engine, ev keyspace.Eviction) *keyspace.DB {
	db := keyspace.New(e)
	db.SetEviction(ev)
	return db
}

// publishMemory refreshes the memory figures. It runs on the shard's
// goroutine, once per expiry cycle rather than per batch, since measuring
// the engine's memory walks its slot pages.
func (s *Shard) publishMemory() {
	s.mem.used.Store(s.db.Engine().MemoryUsage())
	s.mem.evicted.Store(s.db.EvictedKeys())
}

// UsedMemory returns the engine's memory estimate in bytes as of the last
// expiry cycle.
func (s *Shard) UsedMemory() int64 { return s.mem.used.Load() }

// EvictedKeys returns how many keys were evicted as of the last expiry
// cycle.
func (s *Shard) EvictedKeys() int64 { return s.mem.evicted.Load() }

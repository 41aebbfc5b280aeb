package server

import (
	"errors"
	"net/http"

	"github.com/data-cluster/data-cluster/internal/cmdstat"
	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/metrics"
)

// MetricsHandler returns the handler to serve on the metrics address:
// /metrics in Prometheus's text format, /debug/pprof/ and /healthz. Each
// call builds its own registry.
func (s *Server) MetricsHandler() http.Handler {
	return metrics.Handler(metrics.NewCollector(s.metricsSnapshot), s.healthy)
}

// healthy reports whether the server is serving: it is not once Shutdown
// has begun.
func (s *Server) healthy() error {
	if s.isClosing() {
		return errors.New("shutting down")
	}
	return nil
}

// bounds are cmdstat.Bounds in seconds.
var bounds = func() []float64 {
	out := make([]float64, len(cmdstat.Bounds))
	for i, b := range cmdstat.Bounds {
		out[i] = b.Seconds()
	}
	return out
}()

// metricsSnapshot gathers what one scrape reports. It reads counters only:
// nothing here waits for a shard.
func (s *Server) metricsSnapshot() metrics.Snapshot {
	r := s.router
	snap := metrics.Snapshot{
		Bounds:              bounds,
		ConnectedClients:    s.connected.Load(),
		ConnectionsReceived: s.totalConns.Load(),
		RejectedConnections: s.rejectConns.Load(),
		EvictedKeys:         s.evictedKeys(),
	}
	snap.BusyRouter, snap.BusyShard = r.Busy()
	for _, sh := range r.Shards() {
		snap.Shards = append(snap.Shards, metrics.Shard{
			Keys: sh.Keys(), Expires: sh.Expires(), Queue: int64(sh.Pending()), Busy: sh.Busy(),
		})
		snap.ExpiredKeys += sh.ExpiredKeys()
		h, m := sh.Hits()
		snap.KeyspaceHits += h
		snap.KeyspaceMisses += m
	}
	for id, c := range s.commandCounters() {
		if id == 0 || c.Zero() {
			continue
		}
		cmd := metrics.Command{
			Name:     command.NameOf(id),
			Calls:    uint64(c.Calls),
			Failed:   uint64(c.Failed),
			Rejected: uint64(c.Rejected),
			Seconds:  float64(c.Nanos) / 1e9,
			Buckets:  make([]uint64, len(c.Buckets)),
		}
		for i, n := range c.Buckets {
			cmd.Buckets[i] = uint64(n)
		}
		snap.Commands = append(snap.Commands, cmd)
	}
	return snap
}

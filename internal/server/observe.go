package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/data-cluster/data-cluster/internal/cmdstat"
	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/latency"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/slowlog"
)

// maxSlowlogLen bounds --slowlog-max-len.
const maxSlowlogLen = 1 << 20

// observer holds what the server keeps for INFO, SLOWLOG and the metrics,
// besides what the shards keep. Its fields are safe for concurrent use.
type observer struct {
	slow      *slowlog.Log
	lat       *latency.Monitor
	pctl      atomic.Pointer[[]float64] // latency-tracking-info-percentiles
	connStats *cmdstat.Table            // commands run on connection goroutines

	reset cmdstat.Baseline // what CONFIG RESETSTAT hides from INFO

	rejectLog limiter // "client rejected" lines
	protoLog  limiter // "protocol error" lines
}

func newObserver(cfg Config) *observer {
	o := &observer{
		slow:      slowlog.New(cfg.SlowlogSlowerThan, cfg.SlowlogMaxLen),
		lat:       latency.New(cfg.Latency.MonitorThreshold, cfg.Latency.Tracking),
		connStats: cmdstat.NewTable(),
	}
	ps := slices.Clone(cfg.Latency.Percentiles)
	o.pctl.Store(&ps)
	return o
}

func (c Config) validateObs() error {
	if c.SlowlogSlowerThan < -1 {
		return fmt.Errorf("server: slowlog-log-slower-than must be -1 (off) or more, got %d", c.SlowlogSlowerThan)
	}
	if c.SlowlogMaxLen < 0 || c.SlowlogMaxLen > maxSlowlogLen {
		return fmt.Errorf("server: slowlog-max-len must be between 0 and %d, got %d", maxSlowlogLen, c.SlowlogMaxLen)
	}
	return c.Latency.Validate()
}

// Slowlog returns the server's slow log.
func (s *Server) Slowlog() *slowlog.Log { return s.slow }

// observe gives the connection its command counters, and the pipeline the
// connection to name in the slow log.
func (c *conn) observe() {
	c.rec = cmdstat.NewRecorder(c.s.connStats, c.s.slow)
	c.rec.Watch(c.s.lat)
	c.p.Observe(c.rec, c, c.id)
}

// Addr returns the client's address, for the slow log.
func (c *conn) Addr() string { return c.nc.RemoteAddr().String() }

// Name returns the client's name, for the slow log.
func (c *conn) Name() string { return c.getName() }

// runConn runs a connection command and counts it.
func (s *session) runConn(spec *command.Spec, w *resp.Writer, args [][]byte) {
	m := s.c.rec.Start(w)
	connRun[spec.ID](s, w, args)
	s.c.rec.Stop(m, spec, args, s.c)
}

// commandCounters returns the counters of every command, indexed by command
// ID, as counted since the server started.
func (s *Server) commandCounters() []cmdstat.Counters {
	out := make([]cmdstat.Counters, command.NumIDs())
	for _, sh := range s.router.Shards() {
		sh.Stats().AddTo(out)
	}
	s.connStats.AddTo(out)
	return out
}

// commandCountersSinceReset returns the counters as INFO shows them: since
// the last CONFIG RESETSTAT.
func (s *Server) commandCountersSinceReset() []cmdstat.Counters {
	return s.reset.Counters(s.commandCounters())
}

// resetCommandStats makes INFO count commands and error replies from now
// on and drops the latency histograms, as CONFIG RESETSTAT does; the
// latency monitor's events stay (LATENCY RESET drops them), as in Redis.
// The metrics go on counting: a Prometheus counter never goes back.
func (s *Server) resetCommandStats() {
	now := s.commandCounters()
	errs, total := s.errorCountsEver()
	s.resetHists()
	s.reset.Reset(now, errs, total)
}

// evictedKeys returns the keys evicted to stay under a memory limit, summed
// over the shards that count them.
func (s *Server) evictedKeys() int64 {
	var n int64
	for _, sh := range s.router.Shards() {
		if e, ok := sh.(interface{ EvictedKeys() int64 }); ok {
			n += e.EvictedKeys()
		}
	}
	return n
}

// avgTTL returns the average time to live, in milliseconds, of the keys
// with an expiry: each shard's estimate weighed by its number of such keys.
func (s *Server) avgTTL() int64 {
	var sum, n float64
	for _, sh := range s.router.Shards() {
		e := float64(sh.Expires())
		sum += float64(sh.AvgTTL()) * e
		n += e
	}
	if n == 0 {
		return 0
	}
	return int64(sum / n)
}

// rejectClient refuses a connection before it is served (too many clients,
// say): it counts it in INFO's rejected_connections, logs it, writes msg to
// the client if msg is not empty, and closes it.
func (s *Server) rejectClient(nc net.Conn, reason string, msg []byte) {
	s.rejectConns.Add(1)
	s.rejectLog.log(s.log, slog.LevelWarn, "client rejected", "client", nc.RemoteAddr().String(), "reason", reason)
	if len(msg) > 0 {
		nc.SetWriteDeadline(time.Now().Add(time.Second))
		nc.Write(msg)
	}
	nc.Close()
}

// protocolError logs a connection closed for breaking the protocol.
func (c *conn) protocolError(err error) {
	c.s.protoLog.log(c.s.log, slog.LevelInfo, "closing client: protocol error",
		"client", c.nc.RemoteAddr().String(), "id", c.id, "err", err)
}

// limiter lets through one log line per second and counts the others, so a
// flood of bad clients cannot flood the log.
type limiter struct {
	mu      sync.Mutex
	last    time.Time
	dropped int
}

func (l *limiter) log(lg *slog.Logger, level slog.Level, msg string, args ...any) {
	l.mu.Lock()
	now := time.Now()
	if now.Sub(l.last) < time.Second {
		l.dropped++
		l.mu.Unlock()
		return
	}
	dropped := l.dropped
	l.last, l.dropped = now, 0
	l.mu.Unlock()
	if dropped > 0 {
		args = append(args, "suppressed", dropped)
	}
	lg.Log(context.Background(), level, msg, args...)
}

// Package server accepts connections, tells the two protocols apart by the
// first command a client sends (line.Sniff), and runs each connection's loop: read, parse
// every whole command in the buffer, route them through a router.Pipeline,
// and write all the replies with one write.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/data-cluster/data-cluster/internal/acl"
	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/line"
	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/pause"
	"github.com/data-cluster/data-cluster/internal/pubsub"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/router"
	"github.com/data-cluster/data-cluster/internal/script"
	"github.com/data-cluster/data-cluster/internal/shard"
	"github.com/data-cluster/data-cluster/internal/tracking"
	"github.com/data-cluster/data-cluster/internal/wal"
)

// Config tunes a Server.
type Config struct {
	// Router sets the shards and capacities.
	Router router.Config
	// MaxLineLen is the longest line of the line protocol (64 KiB).
	MaxLineLen int
	// Limits bound RESP requests.
	Limits resp.Limits
	// MaxBatch is the most commands of one connection sent to the shards
	// at once; a longer pipeline is sent in several rounds.
	MaxBatch int
	// Logger receives the server's logs; nil means slog.Default().
	Logger *slog.Logger
	// SlowlogSlowerThan is the run time, in microseconds, from which a
	// command goes to the slow log (10000); -1 disables it, 0 logs every
	// command.
	SlowlogSlowerThan int64
	// SlowlogMaxLen is how many entries the slow log keeps (128).
	SlowlogMaxLen int
	// Latency sets the latency monitor and the per-command latency
	// histograms (latency.go).
	Latency LatencyConfig

	// Protection sets the client limits, authentication and maxmemory
	// (protect.go).
	Protection

	// Persistence keeps the data on disk when its Dir is set; with Dir
	// empty the data lives in memory only (persist.go).
	Persistence wal.Config

	// Scripts bounds the Lua scripts EVAL runs (script.go).
	Scripts script.Config

	// LogLevel, when set, is the level of Logger's handler, which CONFIG
	// SET loglevel changes; nil gives the server a LevelVar of its own,
	// which the Logger does not follow.
	LogLevel *slog.LevelVar
	// ConfigFile is the file the configuration was read from (--config),
	// which CONFIG REWRITE rewrites; empty: none.
	ConfigFile string
	// NotifyKeyspaceEvents are the classes of keyspace events published
	// to subscribers (Redis's notify-keyspace-events, none by default);
	// CONFIG SET changes them at run time.
	NotifyKeyspaceEvents notify.Class

	// TrackingTableMaxKeys bounds the keys client-side caching remembers
	// (Redis's tracking-table-max-keys, 1000000; 0 for no bound); CONFIG
	// SET changes it at run time (tracking.go).
	TrackingTableMaxKeys int64

	// IOURing serves the plain connections from one io_uring loop where
	// the kernel allows it, instead of a goroutine each (loop_linux.go);
	// where it does not, the server logs a warning and does without. With
	// a data directory, the loop writes the log once a round, for every
	// connection it served, before it sends their replies.
	IOURing bool

	// OnShutdown, when set, is called by a client's SHUTDOWN, on the
	// client's goroutine, once what SHUTDOWN does first is done (the
	// snapshot of SHUTDOWN SAVE): the server's owner is to stop it as on
	// a signal, with Shutdown. When nil, the server calls Shutdown itself.
	OnShutdown func()
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Router:     router.DefaultConfig(),
		MaxLineLen: line.MaxLen,
		Limits:     resp.DefaultLimits(),
		MaxBatch:   1024,

		SlowlogSlowerThan: 10000,
		SlowlogMaxLen:     128,
		Latency:           DefaultLatencyConfig(),

		Protection: DefaultProtection(),

		Persistence: wal.DefaultConfig(),

		Scripts: script.DefaultConfig(),

		TrackingTableMaxKeys: tracking.DefaultMaxKeys,

		IOURing: true,
	}
}

// Validate reports whether c can be used.
func (c Config) Validate() error {
	if err := c.Router.Validate(); err != nil {
		return err
	}
	if c.MaxLineLen < 1 {
		return fmt.Errorf("server: max line length must be positive, got %d", c.MaxLineLen)
	}
	if c.MaxBatch < 1 {
		return fmt.Errorf("server: max batch must be positive, got %d", c.MaxBatch)
	}
	if c.Limits.MaxBulkLen < 1 || c.Limits.MaxMultibulkLen < 1 || c.Limits.MaxInlineLen < 1 {
		return errors.New("server: protocol limits must be positive")
	}
	if err := c.validateObs(); err != nil {
		return err
	}
	if err := c.Protection.validate(); err != nil {
		return err
	}
	if err := c.Scripts.Validate(); err != nil {
		return err
	}
	if c.Persistence.Dir != "" {
		if err := c.Persistence.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("server: closed")

// Server serves both protocols on its listeners. Its methods are safe for
// concurrent use.
type Server struct {
	cur    atomic.Pointer[Config] // the configuration in force: see cfg
	log    *slog.Logger
	router *router.Router
	start  time.Time

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closing   bool
	connWG    sync.WaitGroup
	held      []net.Conn // sockets of SHUTDOWN's clients, closed once Shutdown is done (shutdown.go)

	confMu  sync.Mutex   // serialises CONFIG SET and CONFIG REWRITE (config.go)
	confGen atomic.Int64 // counts CONFIG SETs, for connections to notice

	nextID    atomic.Int64
	connected atomic.Int64
	blocked   atomic.Int64 // clients parked in a blocking command (block.go)
	// goConns counts the connections served by goroutines of their own,
	// for the io_uring loop (loop_linux.go).
	goConns     atomic.Int64
	totalConns  atomic.Int64
	totalCmds   atomic.Int64
	rejectConns atomic.Int64

	// ops is INFO's instantaneous_ops_per_sec, sampled from totalCmds by a
	// goroutine from the first Serve until Shutdown closes rateStop
	// (guarded by mu).
	ops      Rate
	rateStop chan struct{}

	*observer // slow log, per-command counters (observe.go)

	store *wal.Store // the data directory, or nil (persist.go)

	hub      *pubsub.Hub      // publish and subscribe (pubsub.go)
	notify   *notify.Notifier // keyspace events, published to hub
	track    *tracking.Table  // client-side caching (tracking.go)
	monitors Monitors         // MONITOR (monitor.go)

	pause *pause.Pauser // CLIENT PAUSE (pause.go)

	acl *acl.Table // users and the ACL log (acl.go)

	scripts   *script.Engine           // EVAL and SCRIPT (script.go)
	evalSpecs map[string]*command.Spec // EVAL… as commands of one shard (script.go)

	loop *loop // the io_uring loop, nil without one (loop_linux.go)
}

// New returns a Server with its shards running. Call Shutdown to stop it.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	users, err := newUsers(cfg.Protection)
	if err != nil {
		return nil, err
	}
	eng := script.New(cfg.Scripts)
	if err := LoadFunctions(eng, cfg.Persistence.Dir); err != nil {
		return nil, err
	}
	ob := newObserver(cfg)
	cfg.Router.Slowlog = ob.slow
	cfg.Router.Latency = ob.lat
	hub := pubsub.NewHub()
	nt := notify.NewNotifier(func(channel, msg []byte) { hub.Publish(channel, msg) })
	nt.Set(cfg.NotifyKeyspaceEvents)
	cfg.Router.Notify = nt
	var srv *Server // for the tracking table's redirects, set below
	tt := tracking.New(func(id int64) tracking.Target { return srv.trackTarget(id) })
	tt.SetMaxKeys(cfg.TrackingTableMaxKeys)
	cfg.Router.Track = tt
	cfg.applyEviction(&cfg.Router)
	pz := new(pause.Pauser)
	if cfg.Router.Shard == (shard.Config{}) {
		cfg.Router.Shard = shard.DefaultConfig()
	}
	cfg.Router.Shard.Paused = &pz.On
	st, err := openStore(&cfg, ob.lat)
	if err != nil {
		return nil, err
	}
	r, err := router.New(cfg.Router)
	if err != nil {
		if st != nil {
			st.Close()
		}
		return nil, err
	}
	startStore(st, r)
	lg := cfg.Logger
	if lg == nil {
		lg = slog.Default()
	}
	if cfg.LogLevel == nil {
		cfg.LogLevel = new(slog.LevelVar)
	}
	srv = &Server{
		acl:       users,
		log:       lg,
		router:    r,
		start:     time.Now(),
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
		observer:  ob,
		store:     st,
		hub:       hub,
		notify:    nt,
		track:     tt,
		scripts:   eng,
		pause:     pz,
	}
	srv.evalSpecs = evalSpecs(srv)
	srv.cur.Store(&cfg)
	if cfg.IOURing {
		if srv.loop, err = newLoop(srv); err != nil {
			lg.Warn("io_uring refused: every connection is served by a goroutine of its own", "err", err)
		}
	}
	return srv, nil
}

// multiplexingAPI is INFO's multiplexing_api: io_uring when the loop serves
// the plain connections, else the poller of Go's runtime (epoll on Linux).
func (s *Server) multiplexingAPI() string {
	switch {
	case s.loop != nil:
		return "io_uring"
	case runtime.GOOS == "linux":
		return "epoll"
	}
	return "go"
}

// cfg returns the configuration in force. CONFIG SET replaces it with a
// changed copy (config.go): read each value once per use, and never write
// through the pointer.
func (s *Server) cfg() *Config { return s.cur.Load() }

// Router returns the server's router.
func (s *Server) Router() *router.Router { return s.router }

// Serve accepts connections on ln until Shutdown, and then returns
// ErrServerClosed. Any other accept error is returned as is. Each connection
// speaks the protocol its first command belongs to: the line protocol when
// it is one of the line protocol's, RESP otherwise.
func (s *Server) Serve(ln net.Listener) error { return s.serve(ln, false) }

// ServeRESP is Serve for a listener that speaks only RESP, as Redis does:
// every connection is RESP from its first byte, and an inline GET is
// Redis's GET.
func (s *Server) ServeRESP(ln net.Listener) error { return s.serve(ln, true) }

func (s *Server) serve(ln net.Listener, respOnly bool) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	if s.rateStop == nil {
		s.rateStop = make(chan struct{})
		go SampleEvery(&s.ops, s.totalCmds.Load, s.rateStop)
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	if s.loop != nil {
		if ll := s.loop.listen(ln, respOnly); ll != nil {
			defer s.loop.unlisten(ll)
		}
	}

	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosing() {
				return ErrServerClosed
			}
			if retryable(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed; retrying", "err", err, "in", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := s.newConn(nc, respOnly)
		if c == nil {
			continue
		}
		if c.onLoop.Load() {
			if s.loop.post(c) {
				continue
			}
			c.onLoop.Store(false)
		}
		s.goServe(c.serve)
	}
}

// goServe runs serve, which serves a connection, on a goroutine of its own,
// counted in goConns until it ends.
func (s *Server) goServe(serve func()) {
	s.goConns.Add(1)
	go func() {
		defer s.goConns.Add(-1)
		serve()
	}()
}

// retryable reports whether an accept error is worth retrying after a pause:
// running out of file descriptors, or a connection aborted before it was
// accepted.
func retryable(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ENOBUFS)
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// newConn registers a new connection, or closes it and returns nil when the
// server is shutting down.
func (s *Server) newConn(nc net.Conn, respOnly bool) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		nc.Close()
		return nil
	}
	if s.refuse(nc) {
		return nil
	}
	c := newConn(s, nc, respOnly)
	if s.loop != nil && c.raw != nil {
		// Set before anyone can find the connection: from now on only
		// the loop closes its descriptor (conn.forceClose).
		if fd, err := socketFD(c); err == nil {
			c.lp.fd = fd
			c.onLoop.Store(true)
		}
	}
	s.conns[c] = struct{}{}
	s.connWG.Add(1)
	s.connected.Add(1)
	s.totalConns.Add(1)
	return c
}

func (s *Server) dropConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.connected.Add(-1)
	s.connWG.Done()
}

// Shutdown stops accepting, lets every connection answer the commands it has
// already read, closes the connections, and stops the shards. If ctx ends
// first the remaining connections are closed at once and ctx's error is
// returned after the shards have stopped.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.stop()
	}
	if s.rateStop != nil {
		close(s.rateStop)
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.connWG.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		// Closed outside the lock: a Close waits for the connection to
		// leave its raw read, whose commands may need the lock.
		s.mu.Lock()
		conns := make([]*conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		for _, c := range conns {
			c.forceClose(false)
		}
		<-done
	}
	if s.loop != nil {
		s.loop.close()
	}
	s.closeRouter()
	s.closeHeld()
	return err
}

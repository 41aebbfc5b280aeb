package cluster

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/data-cluster/data-cluster/internal/acl"
	"github.com/data-cluster/data-cluster/internal/cmdstat"
	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/line"
	"github.com/data-cluster/data-cluster/internal/pause"
	"github.com/data-cluster/data-cluster/internal/pubsub"
	"github.com/data-cluster/data-cluster/internal/reply"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/server"
	"github.com/data-cluster/data-cluster/internal/slot"
	"github.com/data-cluster/data-cluster/internal/sockio"
	"github.com/data-cluster/data-cluster/internal/tracking"
)

// Server serves clients on a cluster node, in both protocols: every command
// is sent to the leader of its key's group, on this node or forwarded to
// another, and the replies come back in request order. By default a node
// never answers MOVED: forwarding is always correct, a MOVED breaks clients
// that are not cluster-aware, and cluster-aware clients learn the leaders
// from CLUSTER SLOTS and so mostly reach them directly. With
// ServerConfig.Redirects it answers MOVED and ASK as Redis Cluster does.
//
// Its methods are safe for concurrent use.
type Server struct {
	node   *Node
	cur    atomic.Pointer[ServerConfig] // the configuration in force: see cfg
	confMu sync.Mutex                   // serialises CONFIG SET and REWRITE (config.go)
	log    *slog.Logger

	mu      sync.Mutex
	lns     map[net.Listener]struct{}
	conns   map[*clientConn]struct{}
	closing bool
	wg      sync.WaitGroup
	nextID  int64
	blocked atomic.Int64 // clients parked in a blocking command (block.go)

	// INFO's stats: when the server was made, the commands its clients
	// ran (each connection adds its read's count once per read: see
	// clientConn.counted), and their rate, sampled until Shutdown.
	start time.Time
	cmds  atomic.Int64
	ops   server.Rate
	// connStats counts the commands the node answers itself and the
	// errors it answers, each connection's Recorder adding to it once per
	// read (clientConn.rec); the groups' replicas count the rest
	// (Node.cmdStats). reset is what CONFIG RESETSTAT hides from INFO
	// (clustercmd.go).
	connStats *cmdstat.Table
	reset     cmdstat.Baseline

	// The users (acl.go): the table, the version of the cluster's users it
	// holds (aclMu guards the changes), and the stop of the poller and of
	// the ops sampler.
	acl        *acl.Table
	aclMu      sync.Mutex
	aclVersion uint64
	stopACL    chan struct{}

	// Client-side caching (tracking.go): the clients that track, and the
	// keys they read or write in flight.
	track   *tracking.Table
	flights flights

	// monitors are the node's MONITOR clients (monitor.go).
	monitors server.Monitors
}

// clientsInfo is INFO's clients section, as Redis names its fields: the
// clients connected to this node, the most it takes (maxclients, 0 for no
// limit), and those parked in a blocking command (not those held by CLIENT
// PAUSE, which Redis does not count either).
func (s *Server) clientsInfo() [][2]string {
	s.mu.Lock()
	n := len(s.conns)
	s.mu.Unlock()
	return [][2]string{
		{"connected_clients", strconv.Itoa(n)},
		{"maxclients", strconv.Itoa(s.cfg().MaxClients)},
		{"blocked_clients", strconv.FormatInt(s.blocked.Load(), 10)},
	}
}

// statsInfo is INFO's stats section for this node's clients: the
// connections accepted (not those refused, as in Redis) and the commands
// run on them.
func (s *Server) statsInfo() [][2]string {
	s.mu.Lock()
	conns := s.nextID
	s.mu.Unlock()
	_, errTotal := s.errorCounts()
	return [][2]string{
		{"total_connections_received", strconv.FormatInt(conns, 10)},
		{"total_commands_processed", strconv.FormatInt(s.cmds.Load(), 10)},
		{"instantaneous_ops_per_sec", strconv.FormatInt(s.ops.PerSecond(), 10)},
		{"total_error_replies", strconv.FormatInt(errTotal, 10)},
		{"evicted_keys", strconv.FormatInt(s.node.evictedKeys(), 10)},
	}
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("cluster: server closed")

// ServerConfig tunes a Server.
type ServerConfig struct {
	// Limits bound RESP requests.
	Limits resp.Limits
	// Password, when set, must be given with AUTH (or HELLO … AUTH)
	// before any other command, as Redis's requirepass.
	Password string
	// ProtectedMode refuses clients that are not on a loopback address
	// while no Password is set, as Redis's protected-mode.
	ProtectedMode bool
	// MaxClients bounds the clients connected at once; more are refused
	// (0: no limit).
	MaxClients int
	// Timeout closes a client idle for that long (0: never).
	Timeout time.Duration
	// QueryBuffer bounds a client's unread input; a client past it is
	// closed, as with Redis's client-query-buffer-limit (0: 1 GiB).
	QueryBuffer int
	// PubSubOutput bounds what waits for a subscribed client (Redis's
	// client-output-buffer-limit pubsub; pubsub.DefaultLimits are its
	// defaults); zero values mean no bound.
	PubSubOutput pubsub.Limits
	// NormalOutput bounds the replies waiting for any other client
	// (client-output-buffer-limit normal; zero values, Redis's default,
	// mean no bound). See clientConn.write.
	NormalOutput pubsub.Limits
	// Redirects answers cluster-aware clients as a Redis Cluster node
	// does instead of forwarding for them: MOVED for a key whose group is
	// led on another node, ASK for a key whose slot is moving to a group
	// that has it (redirect.go).
	Redirects bool
	// WholeKeyspace makes DBSIZE, KEYS, SCAN, RANDOMKEY and INFO's
	// keyspace cover every group, the whole cluster, for clients that are
	// not cluster-aware. Without it they cover what a Redis Cluster node's
	// do (keyspaceGroups): the groups this node is the master of in
	// CLUSTER SLOTS, so that a cluster-aware client that adds them up over
	// the masters (go-redis's ClusterClient.DBSize, redis-cli --cluster
	// info) counts every key once; on a READONLY connection, this node's
	// replicas, as a Redis replica answers with its copy.
	WholeKeyspace bool
	// MaxMemory bounds the data of the node's replicas of the data groups
	// together (0: no bound), split evenly between them; MaxMemoryPolicy
	// and MaxMemorySamples choose the keys their leaders evict (evict.go).
	MaxMemory        int64
	MaxMemoryPolicy  keyspace.Policy
	MaxMemorySamples int
	// Logger receives the server's logs; nil means slog.Default().
	Logger *slog.Logger
	// LogLevel, when set, is the level of Logger's handler, which CONFIG
	// SET loglevel changes; nil gives the server a LevelVar of its own,
	// which the Logger does not follow.
	LogLevel *slog.LevelVar
	// ACLFile, when set, is the node's aclfile (Redis's syntax): its users
	// become the cluster's when the cluster has none yet, ACL LOAD makes
	// them the cluster's, and ACL SAVE writes the cluster's users to it
	// (acl.go). Empty: ACL LOAD and SAVE answer Redis's error.
	ACLFile string
	// SlowlogSlowerThan and SlowlogMaxLen bound the node's slow log, as
	// Redis's slowlog-log-slower-than (microseconds; -1: none, 0: every
	// command) and slowlog-max-len (the flags' defaults are Redis's, 10000
	// and 128). CONFIG SET changes them.
	SlowlogSlowerThan int64
	SlowlogMaxLen     int
	// Latency sets the node's latency monitor and per-command histograms
	// (LATENCY, INFO latencystats), as on a single server; the zero value
	// monitors and tracks nothing (server.DefaultLatencyConfig is
	// Redis's defaults, the flags'). CONFIG SET changes it.
	Latency server.LatencyConfig
	// TrackingTableMaxKeys bounds the keys client-side caching remembers
	// for this node's clients (Redis's tracking-table-max-keys; 0 for no
	// bound). CONFIG SET tracking-table-max-keys changes it.
	TrackingTableMaxKeys int64
	// ConfigFile is the file the node's configuration was read from
	// (--config), which CONFIG REWRITE rewrites; empty: none.
	ConfigFile string
	// OnShutdown, when set, is called by a client's SHUTDOWN, on the
	// client's goroutine: the node's owner is to stop the node as on a
	// signal. When nil, SHUTDOWN only stops the Server (Shutdown).
	OnShutdown func()
}

// NewServer returns a Server for the clients of node n. A node has one
// Server: the last made is the one whose tracking clients the node's
// invalidations reach (tracking.go).
func NewServer(n *Node, cfg ServerConfig) *Server {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.LogLevel == nil {
		cfg.LogLevel = new(slog.LevelVar)
	}
	users := acl.New()
	users.SetDefaultPassword(cfg.Password)
	s := &Server{node: n, log: log, lns: map[net.Listener]struct{}{},
		conns: map[*clientConn]struct{}{}, acl: users, stopACL: make(chan struct{}), start: time.Now(),
		connStats: cmdstat.NewTable()}
	s.cur.Store(&cfg)
	n.slow.SetSlowerThan(cfg.SlowlogSlowerThan)
	n.slow.SetMaxLen(cfg.SlowlogMaxLen)
	n.lat.SetThreshold(cfg.Latency.MonitorThreshold)
	n.lat.SetTracking(cfg.Latency.Tracking)
	s.track = tracking.New(s.trackTarget)
	s.track.SetMaxKeys(cfg.TrackingTableMaxKeys)
	n.setEviction(cfg.MaxMemory, cfg.MaxMemoryPolicy, cfg.MaxMemorySamples)
	n.tracks.srv.Store(s)
	s.wg.Add(2)
	go s.pollACL(s.stopACL)
	go func() {
		defer s.wg.Done()
		server.SampleEvery(&s.ops, s.cmds.Load, s.stopACL)
	}()
	return s
}

// cfg returns the configuration in force. CONFIG SET replaces it with a
// changed copy (config.go): read each value once per use, and never write
// through the pointer.
func (s *Server) cfg() *ServerConfig { return s.cur.Load() }

// Serve accepts clients on ln until Shutdown. Each client speaks the
// protocol its first command belongs to (line.Sniff): the line protocol
// when it is one of the line protocol's, RESP otherwise.
func (s *Server) Serve(ln net.Listener) error { return s.serve(ln, false) }

// ServeRESP is Serve for a listener that speaks only RESP, as Redis does:
// every client is RESP from its first byte.
func (s *Server) ServeRESP(ln net.Listener) error { return s.serve(ln, true) }

func (s *Server) serve(ln net.Listener, respOnly bool) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.lns[ln] = struct{}{}
	s.mu.Unlock()
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			return err
		}
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			nc.Close()
			return ErrServerClosed
		}
		if msg := s.refusal(nc); msg != nil {
			s.mu.Unlock()
			s.log.Warn("client refused", "client", nc.RemoteAddr().String(), "reason", strings.TrimSpace(string(msg[:min(len(msg), 40)])))
			nc.SetWriteDeadline(time.Now().Add(time.Second))
			nc.Write(msg)
			nc.Close()
			continue
		}
		s.nextID++
		c := newClientConn(s, nc, s.nextID)
		c.began, c.isRESP = respOnly, respOnly
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go c.serve()
	}
}

// refusal returns the reply for a client that must be turned away, nil
// for one that is welcome. The caller holds s.mu.
func (s *Server) refusal(nc net.Conn) []byte {
	switch {
	case s.cfg().MaxClients > 0 && len(s.conns) >= s.cfg().MaxClients:
		return server.ReplyMaxClients
	case s.cfg().ProtectedMode && s.acl.Default().Rules().NoPass() && !server.IsLoopback(nc.RemoteAddr()):
		return server.ReplyDenied
	}
	return nil
}

// Shutdown stops accepting clients, closes every connection and waits for
// them until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closing {
		close(s.stopACL)
	}
	s.closing = true
	for ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.kill()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxQueryBuf bounds a client's unread input, as Redis's
// client-query-buffer-limit (1 GiB) does.
const maxQueryBuf = 1 << 30

// clientConn is one client's connection, served by one goroutine.
type clientConn struct {
	s      *Server
	nc     net.Conn
	id     int64
	buf    []byte
	r, w   int
	argv   [][]byte
	began  bool // the protocol is chosen (see start)
	isRESP bool
	// Client-side caching (tracking.go): the client's state, and the keys
	// of the commands about to be sent that it reads and writes.
	trk                 server.TrackState
	trkReads, trkWrites [][]byte
	proto               int
	ro                  bool // READONLY: reads may be served by any replica
	asking              bool // ASKING: the next command may go to a slot's importing group
	quit                bool
	authed              bool
	user                atomic.Pointer[acl.User] // the user the client runs as (acl.go)
	// rec counts the commands this connection's node answers itself and
	// its error replies (Server.connStats), flushed once per read.
	rec *cmdstat.Recorder
	// mark is the run answer is timing, for a command that waits (WAIT)
	// to leave its wait out, as a single server does.
	mark cmdstat.Mark

	// counted counts the commands of the current read that passed their
	// checks and ran (or were queued in MULTI); took adds it to the
	// server's count (INFO's total_commands_processed) once per read, as
	// the single server's connections do.
	counted int64

	// wrote marks, by group, the groups the client sent writes to (WAIT,
	// wait.go).
	wrote []bool
	// names finds the client's commands by name.
	names command.LastLookup

	inMulti bool
	dirty   bool
	queued  [][][]byte
	watched []watchedKey
	wslot   uint16 // the slot of the watched keys

	// The replies of one read: from groups' requests or made here.
	items []item
	reqs  []*pending // by group
	local resp.Writer
	locEn []int
	out   reply.Queue // the replies to send, the groups' where they were copied to
	done  chan struct{}

	// A blocking command's wait (block.go): blockMu guards blockState and
	// is held through each attempt; wakeMu orders the read deadlines
	// that the wait and its wake-ups set, parked saying whether the
	// client waits.
	blockMu    sync.Mutex
	blockState blockState
	wakeMu     sync.Mutex
	parked     bool

	// Publish and subscribe (pubsub.go): the client's subscriptions, the
	// outbox all its output goes through once it has subscribed, and its
	// protocol for the messages publishers write.
	subs    pubsub.Subs
	ob      atomic.Pointer[pubsub.Outbox]
	respVer atomic.Int32

	// chunk is how many commands go to the groups before their replies
	// are written out (see drain); omem counts the reply bytes handed to
	// the socket and not yet taken.
	chunk int
	omem  atomic.Int64
	wv    net.Buffers // the pieces of out being written (writeOut)

	// dr is the request, if any, whose reply the goroutine that answers
	// it writes, and rr the state of the raw read the connection's
	// goroutine runs commands in (direct.go).
	dr direct
	rr rawRead
	rw sockio.Writer

	// CLIENT REPLY: replyOff drops every reply, skipNext the next
	// command's; unmute is set by CLIENT REPLY ON, whose reply is sent.
	replyOff, skipNext, unmute bool

	// What CLIENT LIST shows of the client (clientcmd.go), read from any
	// goroutine: set once, or atomic.
	created         time.Time
	name            atomic.Pointer[string] // CLIENT SETNAME
	libName, libVer atomic.Pointer[string] // CLIENT SETINFO
	lastName        atomic.Pointer[string] // the last command's full name
	lastCmd         atomic.Int64           // when it last sent a command, Unix ns
	multiN          atomic.Int64           // commands queued in MULTI, -1 outside
	multiMem        atomic.Int64           // their bytes, as Redis counts them
	bufSize         atomic.Int64           // len(buf)
	subN            [3]atomic.Int64        // subscriptions, by pubsub.Kind
	blocking        atomic.Bool            // in a blocking command
	paused          atomic.Bool            // held by CLIENT PAUSE
	noEvict         atomic.Bool            // CLIENT NO-EVICT: recorded; a node evicts nothing
	noTouch         atomic.Bool            // CLIENT NO-TOUCH
	monitoring      atomic.Bool            // MONITOR (monitor.go)

	// kicked is closed when the client is killed or the server stops,
	// ending a wait for a pause.
	kicked   chan struct{}
	kickOnce sync.Once
}

// item is one reply to come, from a group's request or the local writer.
type item struct {
	src int // group, or -1 for local
	idx int
}

// pending is the request of one read's commands for one group.
type pending struct {
	cmds  [][][]byte
	write bool
	// asked: the command followed ASKING; a key moved on from the group
	// sent to is followed there rather than answered ASK again.
	asked bool
	reply []byte
	ends  []int
	err   error
	// lent is 1 + the epoch of out at which reply was spliced into out, 0
	// for none: reply then goes to out until sent (see flush).
	lent uint64
}

func newClientConn(s *Server, nc net.Conn, id int64) *clientConn {
	c := &clientConn{s: s, nc: nc, id: id, buf: make([]byte, 16<<10), proto: 2, authed: s.acl.DefaultOpen(),
		reqs: make([]*pending, s.node.Groups()), done: make(chan struct{}, maxGroups), chunk: firstChunk,
		created: time.Now(), kicked: make(chan struct{})}
	c.respVer.Store(2)
	c.lastCmd.Store(c.created.UnixNano())
	c.multiN.Store(-1)
	c.bufSize.Store(int64(len(c.buf)))
	c.user.Store(s.acl.Default())
	c.rec = cmdstat.NewRecorder(s.connStats, s.node.slow)
	c.rec.Watch(s.node.lat)
	c.initDirect()
	return c
}

func (c *clientConn) serve() {
	defer func() {
		if p := recover(); p != nil {
			c.s.log.Error("panic while serving a connection; closing it",
				"client", c.nc.RemoteAddr().String(), "panic", p, "stack", string(debug.Stack()))
		}
		c.endDirect()
		c.rec.Flush()
		c.unmonitor()
		c.subs.Clear(c.s.node.hub, c)
		c.trackingOff()
		if ob := c.ob.Load(); ob != nil {
			ob.Close(time.Second)
		}
		c.nc.Close()
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
		c.s.wg.Done()
	}()
	for {
		if !c.room() {
			return
		}
		c.armTimeout()
		if c.dr.rc != nil && c.began {
			if err := c.readRaw(); err != nil || c.rr.stop {
				return
			}
			// A blocking command, which reads the socket itself, is
			// handled out of the raw read.
			c.rr.later = false
			if !c.endDirect() || !c.took(0) {
				return
			}
			continue
		}
		n, err := c.nc.Read(c.buf[c.w:c.readEnd()])
		if !c.endDirect() {
			return
		}
		if n > 0 && !c.took(n) {
			return
		}
		if err != nil {
			return
		}
	}
}

// armTimeout sets the read deadline of an idle client's timeout, if any.
func (c *clientConn) armTimeout() {
	if t := c.s.cfg().Timeout; t > 0 {
		c.nc.SetReadDeadline(time.Now().Add(t))
	}
}

// took handles n more bytes read into the buffer, after those that were
// left there (n is 0 for a command put off by the raw read): it runs the
// whole commands and sends their replies. It reports false when the
// connection must close.
func (c *clientConn) took(n int) bool {
	c.w += n
	if n > 0 {
		c.lastCmd.Store(time.Now().UnixNano())
	}
	if !c.began && !c.start() {
		return true
	}
	ok := c.process()
	if c.counted > 0 {
		c.s.cmds.Add(c.counted)
		c.counted = 0
	}
	if ok && c.directOK() {
		if !c.flushDirect() {
			return false
		}
	} else {
		pipelined := len(c.items) > 1
		c.flush()
		if pipelined {
			// A pipeline's replies wait for the connections already
			// woken (see server's conn.process).
			runtime.Gosched()
		}
		if !c.writeOut() {
			return false
		}
	}
	if !ok || c.quit {
		return false
	}
	clear(c.argv)
	c.argv = c.argv[:0]
	c.w, c.r = sockio.Compact(c.buf, c.r, c.w), 0
	return true
}

// start picks the client's protocol from its first command, as line.Sniff
// tells it, dropping the blank lines before that command. It reports false
// while the bytes read so far do not tell: the caller reads more and calls
// again.
func (c *clientConn) start() bool {
	skip, isLine, known := line.Sniff(c.buf[c.r:c.w], min(line.MaxLen, c.s.cfg().Limits.MaxInlineLen))
	c.r += skip
	if c.r == c.w {
		c.r, c.w = 0, 0
	}
	if known {
		c.began, c.isRESP = true, !isLine
	}
	return known
}

// queryLimit returns the most bytes of unread input a client may have.
func (c *clientConn) queryLimit() int {
	if c.s.cfg().QueryBuffer > 0 {
		return c.s.cfg().QueryBuffer
	}
	return maxQueryBuf
}

// room makes room in the buffer for the next read, and reports false when
// the client must be closed: reads never fill the buffer past the query
// limit, even while the buffer is larger (it starts at 16 KiB), and an
// unfinished command that reaches the limit closes the client.
func (c *clientConn) room() bool {
	limit := c.queryLimit()
	if c.w-c.r >= limit {
		c.s.log.Warn("closing client that reached max query buffer length", "client", c.nc.RemoteAddr().String(),
			"qbuf", c.w-c.r, "limit", limit)
		return false
	}
	if c.w == min(len(c.buf), limit) {
		nb := make([]byte, min(2*len(c.buf), limit))
		copy(nb, c.buf[c.r:c.w])
		c.w -= c.r
		c.r = 0
		c.buf = nb
		c.bufSize.Store(int64(len(nb)))
	}
	return true
}

// readEnd is where the next read into the buffer must stop.
func (c *clientConn) readEnd() int { return min(len(c.buf), c.queryLimit()) }

// writeOut writes the replies assembled in out, in one vectored write, and
// reports false when the client is gone.
func (c *clientConn) writeOut() bool {
	if c.out.Len() == 0 {
		return true
	}
	var err error
	if ob := c.ob.Load(); ob != nil {
		for _, b := range c.out.Buffers() {
			if err = ob.Put(b); err != nil {
				break
			}
		}
	} else {
		c.wv = c.out.Buffers()
		err = c.writev(&c.wv)
		clear(c.wv[:cap(c.wv)])
	}
	c.out.Reset()
	c.out.Trim(maxHeld)
	return err == nil
}

// writev writes v, the pieces of out, as write does, in one vectored write
// (writev). Past the normal class's soft limit, whose writes are bounded
// in time piece by piece, the pieces are joined and written by write.
func (c *clientConn) writev(v *net.Buffers) error {
	n := int64(0)
	for _, b := range *v {
		n += int64(len(b))
	}
	if len(*v) == 1 {
		return c.write((*v)[0])
	}
	lim := c.s.cfg().NormalOutput
	if lim.Hard > 0 && n > lim.Hard || lim.Soft > 0 && n > lim.Soft {
		return c.write(bytes.Join(*v, nil))
	}
	c.omem.Store(n)
	defer c.omem.Store(0)
	_, err := v.WriteTo(c.nc)
	return err
}

// write writes b to the client: from the connection's goroutine, or from
// its outbox's once it has one. It returns once the socket has taken all
// of b, so that a client that does not read stops its connection (see
// drain). Replies over the normal class's hard limit close the client
// unwritten; replies that stay over its soft limit, not taken, for longer
// than its seconds close it too (a subscriber's outbox applies the pubsub
// class instead).
func (c *clientConn) write(b []byte) error {
	lim := c.s.cfg().NormalOutput
	if c.ob.Load() != nil {
		lim = pubsub.Limits{}
	}
	if lim.Hard > 0 && int64(len(b)) > lim.Hard {
		c.s.log.Warn("closing client for overcoming of output buffer limits", "client", c.nc.RemoteAddr().String(),
			"class", "normal", "limit", "hard", "pending", len(b), "max", lim.Hard)
		return errOutputLimit
	}
	c.omem.Store(int64(len(b)))
	defer c.omem.Store(0)
	if lim.Soft == 0 || int64(len(b)) <= lim.Soft {
		if c.dr.rc != nil && len(b) > 0 {
			return c.writeRaw(b)
		}
		_, err := c.nc.Write(b)
		return err
	}
	// Over the soft limit: the socket must take enough within its seconds
	// (at least one, Redis counting whole seconds).
	since := time.Now()
	end := since.Add(max(lim.SoftFor, time.Second))
	defer c.nc.SetWriteDeadline(time.Time{})
	for int64(len(b)) > lim.Soft {
		c.nc.SetWriteDeadline(end)
		n, err := c.nc.Write(b[:len(b)-int(lim.Soft)])
		b = b[n:]
		c.omem.Store(int64(len(b)))
		switch {
		case err == nil:
		case !errors.Is(err, os.ErrDeadlineExceeded):
			return err
		case time.Since(since) > lim.SoftFor:
			c.s.log.Warn("closing client for overcoming of output buffer limits", "client", c.nc.RemoteAddr().String(),
				"class", "normal", "limit", "soft", "pending", len(b), "max", lim.Soft, "seconds", int64(lim.SoftFor/time.Second))
			return errOutputLimit
		}
	}
	c.nc.SetWriteDeadline(time.Time{})
	_, err := c.nc.Write(b)
	return err
}

// writeOutbox writes v, pieces from the client's outbox (pubsub.Outbox),
// whose pubsub limits apply instead of the normal class's.
func (c *clientConn) writeOutbox(v *net.Buffers) error {
	n := int64(0)
	for _, b := range *v {
		n += int64(len(b))
	}
	c.omem.Store(n)
	defer c.omem.Store(0)
	_, err := v.WriteTo(c.nc)
	return err
}

// errOutputLimit ends a connection whose replies pass the normal class's
// limits.
var errOutputLimit = errors.New("cluster: replies over the client output buffer limit")

// Flow control: a read's commands go to the groups in chunks, whose
// replies are written out, and taken by the client, before the next chunk
// runs. A chunk starts at firstChunk commands and doubles while its
// replies stay small, up to maxChunk; when they are large it shrinks so
// that one chunk's replies are about maxHeld bytes (at least one command).
const (
	firstChunk = 16
	maxChunk   = 1024
	maxHeld    = 1 << 20
)

// drain sends the commands routed so far, writes their replies out and
// sizes the next chunk from them. It reports false when the client is gone.
func (c *clientConn) drain() bool {
	n := len(c.items)
	before := c.out.Len()
	c.flush()
	if per := (c.out.Len() - before) / max(n, 1); per*2*c.chunk <= maxHeld {
		c.chunk = min(2*c.chunk, maxChunk)
	} else {
		c.chunk = max(1, maxHeld/max(per, 1))
	}
	return c.writeOut()
}

// process handles every whole command in the buffer; it reports false when
// the connection must close once the replies are out.
func (c *clientConn) process() bool {
	if !c.authed && c.s.acl.DefaultOpen() {
		c.authed = true // CONFIG SET requirepass "" lets everyone in, as in Redis
	}
	for c.r < c.w {
		var (
			args [][]byte
			n    int
			err  error
		)
		start := len(c.argv)
		if c.isRESP {
			args, n, err = resp.ReadCommand(c.buf[c.r:c.w], c.argv, c.s.cfg().Limits)
		} else {
			args, n, err = line.Parse(c.buf[c.r:c.w], c.argv, line.MaxLen)
		}
		if err != nil {
			if c.isRESP {
				c.localError("ERR " + err.Error())
			} else {
				c.localLine(err.Error())
			}
			return false
		}
		if n == 0 {
			return true
		}
		if c.putOff(args[start:]) {
			c.argv = args[:start]
			c.rr.later = true
			return true
		}
		c.r += n
		// Every command of this read keeps its arguments in c.argv, each
		// pointing into c.buf: both stay as they are until the read's
		// replies are assembled and written.
		c.argv = args
		args = args[start:]
		if len(args) == 0 {
			continue
		}
		if c.isRESP {
			c.handleReply(args)
		} else {
			c.handleLine(args)
		}
		if c.quit {
			return true
		}
		if len(c.items) >= c.chunk && !c.drain() {
			return false
		}
	}
	c.rec.Flush()
	return true
}

// handleReply runs one RESP command with handle; after CLIENT REPLY OFF or
// SKIP its reply is dropped: the replies before it are written out first,
// and what it appended is then discarded.
func (c *clientConn) handleReply(args [][]byte) {
	if !c.replyOff && !c.skipNext {
		c.handle(args)
		return
	}
	c.skipNext = false
	c.flush()
	if !c.writeOut() {
		c.quit = true
		return
	}
	c.handle(args)
	c.flush()
	if !c.unmute {
		c.out.Reset()
	}
	c.unmute = false
}

// handle runs or queues one RESP command.
func (c *clientConn) handle(args [][]byte) {
	spec := c.names.Lookup(args[0])
	if spec == nil {
		c.reject(nil, server.UnknownCommand(args))
		return
	}
	if !spec.ArityOK(len(args)) {
		c.reject(spec, "ERR wrong number of arguments for '"+spec.Name+"' command")
		return
	}
	if msg, _ := spec.SubError(args); msg != "" {
		c.reject(spec, msg)
		return
	}
	if !c.authed && spec.Flags&command.NoAuth == 0 && !c.s.acl.DefaultOpen() {
		c.reject(spec, "NOAUTH Authentication required.")
		return
	}
	c.lastName.Store(server.FullName(spec, args)) // as in Redis, before the ACL log may show it
	if !c.permitted(spec, args) {
		return
	}
	if msg := server.SortDenied(c.user.Load().Rules(), spec, args); msg != "" {
		c.reject(spec, msg)
		return
	}
	c.feedMonitors(args)
	if c.monitoring.Load() && spec.Kind != command.Conn {
		c.reject(spec, "ERR Replica can't interact with the keyspace")
		return
	}
	if c.s.node.Loading() && spec.Flags&command.Loading == 0 && spec.Name != "cluster" {
		c.reject(spec, errLoading)
		return
	}
	if c.proto == 2 && c.subscribed() && !pubsub.Allowed(spec.Name) {
		c.reject(spec, pubsub.NotAllowed(spec.Name))
		return
	}
	if c.s.node.pause.Active() && !c.waitPause(c.mayWrite(spec)) {
		c.quit = true // killed or stopped while paused: the command does not run
		return
	}
	c.counted++
	if c.inMulti {
		switch spec.Name {
		case "exec", "discard", "multi", "watch", "quit", "reset":
		default:
			// UNWATCH, AUTH and the commands the node runs itself
			// (execLocal) are queued as in Redis, and answered by EXEC
			// (execPlan).
			keyed := spec.Kind == command.Keyed || spec.Flags&command.Scripting != 0
			if !queuedLocal(args) && !execLocal(spec.Name) && (!keyed || len(spec.Keys(args, nil)) == 0) {
				c.reject(spec, errMultiKeyless)
				return
			}
			// A command whose keys span slots is refused now, and the
			// transaction with it; commands in different slots from
			// one another are queued, and EXEC refuses them, as in
			// Redis Cluster.
			if _, ok := c.slotOf(spec, args); !ok {
				c.reject(spec, "CROSSSLOT Keys in request don't hash to the same slot")
				return
			}
			c.queued = append(c.queued, cloneArgs(args))
			c.multiN.Add(1)
			for _, a := range args {
				c.multiMem.Add(int64(len(a)) + 8) // Redis's: the bytes and a pointer per argument
			}
			c.localSimple("QUEUED")
			return
		}
	}
	if spec.Name == "memory" && server.MemoryServerSub(args) {
		// MEMORY STATS and the like are about this node: it answers them.
		c.flush()
		server.Memory(&c.out.W, args, c.memoryFigures)
		return
	}
	if spec.Flags&command.Scripting != 0 {
		c.script(args)
		return
	}
	switch spec.Kind {
	case command.Keyed:
		s, ok := c.slotOf(spec, args)
		if !ok {
			c.reject(spec, "CROSSSLOT Keys in request don't hash to the same slot")
			return
		}
		g := c.s.node.Table().GroupOf(s)
		asking := c.asking
		c.asking = false
		if c.s.cfg().Redirects {
			var moved string
			if g, moved = c.redirect(s, g, asking); moved != "" {
				c.reject(spec, moved)
				return
			}
		}
		if spec.Block != nil && spec.Block.Asks(args) {
			c.block(g, spec, args)
			return
		}
		if asking && c.s.cfg().Redirects {
			// Alone in its request: this node may not know yet of the
			// migration the client was told of, and sends the command to
			// the source group, whose answer it then follows.
			c.flush()
			c.add(g, args, spec.Flags&command.ReadOnly == 0)
			c.reqs[g].asked = true
			c.flush()
			return
		}
		c.trackCmd(spec, args, spec.Flags&command.ReadOnly == 0)
		c.add(g, args, spec.Flags&command.ReadOnly == 0)
	default:
		c.flush()
		c.answer(spec, args)
	}
}

// answer runs a command the node answers itself, counting it (clientConn.rec)
// unless the groups it runs on count it (groupCounted).
func (c *clientConn) answer(spec *command.Spec, args [][]byte) {
	w := &c.out.W
	outer := c.mark // EXEC answers the node's commands it queued
	c.mark = c.rec.Start(w)
	if !c.clusterOnly(spec, args) {
		c.connCommand(spec, args)
	}
	m := c.mark
	c.mark = outer
	if groupCounted(spec.Name) {
		c.rec.Discard(m)
	} else {
		c.rec.Stop(m, spec, args, c)
	}
}

// groupCounted reports whether the command of that name is counted by each
// group it runs on (the node sends it to every group).
func groupCounted(name string) bool {
	switch name {
	case "dbsize", "flushall", "flushdb", "keys", "randomkey", "scan":
		return true
	}
	return false
}

// slotOf returns the slot of a command's keys, false if they span slots.
// A command without keys goes to slot 0.
func (c *clientConn) slotOf(spec *command.Spec, args [][]byte) (uint16, bool) {
	if spec.KeyArgs != nil {
		keys := spec.KeyArgs(args, nil)
		return slotOfKeys(keys, 0, len(keys)-1, 1)
	}
	// Keys at fixed positions are read in place, with no slice of them
	// made for every command.
	first, last, step := spec.KeyRange(len(args))
	return slotOfKeys(args, first, last, step)
}

// slotOfKeys returns the slot of keys[first], keys[first+step], … up to
// keys[last], false if they span slots; slot 0 when there are none.
func slotOfKeys(keys [][]byte, first, last, step int) (uint16, bool) {
	if last < first {
		return 0, true
	}
	s := slot.Of(keys[first])
	for i := first + step; i <= last; i += step {
		if slot.Of(keys[i]) != s {
			return 0, false
		}
	}
	return s, true
}

// add queues a command for group g's request of this read.
func (c *clientConn) add(g int, args [][]byte, write bool) {
	if g >= len(c.reqs) {
		c.reqs = append(c.reqs, make([]*pending, g+1-len(c.reqs))...)
	}
	p := c.reqs[g]
	if p == nil {
		p = &pending{}
		c.reqs[g] = p
	}
	c.items = append(c.items, item{src: g, idx: len(p.cmds)})
	p.cmds = append(p.cmds, args)
	p.write = p.write || write
}

// flush sends every group its request, waits for the replies and appends
// every pending reply to out in request order. A group writes its replies
// into the request's buffer (Request.Own), or they come from another node
// in a frame of their own, and out references them there: a request whose
// replies out holds gives its buffer to out, and takes one out has sent
// for its next replies.
func (c *clientConn) flush() {
	if len(c.items) == 0 {
		return
	}
	tf := c.trackBegin()
	sent := 0
	for g, p := range c.reqs {
		if p == nil || len(p.cmds) == 0 {
			continue
		}
		sent++
		r := c.request(p)
		r.Done = func(reply []byte, ends []int, err error) {
			// The replies are in r.Buf, where the group wrote them (or
			// the frame they came in): the request's.
			p.reply = r.Buf[:len(reply)]
			p.ends = append(p.ends[:0], ends...)
			p.err = err
			c.done <- struct{}{}
		}
		c.submit(g, r)
	}
	for range sent {
		<-c.done
	}
	for _, it := range c.items {
		if it.src < 0 {
			c.out.W.AppendRaw(segment(c.local.Bytes(), c.locEn, it.idx))
			continue
		}
		p := c.reqs[it.src]
		if p.err != nil || it.idx >= len(p.ends) {
			c.appendErr(p.err)
			continue
		}
		if c.out.Splice(segment(p.reply, p.ends, it.idx)) {
			p.lent = c.out.Epoch() + 1
		}
	}
	c.items = c.items[:0]
	c.local.Reset()
	c.locEn = c.locEn[:0]
	c.trackEnd(tf)
	for _, p := range c.reqs {
		if p != nil {
			p.reset()
			if p.lent == c.out.Epoch()+1 {
				// out sends the replies from where they are: the next
				// request's go to a buffer out has sent (see flush).
				c.out.Keep(p.reply)
				p.reply = nil
			}
			p.lent = 0
		}
	}
}

// request returns the request of p's commands, whose replies go to p's
// buffer (a spare of out when it has none); the caller sets Done.
func (c *clientConn) request(p *pending) *Request {
	if p.reply == nil {
		p.reply = c.out.Spare()
	}
	return &Request{Cmds: p.cmds, Proto: c.wireProto(), Mode: c.mode(p.write), ask: c.s.cfg().Redirects && !p.asked,
		asked: p.asked, Own: true, Buf: p.reply[:0], client: c}
}

// reset empties p for the next read's commands, once they are answered.
func (p *pending) reset() {
	clear(p.cmds)
	p.cmds, p.write, p.asked, p.err = p.cmds[:0], false, false, nil
}

// wireProto is the reply format asked of groups: the RESP version, or 0
// for the line protocol.
func (c *clientConn) wireProto() int {
	if !c.isRESP {
		return 0
	}
	return c.proto
}

func (c *clientConn) mode(write bool) Mode {
	switch {
	case write:
		return Write
	case c.ro:
		return Stale
	}
	return Read
}

// appendErr writes the reply for a request that failed as a whole.
func (c *clientConn) appendErr(err error) {
	msg := errorText(err)
	if c.isRESP {
		c.rec.Error([]byte(msg))
		c.out.W.AppendError(msg)
	} else {
		c.out.W.AppendRaw([]byte(msg + "\n"))
	}
}

// errLoading answers a command that needs data while the node loads a
// single server's data (load.go): Redis's answer while it loads its files.
const errLoading = "LOADING Redis is loading the dataset in memory"

// errNotInt is Redis's error for an argument that is not an integer
// (resp.ParseInt) or out of its range.
const errNotInt = "ERR value is not an integer or out of range"

// errorText is the client's error for a request that ended with err.
func errorText(err error) string {
	switch {
	case errors.Is(err, ErrBusy):
		return "BUSY server is busy, try again later"
	case errors.Is(err, ErrUnknown):
		return "UNKNOWN the write was not confirmed in time; it may or may not have been applied"
	case errors.Is(err, ErrNotLeader), errors.Is(err, ErrTryAgain), errors.Is(err, ErrStopped):
		return "CLUSTERDOWN The cluster is down"
	case err == nil:
		return "ERR no reply"
	}
	return "ERR " + err.Error()
}

func segment(buf []byte, ends []int, i int) []byte {
	start := 0
	if i > 0 {
		start = ends[i-1]
	}
	return buf[start:ends[i]]
}

func (c *clientConn) endLocal() {
	c.items = append(c.items, item{src: -1, idx: len(c.locEn)})
	c.locEn = append(c.locEn, c.local.Len())
}

func (c *clientConn) localError(msg string) {
	c.rec.Error([]byte(msg))
	c.local.AppendError(msg)
	c.endLocal()
}

func (c *clientConn) localSimple(msg string) {
	c.local.AppendSimple(msg)
	c.endLocal()
}

func (c *clientConn) localLine(msg string) {
	c.local.AppendRaw([]byte(msg + "\n"))
	c.endLocal()
}

// reject answers a command that was not run, spec (nil for an unknown
// command); inside MULTI it dooms the transaction, and a refused EXEC
// discards it and the watched keys at once (in MULTI or not), as Redis
// does.
func (c *clientConn) reject(spec *command.Spec, msg string) {
	switch {
	case spec != nil && spec.Name == "exec":
		c.inMulti, c.dirty, c.queued = false, false, nil
		c.countMulti(false)
		c.unwatch()
		msg = server.ExecAbort(msg)
	case c.inMulti:
		c.dirty = true
	}
	if spec != nil {
		c.rec.Reject(spec)
	}
	c.localError(msg)
}

// handleLine runs one line-protocol command.
func (c *clientConn) handleLine(args [][]byte) {
	spec := command.Line.Lookup(args[0])
	switch {
	case spec == nil && (len(args) == 2 || len(args) == 3) && strings.EqualFold(string(args[0]), "auth"):
		if msg := c.authenticate(args); msg != "" {
			c.localLine(msg)
		} else {
			c.localLine("OK")
		}
	case spec != nil && !c.authed && !c.s.acl.DefaultOpen():
		c.localLine("NOAUTH Authentication required.")
	case spec != nil && spec.ArityOK(len(args)) && !c.permitted(spec, args):
	case spec != nil && c.s.node.Loading():
		c.localLine(errLoading)
	case spec == nil:
		c.localLine("ERR unknown command '" + clip(args[0]) + "'")
	case !spec.ArityOK(len(args)):
		c.localLine("ERR wrong number of arguments for '" + string(args[0]) + "'")
	case spec.Kind == command.AllShards: // LIST
		c.feedMonitors(args)
		c.counted++
		c.flush()
		keys, err := c.allKeys(c.allGroups(), []byte("*"))
		if err != nil {
			c.out.W.AppendRaw([]byte(errorText(err) + "\n"))
			return
		}
		for i, k := range keys {
			if i > 0 {
				c.out.W.AppendRaw([]byte(","))
			}
			c.out.W.AppendRaw(k)
		}
		c.out.W.AppendRaw([]byte("\n"))
	default:
		c.lastName.Store(&spec.Name)
		c.feedMonitors(args)
		if c.s.node.pause.Active() && !c.waitPause(pause.MayWrite(spec)) {
			c.quit = true
			return
		}
		c.counted++
		c.add(c.s.node.Table().GroupOfKey(args[1]), args, spec.Flags&command.ReadOnly == 0)
	}
}

// authenticate runs AUTH [user] password (args[0] the command's name) and
// returns the error to answer, "" on success.
func (c *clientConn) authenticate(args [][]byte) string {
	user, pass, msg := c.authArgs(args)
	if msg != "" {
		return msg
	}
	if !c.login(args[0], user, pass) {
		return errWrongPass
	}
	return ""
}

// errWrongPass is Redis's answer to AUTH with a wrong user or password.
const errWrongPass = "WRONGPASS invalid username-password pair or user is disabled."

// authArgs returns the user and password of AUTH's arguments, or Redis's
// error for arguments it refuses without checking them.
func (c *clientConn) authArgs(args [][]byte) (user, pass []byte, msg string) {
	if len(args) > 3 {
		return nil, nil, "ERR syntax error"
	}
	if len(args) == 3 {
		return args[1], args[2], ""
	}
	if c.s.acl.Default().Rules().NoPass() {
		return nil, nil, "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
	}
	return []byte(acl.DefaultName), args[1], ""
}

func cloneArgs(args [][]byte) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = append([]byte(nil), a...)
	}
	return out
}

func clip(b []byte) string {
	if len(b) > 128 {
		b = b[:128]
	}
	return string(b)
}

// clusterScript is server.ClusterScript over the node's scripts.
func (c *clientConn) clusterScript(args [][]byte) (out, keys [][]byte, write bool, msg string) {
	out, keys, write, msg = server.ClusterScript(c.s.node.cfg.Scripts, args)
	if msg == fnNotFound && c.s.node.freshFunctions() {
		// Loaded on another node a moment ago, perhaps (functions.go).
		out, keys, write, msg = server.ClusterScript(c.s.node.cfg.Scripts, args)
	}
	return out, keys, write, msg
}

// script sends an EVAL-family command to the group of its keys' slot (of
// slot 0 when it declares none), as server.ClusterScript rewrites it: the
// group's leader runs it and logs its effects (effects.go).
func (c *clientConn) script(args [][]byte) {
	out, keys, write, msg := c.clusterScript(args)
	if msg != "" {
		c.localError(msg)
		return
	}
	out = server.ClusterScriptAs(c.user.Load().Rules(), out)
	var s uint16
	if len(keys) > 0 {
		s = slot.Of(keys[0])
		for _, k := range keys[1:] {
			if slot.Of(k) != s {
				c.localError("CROSSSLOT Keys in request don't hash to the same slot")
				return
			}
		}
	}
	g := c.s.node.Table().GroupOf(s)
	asking := c.asking
	c.asking = false
	if c.s.cfg().Redirects && len(keys) > 0 {
		var moved string
		if g, moved = c.redirect(s, g, asking); moved != "" {
			c.localError(moved)
			return
		}
	}
	c.add(g, out, write)
}

package server

import (
	"bytes"
	"log/slog"
	"net"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/data-cluster/data-cluster/internal/acl"
	"github.com/data-cluster/data-cluster/internal/cmdstat"
	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/line"
	"github.com/data-cluster/data-cluster/internal/pause"
	"github.com/data-cluster/data-cluster/internal/pubsub"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/router"
	"github.com/data-cluster/data-cluster/internal/shard"
	"github.com/data-cluster/data-cluster/internal/sockio"
)

const (
	readBufSize = 16 << 10
	// flushAt is the size of pending output after which replies are written
	// out before more commands are parsed.
	flushAt = 64 << 10
	// maxHeld bounds the replies a connection holds beyond what its socket
	// has taken, give or take one reply: the shards stop running its
	// commands once their replies reach a share of it, and the connection
	// writes them out, and waits for the client to take them, before the
	// rest runs (see drainOut).
	maxHeld = 1 << 20
	// minShare is the least bound of one shard's replies.
	minShare = 16 << 10
	// tlsMinSplice is the least reply a TLS connection sends from the
	// shard's buffer rather than copied with its neighbours: a TLS
	// record's largest payload.
	tlsMinSplice = 16 << 10
	// lingerTime and lingerBytes bound how long and how much a connection
	// closed by the server drains from its client.
	lingerTime     = time.Second
	shutdownLinger = 100 * time.Millisecond
	lingerBytes    = 1 << 20
)

var (
	lineBusy = []byte("BUSY\n")
	respBusy = []byte("-BUSY server is busy, try again later\r\n")
)

// conn is one client connection. Its fields belong to its own goroutine,
// except stopping and the fields the server reads for CLIENT LIST, which are
// atomic.
type conn struct {
	s  *Server
	nc net.Conn
	id int64

	buf  []byte // bytes read; buf[r:w] is not yet parsed
	r, w int
	raw  *rawSock // the socket's raw calls; nil: nc's (rawsock_linux.go)
	rr   rawRead
	argv [][]byte // arguments of the commands in flight, as slices of buf
	p    *router.Pipeline

	isRESP   bool
	respOnly bool // accepted by ServeRESP: RESP from the first byte
	quit     bool // close after writing the pending replies
	keepOpen bool // SHUTDOWN: the socket stays open until the server has stopped
	sess     session

	stopping atomic.Bool
	confGen  int64 // the server's confGen this connection last caught up with (config.go)
	// parked is the waiter of the blocking command the connection waits
	// in, nil when none; wakeMu orders the read deadlines that its wait,
	// its wake-ups and stop set (block.go).
	parked   atomic.Pointer[shard.Waiter]
	wakeMu   sync.Mutex
	created  time.Time
	lastCmd  atomic.Int64           // Unix nanoseconds of the last command
	lastName atomic.Pointer[string] // full name of the last command (see fullName)
	respVer  atomic.Int32           // 0 for the line protocol, else the RESP version
	name     atomic.Pointer[string]
	libName  atomic.Pointer[string]
	libVer   atomic.Pointer[string]
	bufSize  atomic.Int64 // len(buf), for CLIENT LIST's rbs and rbp

	// counted and last gather, per read, what is published to the server's
	// counters and to lastCmd/lastName once the read's commands are done.
	counted int64
	last    *string

	rec *cmdstat.Recorder // counts the commands run on this goroutine (observe.go)

	gate gate // authentication and limits (protect.go)
	// user is the user the connection runs as (acl.go): the default user
	// until AUTH names another. recheck asks the connection, woken from
	// its read, to check its subscriptions against its user's channels.
	user    atomic.Pointer[acl.User]
	recheck atomic.Bool

	// ob carries every reply and message once the connection has
	// subscribed (pubsub.go); nil before.
	ob atomic.Pointer[pubsub.Outbox]
	// subCounts (channels, patterns, shard channels) and monitoring
	// mirror the session's for CLIENT LIST.
	subCounts  [3]atomic.Int64
	monitoring atomic.Bool

	// omem is the count of reply bytes handed to the socket and not yet
	// taken, for CLIENT LIST; softSince is when they passed the normal
	// class's soft limit (zero: below), and softDeadline says the write
	// deadline is the soft limit's (protect.go, write).
	omem         atomic.Int64
	wv           net.Buffers // the pieces being written by send
	softSince    time.Time
	softDeadline bool
	// dead is set once a write to the client failed: nothing more runs.
	dead bool

	// kicked is closed when the connection is killed or stopped, waking a
	// wait for a pause (pause.go); paused is set during that wait.
	kicked   chan struct{}
	kickOnce sync.Once
	paused   atomic.Bool
	// noEvict and noTouch are CLIENT NO-EVICT and NO-TOUCH; multiCount
	// (-1 outside MULTI) and multiMem mirror the queued transaction, for
	// CLIENT LIST.
	noEvict, noTouch     atomic.Bool
	multiCount, multiMem atomic.Int64
	// muting is set while a command whose reply is dropped runs (CLIENT
	// REPLY OFF or SKIP): its replies are not drained to the client.
	muting bool

	// onLoop is set while the server's io_uring loop serves the
	// connection, lp holds the loop's state of it then (loop_linux.go),
	// and backlog the replies the loop left unwritten when it let go,
	// which wait for the log to reach backlogAt.
	onLoop    atomic.Bool
	lp        loopConn
	backlog   []byte
	backlogAt int64
}

// kick closes kicked, once.
func (c *conn) kick() { c.kickOnce.Do(func() { close(c.kicked) }) }

// kill closes the connection from another goroutine, as CLIENT KILL does,
// without waiting: Close waits until the connection's goroutine leaves its
// raw read (serveRaw), where it may be waiting for the caller, a client
// whose EXEC holds the shards its commands wait for.
func (c *conn) kill() {
	c.kick()
	c.forceClose(true)
}

// forceClose closes the connection from another goroutine. One on the
// io_uring loop has its socket shut down instead, which ends its receive,
// and the loop closes it: its descriptor must stay open while the loop
// may still make requests of it (loop_linux.go).
func (c *conn) forceClose(async bool) {
	if c.onLoop.Load() {
		c.shutdownSocket()
		return
	}
	if async {
		go c.nc.Close()
	} else {
		c.nc.Close()
	}
}

func (c *conn) setName(name string) { c.name.Store(&name) }

func (c *conn) getName() string {
	if p := c.name.Load(); p != nil {
		return *p
	}
	return ""
}

func newConn(s *Server, nc net.Conn, respOnly bool) *conn {
	c := &conn{
		s:        s,
		nc:       nc,
		id:       s.nextID.Add(1),
		buf:      make([]byte, readBufSize),
		created:  time.Now(),
		respOnly: respOnly,
		kicked:   make(chan struct{}),
		raw:      newRawSock(nc),
	}
	c.lastCmd.Store(c.created.UnixNano())
	c.multiCount.Store(-1)
	c.user.Store(s.acl.Default())
	c.bufSize.Store(readBufSize)
	return c
}

// linger closes the write side and discards what the client still sends
// for a short while, so that the client reads the last reply (an error,
// typically) instead of losing it to a reset.
func (c *conn) linger(d time.Duration) {
	tc, ok := c.nc.(interface{ CloseWrite() error })
	if !ok || tc.CloseWrite() != nil {
		return
	}
	c.nc.SetReadDeadline(time.Now().Add(d))
	buf := c.buf[:cap(c.buf)]
	for total := 0; total < lingerBytes; {
		n, err := c.nc.Read(buf)
		total += n
		if err != nil {
			return
		}
	}
}

// stop asks the connection to finish: it answers what it has read and closes.
// It may be called from any goroutine.
func (c *conn) stop() {
	c.kick()
	c.wakeMu.Lock()
	c.stopping.Store(true)
	c.nc.SetReadDeadline(time.Now())
	c.wakeMu.Unlock()
	if c.onLoop.Load() {
		c.s.loop.post(c) // the loop moves it to a goroutine, which lingers
	}
}

// serve serves the connection on its own goroutine.
func (c *conn) serve() {
	defer c.end()
	if !c.begin() {
		return
	}
	c.serveLoop()
}

// serveFrom serves on its own goroutine a connection that the io_uring
// loop served until now, first doing what st says: writing the replies
// its socket did not take, then running the commands it read and did not
// run, or closing it.
func (c *conn) serveFrom(st int) {
	defer c.end()
	c.rr.later = false
	if c.p != nil {
		c.p.SetInline(false)
	}
	if c.backlogAt > 0 {
		c.s.store.WaitDurable(c.backlogAt)
		c.backlogAt = 0
	}
	if len(c.backlog) > 0 {
		v := net.Buffers{c.backlog}
		err := c.writev(&v)
		c.backlog = nil
		if err != nil {
			return
		}
	}
	if st == closeNow {
		return
	}
	if st == goOn && c.w > c.r && (c.p != nil || c.start()) {
		if !c.process() || c.stopping.Load() {
			st = closeLinger
		}
	}
	if st == closeLinger {
		c.closeLinger()
		return
	}
	c.serveLoop()
}

// end closes the connection once its goroutine ends, or the io_uring loop
// is done with it.
func (c *conn) end() {
	if p := recover(); p != nil {
		c.s.log.Error("panic while serving a connection; closing it",
			"client", c.nc.RemoteAddr().String(), "panic", p, "stack", string(debug.Stack()))
	}
	c.cleanup()
	if c.keepOpen {
		c.s.closeLater(c.nc)
	} else {
		c.nc.Close()
	}
	c.s.dropConn(c)
}

// closeLinger lets the client read its last reply before the close.
func (c *conn) closeLinger() {
	if c.keepOpen {
		return
	}
	if c.stopping.Load() {
		c.linger(shutdownLinger)
	} else {
		c.linger(lingerTime)
	}
}

// serveLoop reads and serves until the connection is to close.
func (c *conn) serveLoop() {
	for {
		if !c.grow() {
			return
		}
		c.armIdle()
		var st int
		if c.raw != nil && c.p != nil {
			st = c.serveRaw()
		} else {
			n, err := c.read(c.buf[c.w:min(len(c.buf), c.bufLimit())])
			st = c.took(n, err)
		}
		switch st {
		case closeNow:
			return
		case closeLinger:
			c.closeLinger()
			return
		}
	}
}

// What took and serveRaw tell serve to do next.
const (
	goOn        = iota
	closeNow    // close the connection
	closeLinger // close it once the client had a moment to read the last reply
)

// took handles the n bytes a read just gave, and the read's error.
func (c *conn) took(n int, err error) int {
	c.w += n
	if n > 0 && (c.p != nil || c.start()) {
		if !c.process() {
			return closeLinger
		}
	}
	if c.stopping.Load() {
		return closeLinger
	}
	if err != nil {
		// Woken by ACL SETUSER to check the subscriptions (acl.go)?
		if c.recheck.Swap(false) && c.subscriptionsAllowed() {
			c.nc.SetReadDeadline(time.Time{})
			return goOn
		}
		return closeNow
	}
	return goOn
}

// Raw reads.
//
// Go's net.Conn.Read tries read(2) before it waits for the socket: a
// client that sends its next pipeline only once it has the replies to the
// last costs a read(2) that finds nothing for every read that finds
// something. Instead a plain connection stays in one syscall.RawConn.Read
// while it can: its function reads, runs what it read and writes the
// replies, and reads again at once only when the last read filled what it
// was given; otherwise it waits for the poller without reading. The
// poller's readiness mark is cleared once, when the raw read begins, and
// never again while it lasts, so that data that comes after a read that
// took less than it could have is seen. A deadline (the idle timeout, stop,
// ACL SETUSER's recheck) ends the wait, and the raw read, as it ends a
// Read.
//
// A blocked command reads the socket while it waits (block.go), which it
// cannot do inside the raw read: processCommands stops before one
// (rawRead.later), the raw read ends, and serveRaw handles the rest of the
// buffer out of it. The linger before a close reads too, and comes after.

// rawRead is a connection's raw read state.
type rawRead struct {
	in    bool // inside the raw read
	later bool // processCommands stopped before a blocking command
	st    int  // what serve does next, once the raw read ends
	fn    func(fd uintptr) bool
}

// serveRaw serves the connection from one raw read until it ends, and
// returns what serve does next.
func (c *conn) serveRaw() int {
	if c.rr.fn == nil {
		c.rr.fn = c.readRawFD
	}
	c.rr.in, c.rr.st = true, goOn
	err := c.raw.rc.Read(c.rr.fn)
	c.rr.in = false
	if c.rr.st != goOn {
		return c.rr.st
	}
	if c.rr.later {
		c.rr.later = false
		if !c.process() {
			return closeLinger
		}
		if c.stopping.Load() {
			return closeLinger
		}
	}
	if err != nil {
		return c.took(0, err)
	}
	return goOn
}

// readRawFD is serveRaw's function for syscall.RawConn.Read: it reports
// false to wait for the socket, true to end the raw read.
func (c *conn) readRawFD(fd uintptr) bool {
	for {
		if !c.grow() {
			c.rr.st = closeNow
			return true
		}
		b := c.buf[c.w:min(len(c.buf), c.bufLimit())]
		n, wait, err := readSocket(fd, b)
		if wait {
			return false
		}
		if c.rr.st = c.took(n, err); c.rr.st != goOn || c.rr.later || err != nil {
			return true
		}
		c.armIdle()
		if n < len(b) {
			return false // the socket had no more: the poller tells when it has
		}
	}
}

// putOff reports, inside a raw read, whether args is a blocking command
// that may wait, which must run out of it; on the io_uring loop, whether
// the connection must leave the loop before args runs (loopLeaves).
func (c *conn) putOff(args [][]byte) bool {
	if c.onLoop.Load() {
		return c.loopLeaves(args)
	}
	return c.rr.in && c.isRESP && !c.sess.inMulti && Blocking(args)
}

// Blocking reports whether args is a command that may block its client
// (BLPOP, XREAD … BLOCK, …: its spec's Block is set; WAIT), which a
// connection reading its socket the raw way runs out of that read.
func Blocking(args [][]byte) bool {
	if len(args) == 0 || len(args[0]) == 0 {
		return false
	}
	switch args[0][0] | 0x20 {
	case 'b', 'x':
		spec := command.Redis.Lookup(args[0])
		return spec != nil && spec.Block != nil
	case 'w':
		return bytes.EqualFold(args[0], []byte("wait"))
	}
	return false
}

// read reads from the client into b.
func (c *conn) read(b []byte) (int, error) {
	if c.raw != nil {
		return c.raw.read(b)
	}
	return c.nc.Read(b)
}

// start picks the connection's protocol from its first command, as
// line.Sniff tells it, dropping the blank lines before that command; a
// connection accepted by ServeRESP speaks RESP from its first byte. start
// reports false while the bytes read so far do not tell: the caller reads
// more and calls again.
func (c *conn) start() bool {
	isLine := false
	if !c.respOnly {
		skip, l, known := line.Sniff(c.buf[c.r:c.w], min(c.s.cfg().MaxLineLen, c.s.cfg().Limits.MaxInlineLen))
		c.r += skip
		if c.r == c.w {
			c.r, c.w = 0, 0
		}
		if !known {
			return false
		}
		isLine = l
	}
	c.isRESP = !isLine
	if c.isRESP {
		c.p = c.s.router.NewPipeline(respBusy)
		c.sess.init(c)
		c.respVer.Store(2)
	} else {
		c.p = c.s.router.NewPipeline(lineBusy)
	}
	c.p.SetDrain(max(minShare, maxHeld/len(c.s.router.Shards())), c.drainOut)
	c.p.SetInline(c.onLoop.Load())
	if c.gate.tls {
		// Every piece of a write becomes a TLS record of its own: splice
		// only replies that fill records anyway, copy the rest together.
		c.p.Out().SetMinSplice(tlsMinSplice)
	}
	c.observe()
	return true
}

// grow makes room for the next read. A buffer full of one unfinished
// command is replaced by one twice as large; reads never fill it past
// bufLimit, even while it is larger (it starts at readBufSize). grow reports
// false when the unfinished command has reached that limit: the query buffer
// limit, or the line protocol's line limit (which the parser reports itself
// before, so this is a last guard).
func (c *conn) grow() bool {
	limit := c.bufLimit()
	if c.w-c.r >= limit {
		c.warn("closing client that reached max query buffer length", "qbuf", c.w-c.r, "limit", limit)
		return false
	}
	if c.w < min(len(c.buf), limit) {
		return true
	}
	nb := make([]byte, min(2*len(c.buf), limit))
	copy(nb, c.buf[c.r:c.w])
	c.w -= c.r
	c.r = 0
	c.buf = nb
	c.bufSize.Store(int64(len(nb)))
	return true
}

// process handles every whole command in the buffer and writes the replies.
// It reports false when the connection must be closed.
func (c *conn) process() bool {
	ok := c.processCommands()
	c.p.Flush()
	pipelined := c.counted > 1
	c.publish()
	c.rec.Flush()
	if pipelined && !c.onLoop.Load() {
		// The replies of a pipeline wait until the connections already
		// woken have run their commands, as Redis writes the replies of
		// an event-loop round together once it has read every ready
		// client. A client then finds many connections' replies at each
		// wake-up (epoll_wait) instead of one, spends less CPU on its
		// own polling, and sends its next pipelines together, which the
		// server reads with fewer wake-ups too. Unpipelined replies
		// leave at once: there the wait cost more than it saved.
		runtime.Gosched()
	}
	if !c.writeOut() {
		return false
	}
	clear(c.argv)
	c.argv = c.argv[:0]
	c.w, c.r = sockio.Compact(c.buf, c.r, c.w), 0
	return ok && !c.quit && !c.dead
}

// publish makes the read's command count and last command visible to INFO
// and CLIENT LIST: a few atomic stores per read rather than per command.
func (c *conn) publish() {
	if c.counted == 0 {
		return
	}
	c.s.totalCmds.Add(c.counted)
	c.counted = 0
	c.lastCmd.Store(time.Now().UnixNano())
	if c.last != nil {
		c.lastName.Store(c.last)
	}
}

// writeOut writes the assembled replies to the client: the pieces of the
// pipeline's Out, the shards' replies among them where the shards wrote
// them, in one vectored write. A buffer grown large by one round's replies
// is given back once they are written.
func (c *conn) writeOut() bool {
	if c.sess.trk.On {
		// After the replies: the invalidations of what they changed.
		defer c.s.track.SendPending(c.id)
	}
	out := c.p.Out()
	if c.dead {
		out.Reset() // what was not run is answered in out: nobody reads it
		return false
	}
	if out.Len() == 0 {
		return true
	}
	err := c.send(out.Buffers())
	out.Reset()
	out.Trim(maxHeld)
	if err != nil {
		c.dead = true
	}
	return err == nil
}

// drainOut is the pipeline's drain (router.Pipeline.SetDrain): called when
// the shards have stopped running the connection's commands at their share
// of maxHeld, it writes the replies out and returns once the socket has
// taken them, so that a client that does not read holds up its own
// connection, not the server's memory.
func (c *conn) drainOut() bool {
	if c.muting {
		c.p.Out().Reset() // the replies are dropped (CLIENT REPLY)
		return true
	}
	return c.writeOut()
}

// roundDone is called after each command is routed: it sends a full batch to
// the shards and writes out replies that have piled up.
func (c *conn) roundDone() bool {
	if c.dead {
		return false
	}
	if c.p.Pending() >= c.s.cfg().MaxBatch {
		c.p.Flush()
	}
	if c.p.Out().Len() >= flushAt {
		return c.writeOut()
	}
	return true
}

// processCommands handles every whole command in the buffer, in either
// protocol. It reports false when the connection must be closed after the
// replies are written.
func (c *conn) processCommands() bool {
	c.refreshConfig()
	for c.r < c.w {
		start := len(c.argv)
		var (
			argv [][]byte
			n    int
			err  error
		)
		if c.isRESP {
			argv, n, err = resp.ReadCommand(c.buf[c.r:c.w], c.argv, c.gate.lim)
		} else {
			argv, n, err = line.Parse(c.buf[c.r:c.w], c.argv, c.s.cfg().MaxLineLen)
		}
		if err != nil {
			w := c.p.Local()
			if c.isRESP {
				w.AppendError("ERR " + err.Error())
			} else {
				w.AppendRaw([]byte(err.Error() + "\n"))
			}
			c.p.EndLocal()
			c.protocolError(err)
			return false
		}
		if n == 0 {
			break
		}
		args := argv[start:]
		if len(args) > 0 && c.putOff(args) {
			c.rr.later = true
			break
		}
		c.r += n
		c.argv = argv
		if len(args) == 0 {
			continue
		}
		c.counted++
		if c.isRESP {
			c.sess.handle(args)
			if c.quit {
				return true
			}
		} else if !c.lineCommand(args) {
			return false
		}
		if !c.roundDone() {
			return false
		}
	}
	return true
}

// lineCommand routes one line-protocol command. It reports false when the
// connection must be closed.
func (c *conn) lineCommand(args [][]byte) bool {
	spec := command.Line.Lookup(args[0])
	if spec != nil {
		c.last = &spec.Name
	}
	switch {
	case spec == nil:
		return c.lineUnknown(args)
	case !spec.ArityOK(len(args)):
		if c.httpRequest(args) {
			return false
		}
		c.rec.Reject(spec)
		c.lineError("ERR wrong number of arguments for '" + string(args[0]) + "'")
	case !c.gate.authed && !c.s.acl.DefaultOpen():
		c.rec.Reject(spec)
		c.lineError(msgNoAuth)
	case !c.permitted(spec, args, false):
		c.rec.Reject(spec)
	default:
		c.feedMonitors(args)
		if c.s.pause.Active() && !c.waitPause(pause.MayWrite(spec)) {
			return false
		}
		c.p.Do(spec, args)
	}
	return true
}

func (c *conn) lineError(msg string) {
	w := c.p.Local()
	w.AppendRaw([]byte(msg))
	w.AppendRaw([]byte("\n"))
	c.p.EndLocal()
}

// cleanup gives back what the connection holds in the shards (watched keys).
func (c *conn) cleanup() {
	if c.isRESP && c.p != nil {
		c.sess.close()
	}
	c.rec.Flush()
	if ob := c.ob.Load(); ob != nil {
		ob.Close(lingerTime)
	}
}

func (c *conn) logger() *slog.Logger {
	return c.s.log.With("client", c.nc.RemoteAddr().String(), "id", c.id)
}

//go:build linux

package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/data-cluster/data-cluster/internal/ascii"
	"github.com/data-cluster/data-cluster/internal/uring"
)

// The io_uring loop (Config.IOURing).
//
// With it, the plain connections (TCP or Unix, not TLS) have no goroutine
// of their own while they run ordinary commands: one goroutine serves them
// all from one io_uring, as Redis's event loop serves its clients. Each
// connection has a multishot receive in flight, into the ring's receive
// buffers, and every plain listener a multishot accept (loopListener).
// The loop waits for completions, copies each arrival into its
// connection's read buffer and runs the connection's commands there, as
// the connection's goroutine would (conn.took); the replies are copied to
// the connection's output, and every connection's output of a round is
// sent by requests submitted with the next wait, in the one system call
// that also waits. A request so costs a share of one system call instead
// of a read, a write, an empty read and a wake-up of a goroutine.
//
// With a data directory, the shards hand the loop's commands back once
// their records are in the log's journal, not once they are durable
// (router.Pipeline.SetInline); the loop then writes the log once for the
// whole round, and with appendfsync always fdatasyncs it once, before it
// submits any of the round's sends (wal.Store.WaitDurableHeld), as Redis
// writes its AOF once per turn of its event loop. Replies a connection
// takes along when it leaves the loop wait for the same (backlogAt).
//
// The loop must never wait for anything but the shards running its
// commands, which always end: a connection that is about to wait for
// something else moves to a goroutine of its own, for good, and is served
// from then on as without the loop (detach). That is before a blocking
// command or WAIT, a script (whose run only another client may kill),
// MONITOR, SHUTDOWN, and while CLIENT PAUSE is in force
// (loopLeaves); once it has subscribed or tracks keys (others write to it
// through its outbox); when more than maxHeld of its replies wait for its
// socket; when the server stops it (stop: it lingers there); and when it
// is to close after a last reply. Its receive is cancelled first, and its
// send in flight is let finish; what the receive still brought goes after
// the bytes it has not run, what was not sent to its backlog, which its
// goroutine writes first (serveFrom).
//
// Other goroutines close a connection on the loop by shutting its socket
// down (kill, Shutdown), which ends its requests: closing the descriptor
// would not, the ring holding the socket open, and the descriptor's number
// must not be reused while the loop may still name it in a request. The
// loop closes a connection itself once no request of it is left, and
// closes idle ones, checking every tick.

// loopBufCount receive buffers of loopBufSize bytes each (2 MiB): the
// kernel takes one for each arrival of bytes and the loop gives it back
// once it has copied them, so a round uses about one per connection that
// had something. When they run out, a receive ends (ENOBUFS) and is made
// again, the bytes waiting in the socket meanwhile. A variable for tests.
var loopBufCount = 128

// loopEntries is the size of the submission queue, which is submitted at
// once when it fills before the round's end. A variable for tests.
var loopEntries uint32 = 4096

const (
	loopBufSize = 16 << 10
	loopTick    = 100 * time.Millisecond
	// loopRawWait bounds a wait the scheduler is not told of, and
	// loopYield the time the loop keeps its P before it lets others run
	// (loop.wait, loop.yield).
	loopRawWait = 100 * time.Microsecond
	loopYield   = time.Millisecond
	// loopKeepOut bounds the output buffer a connection keeps between
	// rounds: a larger one is dropped once sent.
	loopKeepOut = 64 << 10
)

const (
	// The kind of a request, in the top byte of its user data; the rest
	// is the connection's id.
	kindRecv = iota + 1
	kindSend
	kindWake
	kindTick
	kindCancel
	kindAccept // the id is the listener's
)

func userData(kind int, id int64) uint64 { return uint64(kind)<<56 | uint64(id) }

// loopConn is the loop's state of a connection it serves; it belongs to
// the loop's goroutine, as the connection does then.
type loopConn struct {
	fd       int       // the socket's descriptor
	lastRead time.Time // when a receive last brought bytes (idle timeout)

	out      []byte // replies not yet sent
	sending  []byte // replies of the send in flight
	sent     int    // how much of sending the kernel took
	inflight bool   // a send is in flight
	listed   bool   // in the loop's list of connections to send for
	receives bool   // a receive is in flight
	started  bool   // the loop has taken it

	// leave asks the loop to move the connection to a goroutine of its
	// own before its next command (loopLeaves); detaching says it is on
	// its way (then is what that goroutine does first: goOn, closeLinger
	// or closeNow); closing that its socket was shut down, to close.
	leave     bool
	detaching bool
	then      int
	closing   bool
}

// loop is the io_uring loop; its fields but mu's belong to its goroutine.
type loop struct {
	s      *Server
	r      *uring.Ring
	conns  map[int64]*conn
	toSend []*conn // connections with output to send at the round's end
	// durable is the position the data directory's log must reach before
	// the round's replies go out (router.Pipeline.TakeDurable), 0 for none.
	durable int64
	ev      int     // eventfd: wakes the loop for its inbox
	evBuf   [8]byte // the eventfd read's buffer
	tick    uring.Timespec
	done    chan struct{} // closed when the loop has ended
	told    time.Time     // the loop's last wait the scheduler was told of (wait)
	yielded time.Time     // when the loop last let the scheduler have its P (yield)

	outOfBufs atomic.Int64 // receives ended for want of a buffer

	lns       map[int64]*loopListener // the listeners it accepts on
	nextLn    int64
	listening atomic.Int64 // len(lns), for tests

	mu     sync.Mutex
	inbox  []*conn         // new connections, and connections to look at
	lnIn   []*loopListener // listeners to accept on (listen)
	lnOut  []*loopListener // listeners to stop accepting on (unlisten)
	closed bool            // Shutdown is done with the connections: end
}

// loopListener is a listening socket the loop accepts on, beside the
// Serve goroutine's Accept: whichever takes a connection serves it. A
// connection the loop accepts does not wait for Go's poller, which,
// while the loop keeps the process's only P busy, runs only when the
// scheduler's monitor thread polls (every 10 ms under load).
type loopListener struct {
	id        int64
	fd        int // a duplicate of the listener's descriptor: the loop closes it
	respOnly  bool
	gone      bool // Serve is done with the listener: accept no more
	accepting bool // an accept is in flight
	retry     bool // the accept ended with an error: made again at the next tick
}

// listen has the loop accept on ln too, when ln is a plain socket (not
// TLS); nil when it does not.
func (l *loop) listen(ln net.Listener, respOnly bool) *loopListener {
	rc := rawConnOf(ln)
	if rc == nil {
		return nil
	}
	fd := -1
	rc.Control(func(s uintptr) {
		if r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, s, syscall.F_DUPFD_CLOEXEC, 0); errno == 0 {
			fd = int(r)
		}
	})
	if fd < 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		syscall.Close(fd)
		return nil
	}
	ll := &loopListener{fd: fd, respOnly: respOnly}
	l.lnIn = append(l.lnIn, ll)
	l.wake()
	return ll
}

// unlisten has the loop stop accepting on ll.
func (l *loop) unlisten(ll *loopListener) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lnOut = append(l.lnOut, ll)
	l.wake()
}

// listeners takes the listeners posted to the loop and those it is to stop
// accepting on.
func (l *loop) listeners() {
	l.mu.Lock()
	in, out := l.lnIn, l.lnOut
	l.lnIn, l.lnOut = nil, nil
	l.mu.Unlock()
	for _, ll := range in {
		l.nextLn++
		ll.id = l.nextLn
		l.lns[ll.id] = ll
		l.listening.Add(1)
		l.accept(ll)
	}
	for _, ll := range out {
		l.stopListener(ll)
	}
}

// stopListener has the loop accept no more on ll: its accept in flight is
// cancelled, and the listener dropped once that has ended (handle).
func (l *loop) stopListener(ll *loopListener) {
	ll.gone = true
	if ll.accepting {
		l.r.Cancel(userData(kindAccept, ll.id), userData(kindCancel, 0))
	} else {
		l.dropListener(ll)
	}
}

// stopAccepting cancels the loop's accepts and waits for their ends, so
// that no listening socket outlives the loop: a request in flight holds
// its socket, and a ring's teardown when it is closed is the kernel's to
// finish later.
func (l *loop) stopAccepting() {
	l.listeners()
	for _, ll := range l.lns {
		l.stopListener(ll)
	}
	for len(l.lns) > 0 {
		if err := l.r.Enter(true); err != nil {
			return
		}
		l.r.Completions(l.handle)
	}
}

func (l *loop) accept(ll *loopListener) {
	ll.retry = false
	if err := l.r.AcceptMultishot(ll.fd, userData(kindAccept, ll.id)); err != nil {
		ll.retry = true // a full queue that failed to submit
		return
	}
	ll.accepting = true
}

func (l *loop) dropListener(ll *loopListener) {
	if ll.fd >= 0 {
		syscall.Close(ll.fd)
		ll.fd = -1
	}
	if _, ok := l.lns[ll.id]; ok {
		delete(l.lns, ll.id)
		l.listening.Add(-1)
	}
}

// accepted serves a connection the loop accepted on ll: socket fd is
// handed to the net package, which makes it a net.Conn of a descriptor
// of its own, as Accept returns.
func (l *loop) accepted(ll *loopListener, fd int) {
	f := os.NewFile(uintptr(fd), "")
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		l.s.log.Warn("a connection the io_uring loop accepted could not be used", "err", err)
		return
	}
	c := l.s.newConn(nc, ll.respOnly)
	if c == nil {
		return
	}
	if c.onLoop.Load() {
		l.look(c)
		return
	}
	l.s.goServe(c.serve)
}

// newLoop starts the loop's goroutine, which sets up the ring; an error
// when the kernel refuses io_uring.
func newLoop(s *Server) (*loop, error) {
	ev, _, errno := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC, 0)
	if errno != 0 {
		return nil, fmt.Errorf("eventfd: %w", errno)
	}
	l := &loop{s: s, conns: map[int64]*conn{}, lns: map[int64]*loopListener{}, ev: int(ev), done: make(chan struct{})}
	l.tick = uring.Timespec{Nsec: int64(loopTick)}
	started := make(chan error, 1)
	go l.run(started)
	if err := <-started; err != nil {
		return nil, err
	}
	return l, nil
}

func (l *loop) release() {
	l.mu.Lock()
	in := l.lnIn
	l.lnIn, l.lnOut = nil, nil
	l.mu.Unlock()
	for _, ll := range in {
		syscall.Close(ll.fd) // posted, not yet taken
	}
	for _, ll := range l.lns {
		l.dropListener(ll)
	}
	if l.r != nil {
		l.r.Close()
		l.r = nil
	}
	l.mu.Lock()
	if l.ev >= 0 {
		syscall.Close(l.ev)
		l.ev = -1
	}
	l.mu.Unlock()
}

// post asks the loop to look at c (a new connection, or one stopped);
// false when the loop has ended.
func (l *loop) post(c *conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	if len(l.inbox) == 0 {
		l.wake()
	}
	l.inbox = append(l.inbox, c)
	return true
}

// wake makes the eventfd readable, which completes the loop's read of it.
// The caller holds mu, under which release closes the eventfd.
func (l *loop) wake() {
	if l.ev >= 0 {
		one := uint64(1)
		syscall.Write(l.ev, (*[8]byte)(unsafe.Pointer(&one))[:])
	}
}

func (l *loop) takeInbox() []*conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	in := l.inbox
	l.inbox = nil
	return in
}

// close ends the loop once Shutdown is done with every connection.
func (l *loop) close() {
	l.mu.Lock()
	l.closed = true
	l.wake()
	l.mu.Unlock()
	<-l.done
}

// run is the loop's goroutine. It stays on one thread, the ring's only
// submitter: the kernel then runs the work that completes its requests
// (a receive's copy) when that thread waits in the ring
// (IORING_SETUP_DEFER_TASKRUN), rather than interrupting it at its next
// system call, where it would take the socket's lock while the sender
// may still hold it.
func (l *loop) run(started chan<- error) {
	runtime.LockOSThread()
	defer close(l.done)
	defer l.release()
	r, err := uring.New(uring.Options{Entries: loopEntries, BufCount: loopBufCount, BufSize: loopBufSize, SingleIssuer: true})
	if err == nil {
		l.r = r
		if err = l.r.Read(l.ev, l.evBuf[:], userData(kindWake, 0)); err == nil {
			err = l.r.Timeout(&l.tick, userData(kindTick, 0))
		}
	}
	started <- err
	if err != nil {
		return
	}
	l.told = time.Now()
	l.yielded = l.told
	for {
		// A look without waiting first: under load, completions are
		// ready.
		err := l.r.Enter(false)
		if err == nil && !l.r.Ready() {
			err = l.wait()
		}
		if err == nil {
			l.r.Completions(l.handle)
			l.flush()
			l.yield()
			l.mu.Lock()
			end := l.closed && len(l.conns) == 0
			l.mu.Unlock()
			if end {
				l.stopAccepting()
				return
			}
			continue
		}
		// The ring failed: the connections go on with goroutines of their
		// own, once the completions already made are handled. Closing
		// the ring ends their requests.
		l.s.log.Error("the io_uring loop failed; its connections go on with goroutines of their own", "err", err)
		l.r.Completions(l.handle)
		l.release()
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		for _, c := range l.conns {
			c.lp.receives, c.lp.inflight = false, false
			if !c.lp.detaching {
				c.lp.detaching, c.lp.then = true, goOn
			}
			l.settle(c)
		}
		for _, c := range l.takeInbox() {
			if _, ok := l.conns[c.id]; !ok && c.onLoop.Load() {
				c.onLoop.Store(false)
				l.s.goServe(c.serve)
			}
		}
		return
	}
}

// wait waits for a completion. A wait the Go scheduler is told of
// (Enter(true)) costs the process thread switches once it lasts 20 µs:
// the scheduler's monitor thread takes the P back, and with one P wakes
// another thread to poll the network, which sleeps again. So while no
// connection is served by a goroutine of its own, the loop first waits up
// to loopRawWait keeping its P (Ring.WaitFor): under load, the next
// arrival comes sooner. Nothing else of the process runs on that P
// meanwhile, which a connection on a goroutine (a subscriber, a blocked
// client, a script's …) would wait for: with one, every wait is told, as
// before. Without, one wait in each loopYield is told still, during
// which the network is polled for the listener's new connections.
func (l *loop) wait() error {
	if l.s.goConns.Load() == 0 && time.Since(l.told) < loopYield {
		if err := l.r.WaitFor(loopRawWait); err != nil || l.r.Ready() {
			return err
		}
	}
	err := l.r.Enter(true)
	l.told = time.Now()
	l.yielded = l.told
	return err
}

// yield lets the process's other goroutines run (timers, the goroutines
// they wake) once the loop has kept its P for loopYield without a wait the
// scheduler was told of. The network is polled for them meanwhile by the
// scheduler's monitor thread, every 10 ms, while the loop never finds
// itself without completions.
func (l *loop) yield() {
	if now := time.Now(); now.Sub(l.yielded) >= loopYield {
		runtime.Gosched()
		l.yielded = now
	}
}

// handle handles one completion.
func (l *loop) handle(ev uring.Completion) {
	kind, id := int(ev.UserData>>56), int64(ev.UserData&(1<<56-1))
	switch kind {
	case kindRecv:
		c := l.conns[id]
		if bid, ok := ev.Buffer(); ok {
			if c != nil && ev.Res > 0 {
				l.feed(c, l.r.Buf(bid, int(ev.Res)))
			}
			l.r.GiveBack(bid)
		}
		if c == nil || ev.More() {
			return
		}
		c.lp.receives = false
		// The receive ends for want of a buffer (every one was taken: the
		// bytes wait in the socket), or with bytes when the kernel could
		// not post its next completion (the completion queue was full):
		// it is made again. Its end without bytes, or an error, is the
		// connection's.
		if (ev.Res > 0 || ev.Res == -int32(syscall.ENOBUFS)) && !c.lp.detaching && !c.lp.closing {
			if ev.Res < 0 {
				l.outOfBufs.Add(1)
			}
			l.recv(c)
			return
		}
		if !c.lp.detaching {
			c.lp.closing = true // the client's end, or an error
		}
		l.settle(c)
	case kindSend:
		c := l.conns[id]
		if c == nil {
			return
		}
		l.sent(c, ev.Res)
	case kindWake:
		for _, c := range l.takeInbox() {
			l.look(c)
		}
		l.listeners()
		l.r.Read(l.ev, l.evBuf[:], userData(kindWake, 0))
	case kindTick:
		l.checkIdle()
		for _, ll := range l.lns {
			if ll.retry && !ll.gone {
				l.accept(ll)
			}
		}
		l.r.Timeout(&l.tick, userData(kindTick, 0))
	case kindAccept:
		ll := l.lns[id]
		if ll == nil {
			if ev.Res >= 0 {
				syscall.Close(int(ev.Res))
			}
			return
		}
		if ev.Res >= 0 {
			l.accepted(ll, int(ev.Res))
		}
		if ev.More() {
			return
		}
		ll.accepting = false
		switch {
		case ll.gone:
			l.dropListener(ll)
		case ev.Res >= 0:
			l.accept(ll)
		default:
			// Out of descriptors, say: the Serve goroutine's Accept backs
			// off and logs; the loop tries again at its next tick.
			ll.retry = true
		}
	}
}

// look handles a posted connection: a new one starts receiving; one
// already on the loop has been stopped, and leaves it to linger.
func (l *loop) look(c *conn) {
	if _, ok := l.conns[c.id]; ok {
		if c.stopping.Load() {
			l.detach(c, closeLinger)
		}
		return
	}
	if c.lp.started {
		return // posted when it was on the loop, which has let it go since
	}
	c.lp.started = true
	if !c.begin() {
		c.onLoop.Store(false)
		l.s.goServe(func() { c.serveFrom(closeNow) })
		return
	}
	c.lp.lastRead = time.Now()
	l.conns[c.id] = c
	l.recv(c)
	if c.stopping.Load() {
		l.detach(c, closeLinger)
	}
}

func (l *loop) recv(c *conn) {
	if err := l.r.RecvMultishot(c.lp.fd, userData(kindRecv, c.id)); err != nil {
		// Only a full queue that failed to submit gets here: the
		// connection goes on without the loop.
		c.lp.detaching, c.lp.then = true, goOn
		l.settle(c)
		return
	}
	c.lp.receives = true
}

// feed runs the commands in what a receive brought c.
func (l *loop) feed(c *conn, data []byte) {
	c.lp.lastRead = time.Now()
	for len(data) > 0 && !c.lp.closing {
		if c.lp.detaching && c.lp.then != goOn {
			return // to close: the linger discards what the client sends
		}
		if !c.grow() {
			if c.lp.detaching {
				c.lp.then = closeNow
			} else {
				l.shut(c)
			}
			return
		}
		n := copy(c.buf[c.w:min(len(c.buf), c.bufLimit())], data)
		data = data[n:]
		if c.lp.detaching {
			c.w += n // for the connection's goroutine to run
			continue
		}
		switch st := l.took(c, n); {
		case st == closeNow:
			l.shut(c)
		case st == closeLinger:
			l.detach(c, closeLinger)
		case c.lp.leave || c.rr.later || c.ob.Load() != nil || c.monitoring.Load():
			l.detach(c, goOn)
		}
	}
}

// took runs the commands of n more bytes in c's buffer, as the
// connection's goroutine does, and recovers from a panic as that goroutine
// does: the connection is closed.
func (l *loop) took(c *conn, n int) (st int) {
	defer func() {
		if c.p != nil {
			l.durable = max(l.durable, c.p.TakeDurable()) // flush waits for it
		}
		if p := recover(); p != nil {
			c.s.log.Error("panic while serving a connection; closing it",
				"client", c.nc.RemoteAddr().String(), "panic", p, "stack", string(debug.Stack()))
			st = closeNow
		}
	}()
	return c.took(n, nil)
}

// sendOnLoop queues the pieces v, replies, to be sent to the client at the
// end of the loop's round. The output limits are those of writev; past
// maxHeld of replies waiting, the connection leaves the loop before its
// next command, its goroutine waiting for the client to take them.
func (c *conn) sendOnLoop(v net.Buffers) error {
	cfg := c.s.cfg()
	left := int64(len(c.lp.out) + len(c.lp.sending) - c.lp.sent)
	for _, b := range v {
		left += int64(len(b))
	}
	if err := c.overHard(left, cfg, cfg.NormalOutput); err != nil {
		return err
	}
	for _, b := range v {
		c.lp.out = append(c.lp.out, b...)
	}
	c.omem.Store(left)
	if left > maxHeld {
		c.lp.leave = true
	}
	if !c.lp.listed {
		c.lp.listed = true
		c.s.loop.toSend = append(c.s.loop.toSend, c)
	}
	return nil
}

// flush sends the output of the round's connections, one send each, once
// the log has what they reply to: one write of every client's records, and
// with appendfsync always one fdatasync, before any reply of the round.
func (l *loop) flush() {
	if l.durable > 0 {
		l.s.store.WaitDurableHeld(l.durable)
		l.durable = 0
	}
	for i, c := range l.toSend {
		l.toSend[i] = nil
		c.lp.listed = false
		if !c.lp.inflight && !c.lp.detaching && !c.lp.closing {
			l.send(c)
		}
	}
	l.toSend = l.toSend[:0]
}

// send starts sending c's output, if any.
func (l *loop) send(c *conn) {
	if len(c.lp.out) == 0 {
		return
	}
	c.lp.sending, c.lp.out = c.lp.out, c.lp.sending[:0]
	c.lp.sent = 0
	l.sendRest(c)
}

func (l *loop) sendRest(c *conn) {
	if err := l.r.Send(c.lp.fd, c.lp.sending[c.lp.sent:], userData(kindSend, c.id)); err != nil {
		c.lp.detaching, c.lp.then = true, goOn // its goroutine sends it
		l.settle(c)
		return
	}
	c.lp.inflight = true
}

// sent handles the completion of c's send.
func (l *loop) sent(c *conn, res int32) {
	c.lp.inflight = false
	if res < 0 {
		if !c.lp.detaching {
			c.lp.closing = true
			c.shutdownSocket()
		} else {
			c.lp.then = closeNow
		}
		c.dead = true
		l.settle(c)
		return
	}
	c.lp.sent += int(res)
	c.omem.Store(int64(len(c.lp.out) + len(c.lp.sending) - c.lp.sent))
	switch {
	case c.lp.detaching || c.lp.closing:
		l.settle(c)
	case c.lp.sent < len(c.lp.sending):
		l.sendRest(c)
	default:
		c.lp.sending, c.lp.sent = c.lp.sending[:0], 0
		if cap(c.lp.sending) > loopKeepOut {
			c.lp.sending = nil // a large round's buffer is not kept
		}
		switch {
		case l.durable == 0:
			l.send(c)
		case len(c.lp.out) > 0 && !c.lp.listed:
			// Replies of this round: after the log (flush).
			c.lp.listed = true
			l.toSend = append(l.toSend, c)
		}
	}
}

// settle lets go of c once it has no request in flight: to a goroutine of
// its own when it is leaving the loop, else closed.
func (l *loop) settle(c *conn) {
	if c.lp.receives || c.lp.inflight || !c.lp.detaching && !c.lp.closing {
		return
	}
	delete(l.conns, c.id)
	if c.lp.closing {
		c.onLoop.Store(false)
		c.end()
		return
	}
	c.backlog = append(c.backlog[:0], c.lp.sending[c.lp.sent:]...)
	c.backlog = append(c.backlog, c.lp.out...)
	c.backlogAt = l.durable // what the round ran is not yet in the log
	c.lp.sending, c.lp.out = nil, nil
	c.onLoop.Store(false)
	then := c.lp.then
	l.s.goServe(func() { c.serveFrom(then) })
}

// detach moves c to a goroutine of its own once its requests have ended,
// which then does what st says (goOn: serve).
func (l *loop) detach(c *conn, st int) {
	if c.lp.detaching || c.lp.closing {
		return
	}
	c.lp.detaching, c.lp.then = true, st
	if c.lp.receives {
		l.r.Cancel(userData(kindRecv, c.id), userData(kindCancel, c.id))
	}
	l.settle(c)
}

// shut closes c: its socket is shut down, which ends its requests, and
// the connection is closed when they have.
func (l *loop) shut(c *conn) {
	if c.lp.closing || c.lp.detaching {
		return
	}
	c.lp.closing = true
	c.shutdownSocket()
	l.settle(c)
}

// checkIdle closes the connections idle for longer than the idle timeout.
func (l *loop) checkIdle() {
	d := l.s.cfg().IdleTimeout
	if d <= 0 {
		return
	}
	now := time.Now()
	for _, c := range l.conns {
		if now.Sub(c.lp.lastRead) > d {
			l.shut(c)
		}
	}
}

// shutdownSocket shuts c's socket down both ways, which ends a request of
// the loop in flight and any read or write of its goroutine.
func (c *conn) shutdownSocket() {
	if c.raw == nil {
		return
	}
	c.raw.rc.Control(func(fd uintptr) { syscall.Shutdown(int(fd), syscall.SHUT_RDWR) })
}

// socketFD returns the descriptor of c's socket, for the loop's requests.
func socketFD(c *conn) (int, error) {
	fd := -1
	if c.raw == nil {
		return fd, errors.New("no raw socket")
	}
	err := c.raw.rc.Control(func(s uintptr) { fd = int(s) })
	return fd, err
}

// loopLeaves reports whether the connection must leave the io_uring loop
// before args runs: its socket did not take the last replies, CLIENT PAUSE
// is in force, or args may wait for something else than the shards
// running it (a blocking command, WAIT, a script), or makes the
// connection one that others write to or wait for (MONITOR; the SUBSCRIBE
// family and CLIENT TRACKING, after which an outbox writes its replies,
// which must not overtake those the loop has not sent yet; SHUTDOWN).
// MULTI stays: a command it queues is asked this when it is queued, so
// the connection leaves before it queues a script, and an EXEC on the
// loop runs only commands that end on the shards.
func (c *conn) loopLeaves(args [][]byte) bool {
	if c.lp.leave || c.s.pause.Active() || Blocking(args) {
		return true
	}
	name := args[0]
	if len(name) == 0 {
		return false
	}
	switch name[0] | 0x20 {
	case 'e':
		return nameIs(name, "eval", "evalsha", "eval_ro", "evalsha_ro")
	case 'f':
		return nameIs(name, "fcall", "fcall_ro")
	case 'm':
		return nameIs(name, "monitor")
	case 's':
		return nameIs(name, "subscribe", "ssubscribe", "shutdown")
	case 'p':
		return nameIs(name, "psubscribe")
	case 'c':
		return len(args) > 1 && nameIs(name, "client") && nameIs(args[1], "tracking")
	}
	return false
}

// nameIs reports whether name is one of names, in any case.
func nameIs(name []byte, names ...string) bool {
	for _, n := range names {
		if len(name) == len(n) && ascii.EqualFold(name, n) {
			return true
		}
	}
	return false
}

package peer

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/data-cluster/data-cluster/internal/sockio"
)

// Buffer sizes of a connection.
const (
	readBufSize  = 64 << 10
	writeBufSize = 64 << 10
)

// Transport connects a node to its peers. Send, Connected, Meta and Stats
// are safe for concurrent use, before, during and after Run.
type Transport struct {
	cfg       Config
	h         Handler
	log       *slog.Logger
	peers     atomic.Pointer[map[string]*peer] // replaced whole by AddPeer and RemovePeer
	tlsServer *tls.Config                      // nil for plain TCP
	ran       atomic.Bool

	mu      sync.Mutex
	conns   map[net.Conn]struct{} // every open connection, so Run can close them
	closing bool                  // Run is returning: no new connection is kept
	runCtx  context.Context       // Run's, for the peers added while it runs

	wg sync.WaitGroup // every goroutine started by Run
}

// peer is the state kept for one other node.
type peer struct {
	id, addr string
	dials    bool          // this node dials the peer; else it accepts
	tls      *tls.Config   // client config with the peer's ServerName; nil for plain TCP
	queue    chan Frame    // frames waiting for the connection's writer
	removed  chan struct{} // closed by RemovePeer

	// serving is held by the goroutine serving the peer's connection, so
	// that a connection replacing another starts once the old one is gone.
	serving sync.Mutex

	mu   sync.Mutex
	cur  net.Conn // the newest TCP connection handed to serve, nil once it ended
	gen  uint64   // incremented for every connection handed to serve
	meta string

	connected                                    atomic.Bool
	bytesSent, bytesRecv, framesSent, framesRecv atomic.Uint64
	writes                                       atomic.Uint64
	dropped, connects                            atomic.Uint64
}

// New returns a Transport that hands the frames it receives to h. It does not
// touch the network until Run.
func New(cfg Config, h Handler) (*Transport, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errorf(ErrConfig, "nil handler")
	}
	t := &Transport{
		cfg:   cfg,
		h:     h,
		log:   cfg.Logger,
		conns: make(map[net.Conn]struct{}),
	}
	if t.log == nil {
		t.log = slog.Default()
	}
	if cfg.TLS != nil {
		t.tlsServer = cfg.TLS.Clone()
		t.tlsServer.ClientAuth = tls.RequireAndVerifyClientCert
		if t.tlsServer.ClientCAs == nil {
			t.tlsServer.ClientCAs = cfg.TLS.RootCAs
		}
	}
	peers := make(map[string]*peer, len(cfg.Peers))
	for id, addr := range cfg.Peers {
		peers[id] = t.newPeer(id, addr)
	}
	t.peers.Store(&peers)
	return t, nil
}

// newPeer returns the state of peer id at addr.
func (t *Transport) newPeer(id, addr string) *peer {
	p := &peer{id: id, addr: addr, dials: t.cfg.NodeID < id, queue: make(chan Frame, t.cfg.QueueLen), removed: make(chan struct{})}
	if t.cfg.TLS != nil {
		p.tls = t.cfg.TLS.Clone()
		if p.tls.RootCAs == nil {
			p.tls.RootCAs = t.cfg.TLS.ClientCAs
		}
		if p.tls.ServerName == "" {
			p.tls.ServerName, _, _ = net.SplitHostPort(addr)
		}
	}
	return p
}

// peer returns the state of peer id, or nil.
func (t *Transport) peer(id string) *peer { return (*t.peers.Load())[id] }

// AddPeer adds the node id at addr to the peers, as a node joining the
// cluster; while Run runs, the node whose id sorts lower dials at once.
// Adding a peer already known at the same address does nothing; at another
// address it is an error, as are an id or address that Config.Validate
// would refuse.
func (t *Transport) AddPeer(id, addr string) error {
	if id == "" || len(id) > MaxIDLen || id == t.cfg.NodeID {
		return errorf(ErrConfig, "bad peer id %q", id)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return errorf(ErrConfig, "peer %q: bad address %q", id, addr)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.peers.Load()
	if p := old[id]; p != nil {
		if p.addr != addr {
			return errorf(ErrConfig, "peer %q is at %s, not %s", id, p.addr, addr)
		}
		return nil
	}
	p := t.newPeer(id, addr)
	next := make(map[string]*peer, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[id] = p
	t.peers.Store(&next)
	if t.runCtx != nil && !t.closing && p.dials {
		ctx := t.runCtx
		t.wg.Go(func() { t.dial(ctx, p) })
	}
	t.log.Info("peer added", "peer", id, "addr", addr)
	return nil
}

// RemovePeer forgets the node id, a node that left the cluster: its
// connection is closed, frames queued for it are dropped, and a connection
// from it is refused from now on. An unknown id does nothing.
func (t *Transport) RemovePeer(id string) {
	t.mu.Lock()
	old := *t.peers.Load()
	p := old[id]
	if p == nil {
		t.mu.Unlock()
		return
	}
	next := make(map[string]*peer, len(old))
	for k, v := range old {
		if k != id {
			next[k] = v
		}
	}
	t.peers.Store(&next)
	close(p.removed)
	t.mu.Unlock()
	p.mu.Lock()
	if p.cur != nil {
		p.cur.Close()
	}
	p.mu.Unlock()
	t.log.Info("peer removed", "peer", id)
}

// Run accepts connections from the peers that dial this node and dials the
// others, redialling as connections end, until ctx is done. It then closes
// the listener and every connection, waits for all its goroutines and
// returns nil. It returns early with an error if the listener fails for
// good. Run may be called once; it returns ErrRunning after that.
func (t *Transport) Run(ctx context.Context) error {
	if !t.ran.CompareAndSwap(false, true) {
		return ErrRunning
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	acceptErr := make(chan error, 1)
	t.wg.Go(func() { acceptErr <- t.accept(ctx) })
	t.mu.Lock()
	t.runCtx = ctx
	for _, p := range *t.peers.Load() {
		if p.dials {
			t.wg.Go(func() { t.dial(ctx, p) })
		}
	}
	t.mu.Unlock()
	var err error
	select {
	case <-ctx.Done():
	case err = <-acceptErr:
	}
	cancel()
	t.mu.Lock()
	t.closing = true
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.cfg.Listener.Close()
	t.wg.Wait()
	return err
}

// track records c as open, so that Run closes it when it returns. It
// reports false, and c must be closed, when Run is already returning.
func (t *Transport) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

// untrack closes c and forgets it.
func (t *Transport) untrack(c net.Conn) {
	c.Close()
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// accept accepts connections until ctx is done, each served on its own
// goroutine. It returns nil once ctx is done, or the listener's error if it
// is closed by someone else.
func (t *Transport) accept(ctx context.Context) error {
	var delay time.Duration
	for {
		c, err := t.cfg.Listener.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				t.log.Error("peer listener closed", "err", err)
				return err
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			t.log.Warn("accept failed; retrying", "err", err, "in", delay)
			if !sleep(ctx, delay) {
				return nil
			}
			continue
		}
		delay = 0
		if !t.track(c) {
			c.Close()
			return nil
		}
		t.wg.Go(func() {
			defer t.untrack(c)
			t.serveAccepted(ctx, c)
		})
	}
}

// serveAccepted runs the acceptor's side of the handshake on c and, when it
// succeeds, serves the connection until it ends.
func (t *Transport) serveAccepted(ctx context.Context, c net.Conn) {
	remote := c.RemoteAddr().String()
	c.SetDeadline(time.Now().Add(t.cfg.HandshakeTimeout))
	conn := c
	if t.tlsServer != nil {
		tc := tls.Server(c, t.tlsServer)
		if err := tc.HandshakeContext(ctx); err != nil {
			if ctx.Err() == nil {
				t.log.Warn("peer connection refused: tls handshake failed", "remote", remote, "err", err)
			}
			return
		}
		conn = tc
	}
	br := bufio.NewReaderSize(conn, readBufSize)
	h, err := readHello(br)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrVersion) {
			conn.Write(appendReply(nil, false, err.Error()))
		}
		t.log.Warn("peer connection refused: bad hello", "remote", remote, "err", err)
		return
	}
	if h.cluster == "" && h.to == "" {
		t.serveJoin(conn, br, h, remote)
		return
	}
	p, err := t.check(h)
	if err != nil {
		conn.Write(appendReply(nil, false, err.Error()))
		t.log.Warn("peer connection refused", "remote", remote, "from", h.from, "err", err)
		return
	}
	if _, err := conn.Write(appendReply(nil, true, t.cfg.Meta)); err != nil {
		if ctx.Err() == nil {
			t.log.Warn("peer handshake failed", "peer", p.id, "remote", remote, "err", err)
		}
		return
	}
	c.SetDeadline(time.Time{})
	t.serve(ctx, p, c, conn, br, h.meta, remote)
}

// check reports which peer a hello comes from, or why it is refused.
func (t *Transport) check(h hello) (*peer, error) {
	if h.cluster != t.cfg.ClusterID {
		return nil, errorf(ErrClusterID, "got %q, want %q", h.cluster, t.cfg.ClusterID)
	}
	if h.to != t.cfg.NodeID {
		return nil, errorf(ErrWrongNode, "got %q, this is %q", h.to, t.cfg.NodeID)
	}
	p := t.peer(h.from)
	if p == nil {
		return nil, errorf(ErrUnknownPeer, "%q", h.from)
	}
	if p.dials {
		return nil, errorf(ErrDirection, "%q dials %q", h.from, t.cfg.NodeID)
	}
	return p, nil
}

// isRemoved reports whether RemovePeer removed p.
func (p *peer) isRemoved() bool {
	select {
	case <-p.removed:
		return true
	default:
		return false
	}
}

// dial connects to p and serves the connection, again and again with a
// backoff between attempts, until ctx is done.
func (t *Transport) dial(ctx context.Context, p *peer) {
	backoff := t.cfg.MinBackoff
	var lastErr string // the last failure logged, so that a repeated one is logged once
	for {
		up, err := t.dialOnce(ctx, p)
		if ctx.Err() != nil || p.isRemoved() {
			return
		}
		switch {
		case up:
			backoff = t.cfg.MinBackoff
			lastErr = ""
		case err.Error() != lastErr:
			lastErr = err.Error()
			t.log.Warn("cannot connect to peer; retrying", "peer", p.id, "addr", p.addr, "err", err)
		default:
			t.log.Debug("cannot connect to peer; retrying", "peer", p.id, "addr", p.addr, "err", err)
		}
		if !sleep(ctx, backoff) {
			return
		}
		if !up {
			backoff = min(2*backoff, t.cfg.MaxBackoff)
		}
	}
}

// dialOnce dials p, runs the dialer's side of the handshake and serves the
// connection until it ends. It reports whether the handshake succeeded, or
// why not.
func (t *Transport) dialOnce(ctx context.Context, p *peer) (bool, error) {
	d := net.Dialer{Timeout: t.cfg.HandshakeTimeout}
	c, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return false, err
	}
	if !t.track(c) {
		c.Close()
		return false, ctx.Err()
	}
	defer t.untrack(c)
	remote := c.RemoteAddr().String()
	c.SetDeadline(time.Now().Add(t.cfg.HandshakeTimeout))
	conn := c
	if p.tls != nil {
		tc := tls.Client(c, p.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return false, err
		}
		conn = tc
	}
	hi := hello{cluster: t.cfg.ClusterID, from: t.cfg.NodeID, to: p.id, meta: t.cfg.Meta}
	if _, err := conn.Write(appendHello(nil, hi)); err != nil {
		return false, err
	}
	br := bufio.NewReaderSize(conn, readBufSize)
	meta, err := readReply(br)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return false, err
	}
	c.SetDeadline(time.Time{})
	t.serve(ctx, p, c, conn, br, meta, remote)
	return true, nil
}

// serve runs the connection to p after its handshake: it reads frames on
// this goroutine and writes them on another, until either fails, ctx is
// done or a newer connection to p replaces it. conn is the connection to
// use, raw the TCP connection under it, which is what gets closed (at once,
// without a TLS close_notify that could wait on a dead peer). br holds what
// was read past the handshake.
func (t *Transport) serve(ctx context.Context, p *peer, raw, conn net.Conn, br *bufio.Reader, meta, remote string) {
	p.mu.Lock()
	p.gen++
	gen := p.gen
	old := p.cur
	p.cur = raw
	p.mu.Unlock()
	if old != nil {
		old.Close() // its goroutine releases p.serving once it is gone
	}
	p.serving.Lock()
	defer p.serving.Unlock()
	p.mu.Lock()
	if p.gen != gen || ctx.Err() != nil || p.isRemoved() {
		p.mu.Unlock()
		return // replaced while waiting, shutting down, or removed
	}
	p.meta = meta
	p.connected.Store(true)
	p.mu.Unlock()
	p.connects.Add(1)
	t.log.Info("peer connected", "peer", p.id, "remote", remote, "meta", meta)
	if t.cfg.OnConnect != nil {
		t.cfg.OnConnect(p.id)
	}

	stop := make(chan struct{})
	var werr error
	var wg sync.WaitGroup
	wg.Go(func() {
		werr = t.write(conn, p, stop)
		raw.Close() // ends the read below
	})
	var rerr error
	if sc, ok := conn.(syscall.Conn); ok && sockio.Supported && conn == raw {
		rc, err := sc.SyscallConn()
		if err == nil {
			rerr = t.readRaw(rc, br, p)
		} else {
			rerr = err
		}
	} else {
		rerr = t.read(br, p)
	}
	raw.Close() // ends a write in progress
	close(stop)
	wg.Wait()

	p.mu.Lock()
	replaced := p.gen != gen
	if p.cur == raw {
		p.cur = nil
	}
	p.connected.Store(false)
	p.mu.Unlock()
	switch {
	case ctx.Err() != nil:
		t.log.Debug("peer disconnected: shutting down", "peer", p.id, "remote", remote)
	case replaced:
		t.log.Info("peer disconnected: replaced by a newer connection", "peer", p.id, "remote", remote)
	case errors.Is(rerr, ErrFrameTooLarge) || errors.Is(rerr, ErrBadFrame):
		t.log.Warn("peer disconnected: bad frame", "peer", p.id, "remote", remote, "err", rerr)
	case werr != nil:
		t.log.Info("peer disconnected", "peer", p.id, "remote", remote, "err", werr)
	default:
		t.log.Info("peer disconnected", "peer", p.id, "remote", remote, "err", rerr)
	}
	if t.cfg.OnDisconnect != nil {
		t.cfg.OnDisconnect(p.id)
	}
}

// read hands the frames read from br to the Handler until reading fails.
func (t *Transport) read(br *bufio.Reader, p *peer) error {
	for {
		f, err := readFrame(br, t.cfg.MaxFrame)
		if err != nil {
			return err
		}
		p.bytesRecv.Add(uint64(frameHeader + len(f.Data)))
		p.framesRecv.Add(1)
		t.h.Handle(p.id, f)
	}
}

// write drains p's queue into conn until stop is closed or writing fails.
// It buffers every frame it finds queued and flushes once the queue is
// empty, and stays empty after the goroutine yields once, so that a burst
// of frames goes out in few system calls.
func (t *Transport) write(conn net.Conn, p *peer, stop <-chan struct{}) error {
	dw := &deadlineWriter{c: conn, timeout: t.cfg.WriteTimeout, n: &p.bytesSent, calls: &p.writes}
	dw.raw()
	bw := bufio.NewWriterSize(dw, writeBufSize)
	for {
		var f Frame
		select {
		case f = <-p.queue:
		case <-stop:
			return nil
		}
		yielded := false
		for more := true; more; {
			// Counted first, so that a peer that has the frame finds
			// it counted here.
			p.framesSent.Add(1)
			err := writeFrame(bw, f) // bw keeps a copy of what it buffered
			if f.Sent != nil {
				f.Sent()
			}
			if err != nil {
				return err
			}
			select {
			case f = <-p.queue:
			default:
				more = false
				if !yielded {
					// Before the write, everything else runnable runs
					// once: the node's other groups often have a frame
					// for this peer about to be sent, which then shares
					// the write (a system call, and a wake-up of the
					// peer, each dearer than a frame's bytes).
					yielded = true
					runtime.Gosched()
					select {
					case f = <-p.queue:
						more = true
					default:
					}
				}
			}
		}
		if err := bw.Flush(); err != nil {
			return err
		}
	}
}

// deadlineWriter sets a write deadline before every write to a connection
// and counts the writes and the bytes written. Bytes are counted before
// they are written, so that a peer that has them finds them counted here,
// and uncounted if the write fails.
//
// A connection without TLS is written through its file descriptor
// (syscall.RawConn.Write, sockio.Write) rather than net.Conn.Write, whose
// system call tells the scheduler it may block: on a node with one P
// (--procs 1) the runtime's monitor thread then keeps waking to hand the P
// to another thread during loopback writes, as internal/sockio says. The
// poller and the deadline still govern a write the socket cannot take.
type deadlineWriter struct {
	c       net.Conn
	timeout time.Duration
	n       *atomic.Uint64
	calls   *atomic.Uint64
	rw      sockio.Writer // not ready: c.Write
}

// raw makes w write through the connection's file descriptor when it is a
// socket of its own.
func (w *deadlineWriter) raw() {
	sc, ok := w.c.(syscall.Conn)
	if !ok || !sockio.Supported {
		return
	}
	if rc, err := sc.SyscallConn(); err == nil {
		w.rw.Init(rc)
	}
}

// Write writes b to the connection within the timeout.
func (w *deadlineWriter) Write(b []byte) (int, error) {
	w.calls.Add(1)
	w.n.Add(uint64(len(b)))
	w.c.SetWriteDeadline(time.Now().Add(w.timeout))
	var n int
	var err error
	if w.rw.Ready() && len(b) > 0 {
		n, err = w.rw.Write(b)
	} else {
		n, err = w.c.Write(b)
	}
	if n < len(b) {
		w.n.Add(-uint64(len(b) - n))
	}
	return n, err
}

// Send queues f for the peer to. It never blocks: it returns false, and
// drops f, when the peer is unknown, its queue is full or f's payload
// exceeds MaxFrame. Frames for a peer that is down wait in its queue and go
// out once it is connected; frames already taken by a connection that then
// fails are lost.
func (t *Transport) Send(to string, f Frame) bool {
	p := t.peer(to)
	if p == nil {
		return false
	}
	if f.size() > t.cfg.MaxFrame {
		p.dropped.Add(1)
		return false
	}
	select {
	case p.queue <- f:
		return true
	default:
		p.dropped.Add(1)
		return false
	}
}

// Connected reports whether a connection to the peer id is up.
func (t *Transport) Connected(id string) bool {
	p := t.peer(id)
	return p != nil && p.connected.Load()
}

// Meta returns the meta string the peer id sent in its last handshake, or ""
// if it never connected.
func (t *Transport) Meta(id string) string {
	p := t.peer(id)
	if p == nil {
		return ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.meta
}

// Stats returns the counters of every peer, by ID.
func (t *Transport) Stats() map[string]PeerStats {
	peers := *t.peers.Load()
	m := make(map[string]PeerStats, len(peers))
	for id, p := range peers {
		m[id] = PeerStats{
			BytesSent:     p.bytesSent.Load(),
			BytesRecv:     p.bytesRecv.Load(),
			FramesSent:    p.framesSent.Load(),
			FramesRecv:    p.framesRecv.Load(),
			FramesDropped: p.dropped.Load(),
			Writes:        p.writes.Load(),
			Queued:        len(p.queue),
			Connects:      p.connects.Load(),
			Connected:     p.connected.Load(),
		}
	}
	return m
}

// sleep waits for d or until ctx is done, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

var _ Sender = (*Transport)(nil)

package cluster

import (
	"syscall"

	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/server"
	"github.com/data-cluster/data-cluster/internal/sockio"
)

// Direct replies.
//
// An unpipelined client sends one command and waits for its reply. Its
// connection's goroutine would hand the command to a group, park until the
// group answers, wake up to write the reply, and park again in its next
// read: two wake-ups a request. Instead, when a read holds one command for
// a group and nothing else to answer, the goroutine hands the command over
// with a copy of its arguments and goes straight back to reading; the
// goroutine that answers the request (the group's, or a peer reader's for
// a forwarded one) writes the reply to the socket itself, in one
// non-blocking write. When the socket does not take it all (a client that
// does not read), a goroutine of its own writes the rest, so that a group
// never waits on a client. Either way the request stays in flight until
// its reply is entirely written, and the connection waits for that before
// it handles its next read: replies keep the order of the requests.
//
// Only connections with nothing else writing to them take this path: plain
// sockets (not TLS), neither subscribed nor tracking keys (whose messages
// share the socket), with no normal-class output limits (which write.go's
// write enforces) and replies switched on.

// maxDirectArgs bounds the bytes of arguments a direct request copies.
const maxDirectArgs = 4 << 10

// direct is a connection's request whose reply the answering goroutine
// writes (see Direct replies). The connection's goroutine sets it up and
// reads it back after done; the answering goroutine sets err and the
// write's fields in between.
type direct struct {
	rc       syscall.RawConn // nil: the connection cannot (TLS, a pipe)
	inFlight bool
	group    int
	args     [][]byte // the command's arguments, copied into buf
	buf      []byte
	err      error // the reply's write failed: the client is gone

	// The request in flight, its pending commands and protocol, for
	// answer, the request's Done (a method value made once, so that a
	// request allocates no function).
	p      *pending
	r      *Request
	isRESP bool
	now    Request // a read run at once (readNow)
	answer func(reply []byte, ends []int, err error)

	// The non-blocking write's bytes and outcome (see writeFD, a method
	// value made once so that a write allocates nothing).
	out     []byte
	n       int
	werr    error
	writeFD func(fd uintptr) bool
}

// initDirect readies the connection's direct replies when its socket
// allows them.
func (c *clientConn) initDirect() {
	sc, ok := c.nc.(syscall.Conn)
	if !ok || !rawSockets {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	c.dr.rc = rc
	c.dr.writeFD = c.writeFD
	c.dr.answer = c.answerDirect
	c.rw.Init(rc)
	c.rr.readFD = c.readFD
}

// directOK reports whether the read's one reply may be written by the
// goroutine that answers it.
func (c *clientConn) directOK() bool {
	if c.dr.rc == nil || len(c.items) != 1 || c.items[0].src < 0 || c.out.Len() != 0 ||
		c.quit || c.replyOff || c.skipNext || c.trk.On || c.ob.Load() != nil {
		return false
	}
	if lim := c.s.cfg().NormalOutput; lim.Hard > 0 || lim.Soft > 0 {
		return false
	}
	p := c.reqs[c.items[0].src]
	if len(p.cmds) != 1 {
		return false
	}
	size := 0
	for _, a := range p.cmds[0] {
		size += len(a)
	}
	return size <= maxDirectArgs
}

// flushDirect sends the read's one command to its group, to be answered
// on the socket by the goroutine that runs it; or, a read the group's
// replica here may answer at once (Node.TryRead), runs it and writes its
// reply itself. The caller checked directOK. It reports false when the
// client is gone.
func (c *clientConn) flushDirect() bool {
	g := c.items[0].src
	c.items = c.items[:0]
	p := c.reqs[g]
	if !p.write {
		if done, ok := c.readNow(g, p); done {
			return ok
		}
	}
	// The arguments point into the read buffer, which the next read
	// reuses.
	c.dr.buf = c.dr.buf[:0]
	c.dr.args = c.dr.args[:0]
	for _, a := range p.cmds[0] {
		start := len(c.dr.buf)
		c.dr.buf = append(c.dr.buf, a...)
		c.dr.args = append(c.dr.args, c.dr.buf[start:len(c.dr.buf):len(c.dr.buf)])
	}
	p.cmds[0] = c.dr.args
	r := c.request(p)
	r.Done = c.dr.answer
	c.dr.p, c.dr.r, c.dr.isRESP = p, r, c.isRESP
	c.dr.inFlight, c.dr.group = true, g
	c.submit(g, r)
	return true
}

// readNow runs p's one command, a read, on the connection's goroutine when
// its group's replica here may answer it at once, and writes the reply: no
// hand-over to the group's goroutine and back, no copy of the arguments.
// It reports whether it did, and then whether the reply was written.
func (c *clientConn) readNow(g int, p *pending) (done, ok bool) {
	if p.reply == nil {
		p.reply = c.out.Spare()
	}
	r := &c.dr.now
	*r = Request{Cmds: p.cmds, Proto: c.wireProto(), Mode: c.mode(false), asked: p.asked, Own: true, Buf: p.reply[:0], client: c}
	if !c.s.node.TryRead(g, r) {
		r.Cmds, r.Buf = nil, nil
		return false, false
	}
	p.reply = r.Buf
	r.Cmds, r.Buf = nil, nil
	err := c.writeRaw(p.reply)
	p.reset()
	return true, err == nil
}

// answerDirect is the Done of the direct request in flight: it writes the
// reply, or the error, on the goroutine that answered.
func (c *clientConn) answerDirect(reply []byte, ends []int, err error) {
	c.dr.p.reply = c.dr.r.Buf[:len(reply)]
	if err != nil || len(ends) == 0 {
		var w resp.Writer
		if c.dr.isRESP {
			w.AppendError(errorText(err))
		} else {
			w.AppendRaw([]byte(errorText(err) + "\n"))
		}
		reply = w.Bytes()
	}
	c.writeDirect(reply)
}

// writeDirect writes the reply b of the request in flight, on the
// goroutine that answered it, and tells the connection it is written.
func (c *clientConn) writeDirect(b []byte) {
	c.dr.out, c.dr.n, c.dr.werr = b, 0, nil
	if err := c.dr.rc.Write(c.dr.writeFD); err != nil && c.dr.werr == nil {
		c.dr.werr = err
	}
	n, err := c.dr.n, c.dr.werr
	c.dr.out = nil
	if err != nil || n == len(b) {
		c.dr.err = err
		c.done <- struct{}{}
		return
	}
	go func() {
		_, c.dr.err = c.nc.Write(b[n:])
		c.done <- struct{}{}
	}()
}

// endDirect waits until the reply of the request in flight, if any, is
// written, and reports false when the client is gone.
func (c *clientConn) endDirect() bool {
	if !c.dr.inFlight {
		return true
	}
	<-c.done
	c.dr.inFlight, c.dr.p, c.dr.r = false, nil, nil
	c.reqs[c.dr.group].reset()
	clear(c.dr.args)
	return c.dr.err == nil
}

// writeRaw writes all of b, the replies of a read, through the socket's
// descriptor with raw system calls (see sockio.Writer). c.rw must be
// ready (initDirect).
func (c *clientConn) writeRaw(b []byte) error {
	_, err := c.rw.Write(b)
	return err
}

// Raw reads.
//
// Go's net.Conn.Read tries read(2) before it waits for the socket, and
// forgets, on every call, the poller's word that data came: so an
// unpipelined client, which sends its next command only once it has the
// reply, costs a read(2) that finds nothing for every request. Instead a
// connection stays in one syscall.RawConn.Read while it can: its function
// reads, runs what it read and writes the replies, and reads again only
// when the last read filled what it was given; otherwise it waits for the
// poller without reading. The poller's readiness mark is cleared once,
// when the raw read begins, and never again while it lasts: data that
// comes after a read that took less than it could have is seen.
//
// Blocking commands read the socket while they wait, which they cannot do
// inside the raw read: the raw read ends before such a command, and the
// command is handled out of it.

// rawRead is a connection's raw read state.
type rawRead struct {
	in     bool // inside the raw read: process puts blocking commands off
	later  bool // process put a blocking command off
	stop   bool // the connection must close
	readFD func(fd uintptr) bool
}

// readRaw reads, runs and answers commands until the client goes away, a
// read deadline passes or a blocking command comes (rr.later).
func (c *clientConn) readRaw() error {
	c.rr.in = true
	err := c.dr.rc.Read(c.rr.readFD)
	c.rr.in = false
	if !c.endDirect() {
		c.rr.stop = true
	}
	return err
}

// readFD is readRaw's function for syscall.RawConn.Read: it reports false
// to wait for the socket, true to end the raw read.
func (c *clientConn) readFD(fd uintptr) bool {
	for {
		if !c.room() {
			c.rr.stop = true
			return true
		}
		room := c.readEnd() - c.w
		n, err := sockio.Read(fd, c.buf[c.w:c.readEnd()])
		switch {
		case err == sockio.ErrWait:
			return false
		case err != nil || n == 0:
			c.rr.stop = true
			return true
		}
		if !c.endDirect() || !c.took(n) {
			c.rr.stop = true
			return true
		}
		if c.rr.later {
			return true
		}
		if n < room {
			// The socket had no more: the poller tells when it has.
			c.armTimeout()
			return false
		}
	}
}

// putOff reports, inside a raw read, whether args is a blocking command,
// which must run out of it.
func (c *clientConn) putOff(args [][]byte) bool {
	return c.rr.in && c.isRESP && !c.inMulti && server.Blocking(args)
}

//go:build linux

package main

import (
	"cmp"
	"net"
	"runtime"
	"syscall"

	"github.com/data-cluster/data-cluster/internal/uring"
)

// uconn is one connection of the io_uring loop: the replies being sent
// (one send in flight at a time, so its buffer stays put) and those waiting.
type uconn struct {
	fd       int
	out      []byte
	sent     int
	pend     []byte
	inflight bool
	closed   bool
}

const (
	kindAccept = iota + 1
	kindRecv
	kindSend
)

// serveURing serves on one goroutine locked to its thread (a ring set up
// for a single issuer takes submissions from that thread only) with one
// io_uring: a multishot accept, a multishot receive per connection into
// buffers the kernel picks from a registered ring, and sends; everything
// one round of completions asks for is submitted with the next wait, in one
// system call for all connections.
func serveURing(lfd int) error {
	runtime.LockOSThread()
	r, err := uring.New(uring.Options{Entries: 4096, BufCount: 1024, BufSize: 16 << 10, SingleIssuer: true})
	if err != nil {
		return err
	}
	conns := map[uint64]*uconn{}
	var nextID uint64
	ud := func(kind, id uint64) uint64 { return kind<<56 | id }
	accept := func() error { return r.AcceptMultishot(lfd, ud(kindAccept, 0)) }
	if err := accept(); err != nil {
		return err
	}
	recv := func(id uint64, c *uconn) error { return r.RecvMultishot(c.fd, ud(kindRecv, id)) }
	send := func(id uint64, c *uconn) error {
		c.inflight = true
		return r.Send(c.fd, c.out[c.sent:], ud(kindSend, id))
	}
	// closeConn shuts the socket down, which ends its multishot receive
	// (the ring holds the socket open until then), and closes it.
	closeConn := func(id uint64, c *uconn) {
		if !c.closed {
			c.closed = true
			syscall.Shutdown(c.fd, syscall.SHUT_RDWR)
			syscall.Close(c.fd)
		}
		if !c.inflight {
			delete(conns, id)
		}
	}
	var failed error
	handle := func(ev uring.Completion) {
		kind, id := ev.UserData>>56, ev.UserData&(1<<56-1)
		switch kind {
		case kindAccept:
			if ev.Res >= 0 {
				nextID++
				c := &uconn{fd: int(ev.Res)}
				conns[nextID] = c
				syscall.SetsockoptInt(c.fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
				failed = cmp.Or(failed, recv(nextID, c))
			}
			if !ev.More() {
				failed = cmp.Or(failed, accept())
			}
		case kindRecv:
			c := conns[id]
			if bid, ok := ev.Buffer(); ok {
				if c != nil && !c.closed && ev.Res > 0 {
					c.pend = replies(c.pend, r.Buf(bid, int(ev.Res)))
				}
				r.GiveBack(bid)
			}
			if c == nil || c.closed {
				return
			}
			if ev.Res == 0 || (ev.Res < 0 && ev.Res != -int32(syscall.ENOBUFS)) {
				closeConn(id, c)
				return
			}
			if !c.inflight && len(c.pend) > 0 {
				c.out, c.pend = c.pend, c.out[:0]
				c.sent = 0
				failed = cmp.Or(failed, send(id, c))
			}
			if !ev.More() {
				failed = cmp.Or(failed, recv(id, c))
			}
		case kindSend:
			c := conns[id]
			if c == nil {
				return
			}
			c.inflight = false
			if c.closed || ev.Res < 0 {
				closeConn(id, c)
				return
			}
			c.sent += int(ev.Res)
			if c.sent < len(c.out) {
				failed = cmp.Or(failed, send(id, c))
				return
			}
			if len(c.pend) > 0 {
				c.out, c.pend = c.pend, c.out[:0]
				c.sent = 0
				failed = cmp.Or(failed, send(id, c))
			}
		}
	}
	for failed == nil {
		if err := r.Enter(true); err != nil {
			return err
		}
		r.Completions(handle)
	}
	return failed
}

// listenRaw returns a listening socket on addr (IPv4), with flags
// (syscall.SOCK_NONBLOCK or 0).
func listenRaw(addr string, flags int) (int, error) {
	tcp, err := net.ResolveTCPAddr("tcp4", addr)
	if err != nil {
		return -1, err
	}
	lfd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|flags, 0)
	if err != nil {
		return -1, err
	}
	if err := syscall.SetsockoptInt(lfd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		return -1, err
	}
	sa := &syscall.SockaddrInet4{Port: tcp.Port}
	copy(sa.Addr[:], tcp.IP.To4())
	if err := syscall.Bind(lfd, sa); err != nil {
		return -1, err
	}
	if err := syscall.Listen(lfd, 1024); err != nil {
		return -1, err
	}
	return lfd, nil
}

//go:build linux

// Command floor is the least a Go server can do per request: it answers
// every RESP command it reads with a nil bulk string, without parsing,
// storing or routing anything. bench/floor.sh runs it against redis-server
// to show how fast a Go server can go on a machine at all, unpipelined,
// which bounds what data-cluster can reach there.
//
// The ways of serving, chosen by -mode:
//
//	goroutine  a goroutine per connection over the net package, as
//	           data-cluster serves its connections, answering on the
//	           connection's goroutine
//	hop        goroutine, but each read's replies are made by one of three
//	           shard goroutines: a channel send to the shard and a channel
//	           receive of its answer, as data-cluster's connections hand
//	           their commands to a shard's goroutine and wait
//	inline     goroutine, but the connection takes one of three shards'
//	           ownership with an atomic compare-and-swap, answers, and
//	           gives it back: a command run on the connection's goroutine
//	           while its shard is idle
//	raw        inline, without the empty read: the connection's goroutine
//	           reads through syscall.RawConn and waits for readiness
//	           before each read instead of after an empty one (see
//	           serveRaw)
//	epoll      one goroutine running an edge-triggered epoll loop over raw
//	           non-blocking sockets, as Redis's event loop does: one read
//	           and one write per request, no empty reads
//	uring      one goroutine running an io_uring loop (uring.go): a
//	           multishot receive per connection into buffers the kernel
//	           picks, and every send of a round of completions submitted
//	           with the next wait, in one system call for all connections
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"sync/atomic"
	"syscall"
)

var nilReply = []byte("$-1\r\n")

func main() {
	mode := flag.String("mode", "goroutine", "goroutine, hop, inline, raw, epoll or uring")
	addr := flag.String("addr", "127.0.0.1:7100", "address to listen on (epoll, uring: IPv4 only)")
	flag.Parse()
	serve, _, err := listen(*mode, *addr)
	if err == nil {
		err = serve()
	}
	if err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

// listen listens on addr for mode and returns the function that serves,
// which returns only on an error, and the port listened on.
func listen(mode, addr string) (serve func() error, port int, err error) {
	switch mode {
	case "goroutine", "hop", "inline", "raw":
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, 0, err
		}
		return func() error { return serveGoroutines(ln, mode) }, ln.Addr().(*net.TCPAddr).Port, nil
	case "epoll", "uring":
		flags := syscall.SOCK_NONBLOCK
		if mode == "uring" {
			flags = 0 // an io_uring waits on blocking sockets itself
		}
		lfd, err := listenRaw(addr, flags)
		if err != nil {
			return nil, 0, err
		}
		sa, err := syscall.Getsockname(lfd)
		if err != nil {
			return nil, 0, err
		}
		if mode == "epoll" {
			return func() error { return serveEpoll(lfd) }, sa.(*syscall.SockaddrInet4).Port, nil
		}
		return func() error { return serveURing(lfd) }, sa.(*syscall.SockaddrInet4).Port, nil
	}
	return nil, 0, fmt.Errorf("unknown -mode %q", mode)
}

// replies appends one nil reply per command that starts in b. It counts a
// '*' at the start of a line as a command, which holds for what
// redis-benchmark sends.
func replies(out, b []byte) []byte {
	for i, c := range b {
		if c == '*' && (i == 0 || b[i-1] == '\n') {
			out = append(out, nilReply...)
		}
	}
	return out
}

// shards is the number of shards of the hop and inline modes, as many as
// data-cluster runs by default.
const shards = 3

// request is one read's worth of commands handed to a shard goroutine.
type request struct {
	in, out []byte
	done    chan *request
}

// owned is the shards' ownership in inline mode: 1 while a goroutine runs a
// command on the shard.
var owned [shards]atomic.Int32

func serveGoroutines(ln net.Listener, mode string) error {
	var queues [shards]chan *request
	if mode == "hop" {
		for i := range queues {
			queues[i] = make(chan *request, 1024)
			go func() {
				for r := range queues[i] {
					r.out = replies(r.out[:0], r.in)
					r.done <- r
				}
			}()
		}
	}
	for n := 0; ; n++ {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		shard := n % shards
		switch mode {
		case "goroutine":
			go serveConn(c, func(out, in []byte) []byte { return replies(out, in) })
		case "hop":
			r := &request{done: make(chan *request, 1)}
			go serveConn(c, func(out, in []byte) []byte {
				r.in, r.out = in, out
				queues[shard] <- r
				<-r.done
				return r.out
			})
		case "inline":
			go serveConn(c, func(out, in []byte) []byte { return inline(shard, out, in) })
		case "raw":
			go func() {
				if err := serveRaw(c, shard); err != nil {
					log.Print(err)
				}
			}()
		}
	}
}

// inline answers in on the calling goroutine while it owns the shard. A
// shard found owned is waited for (the floor's connections never find one
// owned for long: each owns its shard for a few nanoseconds).
func inline(shard int, out, in []byte) []byte {
	for !owned[shard].CompareAndSwap(0, 1) {
	}
	out = replies(out, in)
	owned[shard].Store(0)
	return out
}

// serveConn reads requests from c and writes what answer makes of each.
func serveConn(c net.Conn, answer func(out, in []byte) []byte) {
	defer c.Close()
	buf := make([]byte, 16<<10)
	var out []byte
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		out = answer(out[:0], buf[:n])
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// serveRaw serves c as inline does, but reads it without the empty read
// that net.Conn.Read makes after every request (a read that finds the
// socket empty, then a wait for readiness). The whole connection is served
// by one call of RawConn.Read, whose function reads, answers, and returns
// false to wait for readiness before the next read.
//
// Why no wake-up is lost: Go's poller is edge-triggered, and RawConn.Read
// clears the descriptor's readiness once, before its first call of the
// function, which is why each call of RawConn.Read must start with a read
// (data that arrived before the clearing raises no new edge). Here it does,
// and it is called once: after that, readiness is only consumed by the
// wait inside RawConn.Read, and every wait is followed by a read. Data that
// arrives after a read raises an edge that either wakes the wait or, if it
// came before the wait, makes the wait return at once. A read shorter than
// the buffer emptied the socket (a TCP read returns what the receive queue
// holds, up to the buffer); a full one may have left data behind, so it is
// followed by another read before waiting. An edge consumed by a wait whose
// data the previous read already took only costs an empty read.
//
// Replies are written with net.Conn.Write from inside the function: the
// read and write sides of a connection have separate locks and readiness,
// and a write that finds the socket's buffer full waits as usual.
func serveRaw(c net.Conn, shard int) error {
	defer c.Close()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return err
	}
	buf := make([]byte, 16<<10)
	var out []byte
	var done error
	err = rc.Read(func(fd uintptr) bool {
		for {
			n, err := syscall.Read(int(fd), buf)
			if err == syscall.EAGAIN {
				return false
			}
			if err == syscall.EINTR {
				continue
			}
			if n <= 0 {
				if err != nil {
					done = err
				}
				return true
			}
			out = inline(shard, out[:0], buf[:n])
			if _, err := c.Write(out); err != nil {
				done = err
				return true
			}
			if n < len(buf) {
				return false
			}
		}
	})
	if err == nil {
		err = done
	}
	if errors.Is(err, syscall.ECONNRESET) {
		err = nil
	}
	return err
}

func serveEpoll(lfd int) error {
	ep, err := syscall.EpollCreate1(0)
	if err != nil {
		return err
	}
	if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, lfd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(lfd)}); err != nil {
		return err
	}
	const edge = syscall.EPOLLIN | syscall.EPOLLRDHUP | (syscall.EPOLLET & 0xffffffff)
	events := make([]syscall.EpollEvent, 256)
	buf := make([]byte, 16<<10)
	var out []byte
	for {
		n, err := syscall.EpollWait(ep, events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == lfd {
				for {
					cfd, _, err := syscall.Accept4(lfd, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
					if err != nil {
						break
					}
					syscall.SetsockoptInt(cfd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
					if syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, cfd, &syscall.EpollEvent{Events: edge, Fd: int32(cfd)}) != nil {
						syscall.Close(cfd)
					}
				}
				continue
			}
			// Edge-triggered: a read shorter than the buffer emptied the
			// socket, and the next request raises a new event. A reply
			// is a few bytes, so a write to a client that reads its
			// replies does not block; a partial write ends the client.
			for {
				r, err := syscall.Read(fd, buf)
				if err == syscall.EAGAIN {
					break
				}
				if r <= 0 {
					syscall.Close(fd)
					break
				}
				out = replies(out[:0], buf[:r])
				if w, err := syscall.Write(fd, out); err != nil || w < len(out) {
					syscall.Close(fd)
					break
				}
				if r < len(buf) {
					break
				}
			}
		}
	}
}

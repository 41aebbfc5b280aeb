//go:build linux

// Command floor is the least a Go server can do per request: it answers
// every RESP command it reads with a nil bulk string, without parsing,
// storing or routing anything. bench/floor.sh runs it against redis-server
// to show how fast a Go server can go on a machine at all, unpipelined,
// which bounds what data-cluster can reach there.
//
// Two ways of serving, chosen by -mode:
//
//	goroutine  a goroutine per connection over the net package, as
//	           data-cluster serves its connections
//	epoll      one goroutine running an edge-triggered epoll loop over raw
//	           non-blocking sockets, as Redis's event loop does: one read
//	           and one write per request, no empty reads
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"syscall"
)

var nilReply = []byte("$-1\r\n")

func main() {
	mode := flag.String("mode", "goroutine", "goroutine or epoll")
	addr := flag.String("addr", "127.0.0.1:7100", "address to listen on (epoll: 127.0.0.1 only)")
	flag.Parse()
	var err error
	switch *mode {
	case "goroutine":
		err = serveGoroutines(*addr)
	case "epoll":
		err = serveEpoll(*addr)
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	if err != nil {
		log.Print(err)
		os.Exit(1)
	}
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

func serveGoroutines(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			buf := make([]byte, 16<<10)
			var out []byte
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				out = replies(out[:0], buf[:n])
				if _, err := c.Write(out); err != nil {
					return
				}
			}
		}()
	}
}

func serveEpoll(addr string) error {
	tcp, err := net.ResolveTCPAddr("tcp4", addr)
	if err != nil {
		return err
	}
	lfd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		return err
	}
	if err := syscall.SetsockoptInt(lfd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		return err
	}
	sa := &syscall.SockaddrInet4{Port: tcp.Port}
	copy(sa.Addr[:], tcp.IP.To4())
	if err := syscall.Bind(lfd, sa); err != nil {
		return err
	}
	if err := syscall.Listen(lfd, 1024); err != nil {
		return err
	}
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

//go:build linux

package server

import (
	"io"
	"net"
	"syscall"
	"unsafe"

	"github.com/data-cluster/data-cluster/internal/sockio"
)

// Raw socket calls.
//
// A plain socket's reads and writes are made with syscall.RawSyscall,
// inside syscall.RawConn's Read and Write, instead of through the net
// package, whose system calls tell the scheduler they may block
// (entersyscall). They never do here, the socket being non-blocking; but a
// goroutine so marked lets the runtime's monitor thread, which wakes every
// 20 µs while it keeps finding such calls, hand the only P (--procs 1) to
// another thread when a write to a loopback socket, which delivers the
// bytes to the reader before it returns, lasts across one of its wake-ups.
// Unmarked, the calls leave the monitor with nothing to do, and it sleeps
// longer and longer (up to 10 ms). RawConn keeps the poller's behaviour:
// a read that finds nothing, or a write the socket cannot take, waits for
// the poller, with the connection's deadlines.

// rawSockets says that plain connections use the raw calls.
const rawSockets = true

// rawSock is a connection's raw socket calls; its fields belong to the
// connection's goroutine. Its functions for RawConn are method values made
// once, so that a call allocates nothing.
type rawSock struct {
	rc syscall.RawConn

	b   []byte       // a read's buffer
	v   *net.Buffers // a write's pieces
	iov []syscall.Iovec
	n   int64
	err error

	readFn, writeFn func(fd uintptr) bool
}

// maxIov is the most pieces one writev(2) takes (IOV_MAX).
const maxIov = 1024

// rawConnOf returns the descriptor's raw access of v, a connection or a
// listener, nil when v does not show one (TLS, a pipe).
func rawConnOf(v any) syscall.RawConn {
	sc, ok := v.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// newRawSock returns the raw calls of nc, nil when nc is not a socket of
// its own (TLS, a pipe).
func newRawSock(nc net.Conn) *rawSock {
	rc := rawConnOf(nc)
	if rc == nil {
		return nil
	}
	r := &rawSock{rc: rc}
	r.readFn, r.writeFn = r.readFD, r.writeFD
	return r
}

// read reads into b, as net.Conn.Read does: io.EOF once the client has
// closed its side.
func (r *rawSock) read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	r.b, r.n, r.err = b, 0, nil
	if err := r.rc.Read(r.readFn); err != nil {
		r.b = nil
		return 0, err
	}
	r.b = nil
	return int(r.n), r.err
}

func (r *rawSock) readFD(fd uintptr) bool {
	n, wait, err := readSocket(fd, r.b)
	r.n, r.err = int64(n), err
	return !wait
}

// readSocket makes one read from the socket fd into b, not empty: wait
// when it has nothing, io.EOF once the client has closed its side.
func readSocket(fd uintptr, b []byte) (n int, wait bool, err error) {
	n, err = sockio.Read(fd, b)
	switch {
	case err == sockio.ErrWait:
		return 0, true, nil
	case err != nil:
		return 0, false, err
	case n == 0:
		return 0, false, io.EOF
	}
	return n, false, nil
}

// write writes the pieces v and consumes what it wrote, as sendPieces: it
// returns once the socket has taken all of v, or with the error that
// stopped it (the write deadline's among them).
func (r *rawSock) write(v *net.Buffers) (int64, error) {
	r.v, r.n, r.err = v, 0, nil
	err := r.rc.Write(r.writeFn)
	r.v = nil
	clear(r.iov)
	if r.err != nil {
		err = r.err
	}
	return r.n, err
}

func (r *rawSock) writeFD(fd uintptr) bool {
	v := r.v
	for len(*v) > 0 {
		r.iov = r.iov[:0]
		for _, b := range *v {
			if len(b) == 0 {
				continue
			}
			r.iov = append(r.iov, syscall.Iovec{Base: &b[0]})
			r.iov[len(r.iov)-1].SetLen(len(b))
			if len(r.iov) == maxIov {
				break
			}
		}
		if len(r.iov) == 0 {
			*v = (*v)[:0]
			break
		}
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&r.iov[0])), uintptr(len(r.iov)))
		switch e {
		case 0:
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		default:
			r.err = e
			return true
		}
		r.n += int64(n)
		consume(v, int64(n))
	}
	return true
}

// consume drops the first n bytes of the pieces v.
func consume(v *net.Buffers, n int64) {
	for len(*v) > 0 {
		if l := int64(len((*v)[0])); l > n {
			(*v)[0] = (*v)[0][n:]
			return
		} else {
			n -= l
			(*v)[0] = nil
			*v = (*v)[1:]
		}
	}
}

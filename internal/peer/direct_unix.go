//go:build unix

package peer

import (
	"errors"
	"net"
	"syscall"
)

// rawConn writes to a TCP connection without ever blocking (see
// peer.sendDirect).
type rawConn struct{ rc syscall.RawConn }

// newRawConn returns c's rawConn, nil when c gives no access to its
// socket.
func newRawConn(c net.Conn) *rawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return &rawConn{rc}
}

// tryWrite writes what the socket takes of b now, and returns how much
// that was: a full socket buffer is no error.
func (c *rawConn) tryWrite(b []byte) (int, error) {
	var n int
	var err error
	if cerr := c.rc.Write(func(fd uintptr) bool {
		n, err = syscall.Write(int(fd), b)
		return true // never wait for the socket to take more
	}); cerr != nil {
		return 0, cerr
	}
	n = max(n, 0)
	if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
		err = nil
	}
	return n, err
}

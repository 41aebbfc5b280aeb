//go:build unix

package cluster

import "syscall"

// rawSockets says that direct replies and raw reads may use the socket's
// system calls (direct.go).
const rawSockets = true

// writeFD makes one write of dr.out to the socket fd, a non-blocking one:
// a full socket leaves n at 0 and no error. It is the function given to
// syscall.RawConn.Write, which it tells not to wait.
func (c *clientConn) writeFD(fd uintptr) bool {
	for {
		n, err := syscall.Write(int(fd), c.dr.out)
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			n, err = 0, nil
		}
		c.dr.n, c.dr.werr = max(n, 0), err
		return true
	}
}

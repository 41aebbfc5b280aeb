//go:build unix

package cluster

import "github.com/data-cluster/data-cluster/internal/sockio"

// rawSockets says that direct replies and raw reads may use the socket's
// system calls (direct.go).
const rawSockets = true

// writeFD makes one write of dr.out to the socket fd, a non-blocking one:
// a full socket leaves n at 0 and no error. It is the function given to
// syscall.RawConn.Write, which it tells not to wait.
func (c *clientConn) writeFD(fd uintptr) bool {
	if len(c.dr.out) == 0 {
		c.dr.n, c.dr.werr = 0, nil
		return true
	}
	n, err := sockio.Write(fd, c.dr.out)
	if err == sockio.ErrWait {
		n, err = 0, nil
	}
	c.dr.n, c.dr.werr = n, err
	return true
}

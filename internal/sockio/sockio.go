// Package sockio reads and writes non-blocking sockets through their file
// descriptors, for the connections that syscall.RawConn's Read and Write
// drive: the client connections' raw reads (internal/server,
// internal/cluster), a cluster node's direct replies (internal/cluster)
// and a peer connection's reads and writes (internal/peer). Read and Write
// make the one system call such a loop needs and tell an empty (or full)
// socket apart, so that the loop waits for the poller instead.
package sockio

import "errors"

// ErrWait is Read's error for a socket with nothing to read yet, and
// Write's for one that takes nothing more yet.
var ErrWait = errors.New("sockio: nothing to read")

// Compact moves the bytes of buf[r:w] not handled yet to the start of buf
// and returns their new end: a connection's read buffer made ready for the
// next read once the whole commands in it are handled.
func Compact(buf []byte, r, w int) int {
	if r == 0 {
		return w
	}
	return copy(buf, buf[r:w])
}

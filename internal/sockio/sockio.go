// Package sockio reads non-blocking sockets through their file descriptors,
// for the connections that syscall.RawConn.Read drives: the client
// connections' raw reads (internal/server, internal/cluster) and a peer
// connection's reads (internal/peer). Read makes the one read(2) such a loop needs and tells
// an empty socket apart, so that the loop waits for the poller instead.
package sockio

import "errors"

// ErrWait is Read's error for a socket with nothing to read yet.
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

// Package sockio reads and writes non-blocking sockets through their file
// descriptors, for the connections that syscall.RawConn's Read and Write
// drive: the client connections' raw reads (internal/server,
// internal/cluster), a cluster node's direct replies (internal/cluster)
// and a peer connection's reads and writes (internal/peer). Read and Write
// make the one system call such a loop needs and tell an empty (or full)
// socket apart, so that the loop waits for the poller instead.
package sockio

import (
	"errors"
	"io"
)

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

// Fill writes b[*off:] to the non-blocking socket fd, advancing *off, for a
// function given to syscall.RawConn.Write: it reports true once all of b
// is written or a write failed (with the error), false when the socket
// takes no more for now, to wait for the poller and be called again.
func Fill(fd uintptr, b []byte, off *int) (bool, error) {
	for *off < len(b) {
		n, err := Write(fd, b[*off:])
		switch {
		case err == ErrWait:
			return false, nil
		case err != nil:
			return true, err
		case n == 0:
			return true, io.ErrShortWrite
		}
		*off += n
	}
	return true, nil
}

// Package sockio reads and writes non-blocking sockets through their file
// descriptors, for the connections that syscall.RawConn's Read and Write
// drive: the client connections' raw reads (internal/server,
// internal/cluster), a cluster node's direct replies (internal/cluster)
// and a peer connection's reads and writes (internal/peer). Read and Write
// make the one system call such a loop needs and tell an empty (or full)
// socket apart, so that the loop waits for the poller instead; Writer is
// such a loop for writing a whole buffer.
package sockio

import (
	"errors"
	"io"
	"syscall"
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

// Writer writes whole buffers to a non-blocking socket through its file
// descriptor: Write calls syscall.RawConn.Write with a function that makes
// raw write(2) calls (Write), and RawConn.Write waits for the poller, under
// the connection's write deadline, while the socket takes no more, as
// net.Conn.Write would, but without telling the scheduler at each call
// that it may block. Init readies it; it makes one write at a time.
type Writer struct {
	rc  syscall.RawConn
	b   []byte // the bytes of the write under way
	off int    // how many of them are written
	err error  // what ended the write
	fn  func(fd uintptr) bool
}

// Init readies w to write to the socket of rc.
func (w *Writer) Init(rc syscall.RawConn) {
	w.rc, w.fn = rc, w.fill
}

// Ready reports whether Init readied w.
func (w *Writer) Ready() bool { return w.rc != nil }

// Write writes all of b, unless a write fails, and returns how many bytes
// were written: len(b) exactly when the error is nil.
func (w *Writer) Write(b []byte) (int, error) {
	w.b, w.off, w.err = b, 0, nil
	err := w.rc.Write(w.fn)
	n := w.off
	if err == nil {
		err = w.err
	}
	w.b = nil
	return n, err
}

// fill is Write's function for syscall.RawConn.Write: it writes b[off:],
// reporting true once all of b is written or a write failed (with the
// error in w.err), false when the socket takes no more for now, to wait
// for the poller and be called again.
func (w *Writer) fill(fd uintptr) bool {
	for w.off < len(w.b) {
		n, err := Write(fd, w.b[w.off:])
		switch {
		case err == ErrWait:
			return false
		case err != nil:
			w.err = err
			return true
		case n == 0:
			w.err = io.ErrShortWrite
			return true
		}
		w.off += n
	}
	return true
}

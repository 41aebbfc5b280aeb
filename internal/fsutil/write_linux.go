package fsutil

import (
	"errors"
	"io"
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

// maxWrite bounds the bytes of one write request: the ring takes a 32-bit
// length, and Linux writes at most about 2 GiB at a time. Tests lower it
// to make every write take several requests.
var maxWrite = 1 << 30

// Write writes b to f at f's current offset, as f.Write does, and returns
// len(b) and nil, or the bytes written and the error that stopped the
// write. On Linux the write goes through the io_uring of Datasync when the
// kernel allows it, so that the calling goroutine waits without holding a
// P (see uring_linux.go); a short write is continued from where it
// stopped. Only one goroutine at a time may write f, and f must not be
// closed before Write returns: the kernel looks its descriptor up when it
// runs the request, not when it is submitted.
//
// Each request is marked to run on the kernel's worker threads
// (IOSQE_ASYNC) rather than tried first in the submitting thread: the copy
// into the page cache, and any wait for the journal, then happen beside
// the Go code, on another core, and the submission costs the P only a
// short system call.
func Write(f *os.File, b []byte) (int, error) {
	r := getRing()
	if r == nil || !r.writes {
		return f.Write(b)
	}
	n := 0
	for n < len(b) {
		p := b[n:min(len(b), n+maxWrite)]
		<-r.slots
		ch, err := r.start(f, uringSQE{
			opcode: ioringOpWrite,
			flags:  ioSQEAsync,
			off:    ioringCurPos,
			addr:   uint64(uintptr(unsafe.Pointer(&p[0]))),
			len:    uint32(len(p)),
		})
		if ch == nil {
			if errors.Is(err, errRefused) {
				m, err := f.Write(b[n:])
				return n + m, err
			}
			return n, err
		}
		res := <-ch
		r.slots <- struct{}{}
		// The kernel has let go of b; until now only the submission
		// referred to it.
		runtime.KeepAlive(b)
		switch {
		case res == -int32(syscall.EINTR) || res == -int32(syscall.EAGAIN):
			continue
		case res < 0:
			return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.Errno(-res)}
		case res == 0:
			return n, io.ErrShortWrite
		}
		n += int(res)
	}
	return n, nil
}

package fsutil

import (
	"errors"
	"io"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// A write(2) to a file is quick while the page cache takes the bytes at
// once (about 2 µs here), and a write through the ring is slow to finish
// for the goroutine that waits for it: the kernel runs it on a worker
// thread (ext4 cannot try a buffered write without blocking), and the
// completion reaches the goroutine through the netpoller, which a busy P
// polls only once its run queue is empty (100-400 µs under load, measured).
// But a write(2) that waits for the disk (dirty-page throttling, the
// journal) keeps its P all that time. So Write calls write(2) and times
// it, and after one that took longer than a millisecond it sends the
// writes of the next 100 ms through the ring, then tries write(2) again
// (quickWrites).
var (
	// quickWrites: a write(2) slower than a millisecond, well above the
	// wait of a write through the ring, sends the next 100 ms of writes
	// through the ring, where they cost less. Beside an fdatasync of the
	// same file, one write(2) in 200 took over 100 µs here, one in 1,000
	// about 300 µs, the slowest 5-30 ms. 100 ms is long enough that a
	// busy disk stalls the P for at most one write(2) in that time, short
	// enough that a slow write(2) on a quiet disk (a few a minute here)
	// sends few writes through the ring.
	quickWrites = quick{slow: time.Millisecond, off: 100 * time.Millisecond}
	epoch       = time.Now()
	// ringWrites counts the writes sent through the ring, for tests.
	ringWrites atomic.Int64
)

// quick keeps a system call that holds the P on its fast path while it
// is quick: after one slower than slow, the calls of the next off take
// the other path (through the ring), then the fast one again. Write and
// DatasyncInline keep one each.
type quick struct {
	slow  time.Duration // tests change it
	off   time.Duration
	until atomic.Int64 // when, in nanoseconds since epoch, the fast path is back
}

// on reports whether the fast path is to be taken now.
func (q *quick) on() bool { return int64(time.Since(epoch)) >= q.until.Load() }

// took notes a call on the fast path that began at start (since epoch).
func (q *quick) took(start time.Duration) {
	if end := time.Since(epoch); end-start > q.slow {
		q.until.Store(int64(end + q.off))
	}
}

// maxWrite bounds the bytes of one write request: the ring takes a 32-bit
// length, and Linux writes at most about 2 GiB at a time. Tests lower it
// to make every write take several requests.
var maxWrite = 1 << 30

// Write writes b to f at f's current offset, as f.Write does, and returns
// len(b) and nil, or the bytes written and the error that stopped the
// write. Only one goroutine at a time may write f, and f must not be
// closed before Write returns.
//
// On Linux, while write(2) is quick Write calls it, as a raw system call
// (see writeRaw); once one has been slow (the disk is busy), Write sends
// the writes of the next 100 ms through the io_uring of Datasync, so that
// the calling goroutine waits for the disk without holding a P (see
// uring_linux.go), and continues a short write from where it stopped.
func Write(f *os.File, b []byte) (int, error) {
	r := getRing()
	if r == nil || !r.writes {
		return f.Write(b)
	}
	if !quickWrites.on() {
		return r.write(f, b)
	}
	return WriteHeld(f, b)
}

// WriteHeld is Write without the way out: it calls write(2) as a raw
// system call however slow the last ones were, for a caller that has
// nothing else to run until the write has ended and whose parking would
// cost more (the server's io_uring loop; see DatasyncHeld). A slow one
// still sends Write's calls of the next 100 ms through the ring.
func WriteHeld(f *os.File, b []byte) (int, error) {
	start := time.Since(epoch)
	n, err := writeRaw(f, b)
	quickWrites.took(start)
	return n, err
}

// writeRaw writes b to f at f's current offset with write(2) made as
// syscall.RawSyscall, which does not tell the scheduler that the goroutine
// may block. f.Write's system call does, and on a process with one P
// (--procs 1, the default) that wakes the runtime's monitor thread each
// time the P was idle before: a futex wake-up and a context switch per log
// write, and then the monitor's 20 µs rounds while it finds goroutines in
// system calls (17% of a cluster node's CPU under unpipelined writes). The
// cost is Redis's: a write(2) that waits for the disk holds the P, and the
// node's other goroutines wait with it; Write then sends the writes of the
// next 100 ms through the ring.
func writeRaw(f *os.File, b []byte) (int, error) {
	fd := f.Fd()
	if fd == ^uintptr(0) {
		return 0, &os.PathError{Op: "write", Path: f.Name(), Err: os.ErrClosed}
	}
	n := 0
	for n < len(b) {
		p := b[n:min(len(b), n+maxWrite)]
		m, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		switch {
		case e == syscall.EINTR:
			continue
		case e != 0:
			return n, &os.PathError{Op: "write", Path: f.Name(), Err: e}
		case m == 0:
			return n, io.ErrShortWrite
		}
		n += int(m)
	}
	runtime.KeepAlive(f)
	return n, nil
}

// write writes b to f through the ring, as Write does. Each request is
// marked to run on the kernel's worker threads (IOSQE_ASYNC) rather than
// tried first in the submitting thread, where a buffered write on ext4
// fails at once anyway: the copy into the page cache, and any wait for
// the disk, happen beside the Go code, and the submission costs the P
// only a short system call. The kernel looks f's descriptor up when it
// runs the request, not when it is submitted: f must stay open until
// write returns.
func (r *uring) write(f *os.File, b []byte) (int, error) {
	ringWrites.Add(1)
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

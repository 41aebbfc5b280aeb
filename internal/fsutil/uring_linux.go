package fsutil

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// An fdatasync is a system call that blocks for the time the disk takes
// (about 0.2 ms here), and the Go runtime keeps the goroutine's P while it
// runs, until its monitor takes the P back: with GOMAXPROCS 1 every other
// goroutine waits. So Datasync asks the kernel for the fdatasync through an
// io_uring instead: one submission (a short system call), after which the
// kernel runs the fdatasync on a worker thread of its own while the calling
// goroutine waits on a channel, its P free for the others. The ring's
// eventfd, read through the runtime's netpoller, tells a reaper goroutine of
// completions, which it hands to their waiters.
//
// A write(2) to a file holds the P the same way: usually for the few
// microseconds the page cache takes to copy the bytes, but for as long as
// the disk takes when the kernel throttles the writers of dirty pages or
// the file system waits for its journal. So once write(2) has been slow,
// Write submits the writes to the same ring for a while: a worker thread
// of the kernel's copies the bytes while the goroutine waits on a channel
// (see write_linux.go).
//
// The ring is set up at the first Datasync or Write; when the kernel
// refuses io_uring (too old, disabled by kernel.io_uring_disabled or a
// seccomp filter), Datasync calls fdatasync and Write write(2) directly.

// Linux io_uring ABI (include/uapi/linux/io_uring.h).
const (
	sysIOUringSetup = 425
	sysIOUringEnter = 426
	sysIOUringReg   = 427

	ioringOpFsync        = 3
	ioringOpWrite        = 23
	ioringFsyncDatasync  = 1
	ioringOffSQRing      = 0
	ioringOffCQRing      = 0x8000000
	ioringOffSQEs        = 0x10000000
	ioringRegisterEvtfd  = 4
	ioSQEAsync           = 1 << 4 // IOSQE_ASYNC: run on a worker thread, not inline
	ioringFeatSingleMmap = 1
	ioringFeatRWCurPos   = 1 << 3
	// ioringCurPos as a write's offset means the file's current
	// position, as write(2) uses (IORING_FEAT_RW_CUR_POS).
	ioringCurPos = ^uint64(0)

	// ringEntries bounds the requests in flight: a Datasync or Write
	// beyond it waits for a slot, so the completion queue (twice as
	// large) never overflows.
	ringEntries = 64
)

type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqringOffsets
	cqOff                                                                  cqringOffsets
}

type uringSQE struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64
	addr        uint64
	len         uint32
	opFlags     uint32
	userData    uint64
	bufIndex    uint16
	personality uint16
	spliceFdIn  int32
	addr3       uint64
	pad         uint64
}

type uringCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

// uring is the process's ring for fdatasyncs and writes. Datasync and
// Write may be called from any goroutine: submissions are serialised by
// mu; the reaper goroutine, the only reader of the completion queue,
// delivers each result on the channel its submitter registered under the
// request's id.
type uring struct {
	fd     int
	slots  chan struct{} // holds a token per request that may be put in flight
	writes bool          // the kernel writes at the file's position (ioringCurPos)

	mu      sync.Mutex // guards the submission queue, next and waiting
	sqTail  *uint32
	sqMask  uint32
	sqArray []uint32
	sqes    []uringSQE
	next    uint64
	waiting map[uint64]chan int32

	cqHead *uint32
	cqTail *uint32
	cqMask uint32
	cqes   []uringCQE
	event  *os.File // the eventfd the kernel signals on each completion
}

var (
	ringOnce sync.Once
	theRing  *uring // nil when io_uring is not available
	// ringDisabled makes Datasync and Write skip the ring, as where the
	// kernel refuses io_uring; tests set it to compare.
	ringDisabled atomic.Bool
	// errRefused wraps the error of a submission the ring refused: the
	// caller then does the work with a plain system call.
	errRefused = errors.New("fsutil: io_uring refused the request")
)

// getRing returns the process's ring, setting it up on the first call, or
// nil when the kernel refuses io_uring.
func getRing() *uring {
	if ringDisabled.Load() {
		return nil
	}
	ringOnce.Do(func() {
		r, err := newRing()
		if err == nil {
			theRing = r
			go r.reap()
		}
	})
	return theRing
}

func newRing() (*uring, error) {
	var p uringParams
	fd, _, errno := syscall.Syscall(sysIOUringSetup, ringEntries, uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, errno
	}
	ok := false
	defer func() {
		if !ok {
			syscall.Close(int(fd))
		}
	}()
	if p.features&ioringFeatSingleMmap == 0 {
		return nil, errors.New("fsutil: io_uring without single mmap")
	}
	sqSize := int(p.sqOff.array) + int(p.sqEntries)*4
	cqSize := int(p.cqOff.cqes) + int(p.cqEntries)*int(unsafe.Sizeof(uringCQE{}))
	size := max(sqSize, cqSize)
	rings, err := syscall.Mmap(int(fd), ioringOffSQRing, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		return nil, err
	}
	sqeBytes, err := syscall.Mmap(int(fd), ioringOffSQEs, int(p.sqEntries)*int(unsafe.Sizeof(uringSQE{})), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		syscall.Munmap(rings)
		return nil, err
	}
	efd, _, errno := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errno != 0 {
		syscall.Munmap(rings)
		syscall.Munmap(sqeBytes)
		return nil, errno
	}
	evfd := int32(efd)
	if _, _, errno := syscall.Syscall6(sysIOUringReg, fd, ioringRegisterEvtfd, uintptr(unsafe.Pointer(&evfd)), 1, 0, 0); errno != 0 {
		syscall.Close(int(efd))
		syscall.Munmap(rings)
		syscall.Munmap(sqeBytes)
		return nil, errno
	}
	base := unsafe.Pointer(&rings[0])
	at := func(off uint32) unsafe.Pointer { return unsafe.Add(base, off) }
	r := &uring{
		fd:      int(fd),
		slots:   make(chan struct{}, min(int(p.sqEntries), ringEntries)),
		writes:  p.features&ioringFeatRWCurPos != 0,
		sqTail:  (*uint32)(at(p.sqOff.tail)),
		sqMask:  *(*uint32)(at(p.sqOff.ringMask)),
		sqArray: unsafe.Slice((*uint32)(at(p.sqOff.array)), p.sqEntries),
		sqes:    unsafe.Slice((*uringSQE)(unsafe.Pointer(&sqeBytes[0])), p.sqEntries),
		waiting: make(map[uint64]chan int32),
		cqHead:  (*uint32)(at(p.cqOff.head)),
		cqTail:  (*uint32)(at(p.cqOff.tail)),
		cqMask:  *(*uint32)(at(p.cqOff.ringMask)),
		cqes:    unsafe.Slice((*uringCQE)(at(p.cqOff.cqes)), p.cqEntries),
		event:   os.NewFile(efd, "io_uring eventfd"),
	}
	for range cap(r.slots) {
		r.slots <- struct{}{}
	}
	ok = true
	return r, nil
}

// start queues sqe, a request on f's descriptor (which start fills in),
// returning the channel its result (a count, or a negated errno) will
// arrive on. The caller has taken a slot (<-r.slots) and gives it back
// once it has received the result. When there is no request in flight,
// start gives the slot back and returns a nil channel with the error: one
// matching os.ErrClosed when f is closed, or one wrapping errRefused when the ring refused the
// submission.
func (r *uring) start(f *os.File, sqe uringSQE) (<-chan int32, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		r.slots <- struct{}{}
		return nil, err
	}
	var ch <-chan int32
	var serr error
	if err := rc.Control(func(fd uintptr) {
		sqe.fd = int32(fd)
		ch, serr = r.submit(sqe)
	}); err != nil {
		r.slots <- struct{}{}
		return nil, closed("io_uring_enter", f)
	}
	if serr != nil {
		r.slots <- struct{}{}
		return nil, fmt.Errorf("%w: %w", errRefused, serr)
	}
	return ch, nil
}

// submit queues sqe and returns the channel its result will arrive on.
// sqe's descriptor must stay open until submit returns, when the kernel
// holds its own reference to the file (a request that is neither linked to
// another nor marked ioSQEAsync takes it while it is submitted), or, for
// the others, until the result has arrived. The caller holds a slot.
func (r *uring) submit(sqe uringSQE) (<-chan int32, error) {
	done := make(chan int32, 1)
	r.mu.Lock()
	r.next++
	id := r.next
	sqe.userData = id
	tail := atomic.LoadUint32(r.sqTail)
	i := tail & r.sqMask
	r.sqes[i] = sqe
	r.sqArray[i] = i
	atomic.StoreUint32(r.sqTail, tail+1)
	r.waiting[id] = done
	for {
		// A raw system call (see writeRaw): submitting does not wait, as
		// writes are marked ioSQEAsync and an fdatasync, which cannot be
		// tried without blocking, goes to the kernel's workers too.
		_, _, errno := syscall.RawSyscall6(sysIOUringEnter, uintptr(r.fd), 1, 0, 0, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			// Not consumed: take the entry back.
			atomic.StoreUint32(r.sqTail, tail)
			delete(r.waiting, id)
			r.mu.Unlock()
			return nil, errno
		}
		break
	}
	r.mu.Unlock()
	return done, nil
}

// reap delivers completions to their waiters, for as long as the process
// runs: it waits on the eventfd through the netpoller, then drains the
// completion queue.
func (r *uring) reap() {
	var b [8]byte
	// The eventfd is read with a raw system call (see writeRaw), inside
	// RawConn.Read, which waits for the poller while it has nothing.
	readFD := func(fd uintptr) bool {
		for {
			_, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false
			}
			return true
		}
	}
	rc, err := r.event.SyscallConn()
	for {
		// An eventfd read fails only if the descriptor is closed, which
		// it never is; the queue is drained in any case.
		if err == nil {
			rc.Read(readFD)
		} else {
			r.event.Read(b[:])
		}
		head := atomic.LoadUint32(r.cqHead)
		tail := atomic.LoadUint32(r.cqTail)
		if head == tail {
			continue
		}
		r.mu.Lock()
		for ; head != tail; head++ {
			c := r.cqes[head&r.cqMask]
			if ch, ok := r.waiting[c.userData]; ok {
				delete(r.waiting, c.userData)
				ch <- c.res
			}
		}
		atomic.StoreUint32(r.cqHead, head)
		r.mu.Unlock()
	}
}

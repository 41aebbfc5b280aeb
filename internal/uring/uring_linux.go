// Package uring is a minimal io_uring for network serving loops: one
// submission queue filled by one goroutine at a time, its completions read
// by that goroutine, and a ring of receive buffers the kernel picks from
// (multishot receive). It makes the system calls itself, without cgo.
//
// The kernel's structures and constants are those of
// include/uapi/linux/io_uring.h; the system call numbers are the same on
// every architecture but alpha.
package uring

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

const (
	sysSetup    = 425
	sysEnter    = 426
	sysRegister = 427

	offSQRing = 0
	offSQEs   = 0x10000000

	setupCoopTaskrun  = 1 << 8
	setupTaskrunFlag  = 1 << 9
	setupSingleIssuer = 1 << 12
	setupDeferTaskrun = 1 << 13
	featSingleMmap    = 1 << 0
	featExtArg        = 1 << 8

	enterGetevents = 1 << 0
	enterExtArg    = 1 << 3

	opRead        = 22
	opTimeout     = 11
	opAsyncCancel = 14
	opAccept      = 13
	opSend        = 26
	opRecv        = 27

	sqeBufferSelect = 1 << 5
	acceptMultishot = 1 << 0
	recvMultishot   = 1 << 1
	cqeFBuffer      = 1 << 0
	cqeFMore        = 1 << 1
	cqeBufferShift  = 16

	registerPbufRing = 22
)

// params is struct io_uring_params, with the fields used here named (as
// in the structs below, the others are blank but keep the layout).
type params struct {
	sqEntries uint32
	cqEntries uint32
	flags     uint32
	_         [2]uint32 // sq_thread_cpu, sq_thread_idle
	features  uint32
	_         [4]uint32 // wq_fd, resv
	sqOff     sqOffsets
	cqOff     cqOffsets
}

// sqOffsets is struct io_sqring_offsets.
type sqOffsets struct {
	head, tail, ringMask uint32
	_                    [3]uint32 // ring_entries, flags, dropped
	array                uint32
	_                    uint32 // resv1
	_                    uint64 // user_addr
}

// cqOffsets is struct io_cqring_offsets.
type cqOffsets struct {
	head, tail, ringMask uint32
	_                    [2]uint32 // ring_entries, overflow
	cqes                 uint32
	_                    [2]uint32 // flags, resv1
	_                    uint64    // user_addr
}

// sqe is struct io_uring_sqe.
type sqe struct {
	opcode   uint8
	flags    uint8
	ioprio   uint16
	fd       int32
	off      uint64
	addr     uint64
	len      uint32
	opFlags  uint32
	userData uint64
	_        uint16 // buf_group: 0, the one buffer ring
	_        uint16
	_        int32
	_        [2]uint64
}

// Completion is struct io_uring_cqe: the result of one request.
type Completion struct {
	UserData uint64 // the request's, as submitted
	Res      int32  // the system call's result: a count, or -errno
	Flags    uint32
}

// More reports whether the multishot request that gave c goes on.
func (c Completion) More() bool { return c.Flags&cqeFMore != 0 }

// Buffer returns the receive buffer the kernel filled for c, if any.
func (c Completion) Buffer() (id uint16, ok bool) {
	return uint16(c.Flags >> cqeBufferShift), c.Flags&cqeFBuffer != 0
}

// pbufReg is struct io_uring_buf_reg.
type pbufReg struct {
	ringAddr    uint64
	ringEntries uint32
	_           uint16 // bgid: 0
	_           uint16 // flags
	_           [3]uint64
}

// pbuf is struct io_uring_buf; the tail of a buffer ring is the 16-bit resv
// field of its first entry, written through the word it shares with bid
// (see GiveBack).
type pbuf struct {
	addr uint64
	len  uint32
	bid  uint16
	_    uint16
}

// Timespec is struct __kernel_timespec, a timeout's length.
type Timespec struct {
	Sec, Nsec int64
}

// getEventsArg is struct io_uring_getevents_arg.
type getEventsArg struct {
	sigmask   uint64
	sigmaskSz uint32
	_         uint32 // min_wait_usec (Linux 6.12; pad before): 0
	ts        uint64 // the wait's bound: a *Timespec
}

// The kernel's sizes of the structs above, checked when compiling: a wrong
// one makes an array length negative.
var (
	_ [unsafe.Sizeof(params{}) - 120]byte
	_ [120 - unsafe.Sizeof(params{})]byte
	_ [unsafe.Sizeof(sqe{}) - 64]byte
	_ [64 - unsafe.Sizeof(sqe{})]byte
	_ [unsafe.Sizeof(Completion{}) - 16]byte
	_ [16 - unsafe.Sizeof(Completion{})]byte
	_ [unsafe.Sizeof(pbufReg{}) - 40]byte
	_ [40 - unsafe.Sizeof(pbufReg{})]byte
	_ [unsafe.Sizeof(pbuf{}) - 16]byte
	_ [16 - unsafe.Sizeof(pbuf{})]byte
	_ [unsafe.Sizeof(getEventsArg{}) - 24]byte
	_ [24 - unsafe.Sizeof(getEventsArg{})]byte
)

// Options shape a ring.
type Options struct {
	Entries uint32 // submission queue entries (a power of two)
	// BufCount receive buffers of BufSize bytes each (BufCount a power of
	// two, at most 32768), which multishot receives fill.
	BufCount, BufSize int
	// SingleIssuer sets the ring up for submissions from one thread only,
	// its completions' work run when that thread enters the kernel
	// (IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, Linux 6.1;
	// an older kernel refuses it, ErrUnsupported): the goroutine that uses
	// it must be locked to its thread (runtime.LockOSThread) before New.
	// Without it, the kernel runs that work at the next system call of the
	// thread that submitted the request (IORING_SETUP_COOP_TASKRUN, or
	// interrupting it on kernels before 5.19).
	SingleIssuer bool
}

// Ring is one io_uring, its queues mapped into the process. Its methods
// must not be called concurrently: one goroutine owns it.
type Ring struct {
	fd      int
	mem     [][]byte // the mappings, for Close
	sqHead  *uint32
	sqTail  *uint32
	sqMask  uint32
	sqArray []uint32
	sqes    []sqe

	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           []Completion

	bufs     []pbuf // the buffer ring shared with the kernel
	bufMem   []byte
	bufSize  int
	bufCount int

	extArg  bool         // the kernel takes a bound on a wait (WaitFor)
	waitArg getEventsArg // WaitFor's, here so that the call allocates nothing
	waitTS  Timespec
}

// ErrUnsupported wraps the error of a kernel that refuses what a ring
// needs: io_uring itself (too old, kernel.io_uring_disabled, a seccomp
// filter) or its buffer rings (before Linux 5.19).
var ErrUnsupported = errors.New("io_uring not available")

func mmap(fd, off, size int) ([]byte, error) {
	return syscall.Mmap(fd, int64(off), size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE)
}

// New sets up a ring.
func New(o Options) (*Ring, error) {
	if o.BufCount <= 0 || o.BufCount&(o.BufCount-1) != 0 || o.BufCount > 1<<15 || o.BufSize <= 0 {
		return nil, fmt.Errorf("uring: BufCount %d must be a power of two up to 32768, BufSize %d positive", o.BufCount, o.BufSize)
	}
	var p params
	if o.SingleIssuer {
		p.flags = setupSingleIssuer | setupDeferTaskrun
	} else {
		p.flags = setupCoopTaskrun | setupTaskrunFlag
	}
	fd, _, errno := syscall.Syscall(sysSetup, uintptr(o.Entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno == syscall.EINVAL && !o.SingleIssuer { // a kernel without the cooperative flags
		p = params{}
		fd, _, errno = syscall.Syscall(sysSetup, uintptr(o.Entries), uintptr(unsafe.Pointer(&p)), 0)
	}
	if errno != 0 {
		return nil, fmt.Errorf("%w: io_uring_setup: %w", ErrUnsupported, errno)
	}
	r := &Ring{fd: int(fd)}
	if err := r.setup(&p, o); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *Ring) setup(p *params, o Options) error {
	if p.features&featSingleMmap == 0 {
		return fmt.Errorf("%w: kernel too old (no single mmap)", ErrUnsupported)
	}
	sqSize := int(p.sqOff.array + p.sqEntries*4)
	cqSize := int(p.cqOff.cqes + p.cqEntries*uint32(unsafe.Sizeof(Completion{})))
	rm, err := mmap(r.fd, offSQRing, max(sqSize, cqSize))
	if err != nil {
		return err
	}
	r.mem = append(r.mem, rm)
	r.extArg = p.features&featExtArg != 0
	sm, err := mmap(r.fd, offSQEs, int(p.sqEntries)*int(unsafe.Sizeof(sqe{})))
	if err != nil {
		return err
	}
	r.mem = append(r.mem, sm)
	at := func(off uint32) unsafe.Pointer { return unsafe.Pointer(&rm[off]) }
	r.sqHead = (*uint32)(at(p.sqOff.head))
	r.sqTail = (*uint32)(at(p.sqOff.tail))
	r.sqMask = *(*uint32)(at(p.sqOff.ringMask))
	r.sqArray = unsafe.Slice((*uint32)(at(p.sqOff.array)), p.sqEntries)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&sm[0])), p.sqEntries)
	r.cqHead = (*uint32)(at(p.cqOff.head))
	r.cqTail = (*uint32)(at(p.cqOff.tail))
	r.cqMask = *(*uint32)(at(p.cqOff.ringMask))
	r.cqes = unsafe.Slice((*Completion)(at(p.cqOff.cqes)), p.cqEntries)

	// The buffer ring must be page-aligned: anonymous memory is.
	bm, err := syscall.Mmap(-1, 0, o.BufCount*int(unsafe.Sizeof(pbuf{})), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|syscall.MAP_POPULATE)
	if err != nil {
		return err
	}
	r.mem = append(r.mem, bm)
	r.bufs = unsafe.Slice((*pbuf)(unsafe.Pointer(&bm[0])), o.BufCount)
	reg := pbufReg{ringAddr: uint64(uintptr(unsafe.Pointer(&bm[0]))), ringEntries: uint32(o.BufCount)}
	if _, _, errno := syscall.Syscall6(sysRegister, uintptr(r.fd), registerPbufRing, uintptr(unsafe.Pointer(&reg)), 1, 0, 0); errno != 0 {
		return fmt.Errorf("%w: io_uring_register buffer ring: %w", ErrUnsupported, errno)
	}
	r.bufMem = make([]byte, o.BufCount*o.BufSize)
	r.bufSize, r.bufCount = o.BufSize, o.BufCount
	for i := range o.BufCount {
		r.GiveBack(uint16(i))
	}
	return nil
}

// Close releases the ring. Requests still in flight are cancelled by the
// kernel.
func (r *Ring) Close() error {
	for _, m := range r.mem {
		syscall.Munmap(m)
	}
	r.mem = nil
	return syscall.Close(r.fd)
}

// Buf returns the first n bytes of receive buffer id, which the kernel
// filled; it is the caller's until GiveBack.
func (r *Ring) Buf(id uint16, n int) []byte {
	off := int(id) * r.bufSize
	return r.bufMem[off : off+n : off+r.bufSize]
}

// GiveBack hands receive buffer id back to the kernel.
func (r *Ring) GiveBack(id uint16) {
	// The ring's tail is the 16-bit resv field of entry 0, which shares a
	// 32-bit word with that entry's bid: the word is stored whole,
	// atomically, after the entry it publishes is written.
	word := (*uint32)(unsafe.Pointer(&r.bufs[0].bid))
	t := uint16(atomic.LoadUint32(word) >> 16)
	b := &r.bufs[int(t)&(r.bufCount-1)]
	b.addr = uint64(uintptr(unsafe.Pointer(&r.bufMem[int(id)*r.bufSize])))
	b.len = uint32(r.bufSize)
	b.bid = id
	atomic.StoreUint32(word, atomic.LoadUint32(word)&0xffff|uint32(t+1)<<16)
}

// next returns a zeroed submission entry, queued: the kernel takes it at
// the next Enter. A full queue is submitted first.
func (r *Ring) next() (*sqe, error) {
	for {
		tail := *r.sqTail
		if tail-atomic.LoadUint32(r.sqHead) <= r.sqMask {
			idx := tail & r.sqMask
			r.sqArray[idx] = idx
			e := &r.sqes[idx]
			*e = sqe{}
			// Published at once: the kernel reads the entry only when
			// told to by Enter, after the caller has filled it in.
			atomic.StoreUint32(r.sqTail, tail+1)
			return e, nil
		}
		if err := r.Enter(false); err != nil {
			return nil, err
		}
	}
}

// RecvMultishot queues a multishot receive from socket fd into the ring's
// receive buffers: a completion for every arrival of bytes (Res the count,
// Buffer the buffer), until one without More (the peer's end: Res 0; an
// error; no buffer left: -ENOBUFS; cancelled: -ECANCELED; or bytes, when
// the completion queue had no room for the next completion).
func (r *Ring) RecvMultishot(fd int, ud uint64) error {
	e, err := r.next()
	if err != nil {
		return err
	}
	e.opcode, e.fd, e.ioprio, e.flags, e.userData = opRecv, int32(fd), recvMultishot, sqeBufferSelect, ud
	return nil
}

// Read queues a read of fd into b, which must stay put until it completes.
func (r *Ring) Read(fd int, b []byte, ud uint64) error {
	e, err := r.next()
	if err != nil {
		return err
	}
	e.opcode, e.fd, e.userData = opRead, int32(fd), ud
	e.addr, e.len = uint64(uintptr(unsafe.Pointer(&b[0]))), uint32(len(b))
	return nil
}

// Send queues a send of b to socket fd; b must stay put until it completes.
func (r *Ring) Send(fd int, b []byte, ud uint64) error {
	e, err := r.next()
	if err != nil {
		return err
	}
	e.opcode, e.fd, e.userData = opSend, int32(fd), ud
	e.addr, e.len = uint64(uintptr(unsafe.Pointer(&b[0]))), uint32(len(b))
	return nil
}

// AcceptMultishot queues a multishot accept on listening socket fd: a
// completion for every connection, Res its socket (close-on-exec).
func (r *Ring) AcceptMultishot(fd int, ud uint64) error {
	e, err := r.next()
	if err != nil {
		return err
	}
	e.opcode, e.fd, e.ioprio, e.userData = opAccept, int32(fd), acceptMultishot, ud
	e.opFlags = syscall.SOCK_CLOEXEC
	return nil
}

// Timeout queues a timeout that completes (Res -ETIME) once ts has passed;
// ts must stay put until then.
func (r *Ring) Timeout(ts *Timespec, ud uint64) error {
	e, err := r.next()
	if err != nil {
		return err
	}
	e.opcode, e.userData = opTimeout, ud
	e.addr, e.len = uint64(uintptr(unsafe.Pointer(ts))), 1
	return nil
}

// Cancel queues the cancellation of the request submitted with user data
// target; the request then completes (-ECANCELED, unless it completed
// first), and so does this one.
func (r *Ring) Cancel(target, ud uint64) error {
	e, err := r.next()
	if err != nil {
		return err
	}
	e.opcode, e.userData, e.addr = opAsyncCancel, ud, target
	e.fd = -1
	return nil
}

// Enter submits the queued entries and, with wait, waits for at least one
// completion. Without wait it returns at once, with the completions the
// kernel has by then (a ring set up with SingleIssuer posts them only in
// Enter), and tells the Go scheduler nothing: the call does not block.
// With wait, the scheduler knows the thread waits in the kernel and lets
// the others run meanwhile.
func (r *Ring) Enter(wait bool) error {
	for {
		n := uintptr(*r.sqTail - atomic.LoadUint32(r.sqHead))
		var errno syscall.Errno
		if wait {
			_, _, errno = syscall.Syscall6(sysEnter, uintptr(r.fd), n, 1, enterGetevents, 0, 0)
		} else {
			_, _, errno = syscall.RawSyscall6(sysEnter, uintptr(r.fd), n, 0, enterGetevents, 0, 0)
		}
		switch errno {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		default:
			return fmt.Errorf("io_uring_enter: %w", errno)
		}
	}
}

// WaitFor waits up to d for a completion without telling the Go
// scheduler, as Enter(false) does not: the thread keeps its P while it
// waits, so no other goroutine runs on that P meanwhile, and the
// scheduler's monitor thread is not woken to take the P back (as it does
// from a wait it is told of once that lasts 20 µs) nor another thread to
// run it. It returns nil at the bound, or when a signal ends the wait;
// Ready says whether a completion came. On a kernel that takes no bound
// on a wait (before Linux 5.11) it does not wait.
func (r *Ring) WaitFor(d time.Duration) error {
	if !r.extArg {
		return nil
	}
	r.waitTS = Timespec{Sec: int64(d / time.Second), Nsec: int64(d % time.Second)}
	r.waitArg = getEventsArg{ts: uint64(uintptr(unsafe.Pointer(&r.waitTS)))}
	n := uintptr(*r.sqTail - atomic.LoadUint32(r.sqHead))
	_, _, errno := syscall.RawSyscall6(sysEnter, uintptr(r.fd), n, 1, enterGetevents|enterExtArg,
		uintptr(unsafe.Pointer(&r.waitArg)), unsafe.Sizeof(r.waitArg))
	switch errno {
	case 0, syscall.ETIME, syscall.EINTR:
		return nil
	default:
		return fmt.Errorf("io_uring_enter: %w", errno)
	}
}

// Ready reports whether completions wait to be handled.
func (r *Ring) Ready() bool { return *r.cqHead != atomic.LoadUint32(r.cqTail) }

// Completions calls fn for every completion ready, in order, and then
// frees their slots.
func (r *Ring) Completions(fn func(Completion)) {
	head := *r.cqHead
	tail := atomic.LoadUint32(r.cqTail)
	for ; head != tail; head++ {
		fn(r.cqes[head&r.cqMask])
	}
	atomic.StoreUint32(r.cqHead, head)
}

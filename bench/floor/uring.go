//go:build linux

package main

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// The io_uring system calls have the same numbers on every architecture
// but alpha, and the constants below are the kernel's (include/uapi/linux/
// io_uring.h); golang.org/x/sys/unix has the numbers but not the rest.
const (
	sysIOUringSetup    = 425
	sysIOUringEnter    = 426
	sysIOUringRegister = 427

	ioringOffSQRing = 0
	ioringOffSQEs   = 0x10000000

	ioringSetupSingleIssuer = 1 << 12
	ioringSetupDeferTaskrun = 1 << 13
	ioringFeatSingleMmap    = 1 << 0

	ioringEnterGetevents = 1 << 0

	ioringOpAccept = 13
	ioringOpSend   = 26
	ioringOpRecv   = 27

	iosqeBufferSelect     = 1 << 5
	ioringAcceptMultishot = 1 << 0
	ioringRecvMultishot   = 1 << 1
	ioringCQEFBuffer      = 1 << 0
	ioringCQEFMore        = 1 << 1
	ioringCQEBufferShift  = 16

	ioringRegisterPbufRing = 22
)

// uringParams is struct io_uring_params, with the fields used here named
// (as in the structs below, the others are blank but keep the layout).
type uringParams struct {
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
	_        uint64 // off
	addr     uint64
	len      uint32
	opFlags  uint32
	userData uint64
	_        uint16 // buf_group: 0, the one buffer ring
	_        uint16
	_        int32
	_        [2]uint64
}

// cqe is struct io_uring_cqe.
type cqe struct {
	userData uint64
	res      int32
	flags    uint32
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
// (see giveBuf).
type pbuf struct {
	addr uint64
	len  uint32
	bid  uint16
	_    uint16
}

// The kernel's sizes of the structs above, checked when compiling: a wrong
// one makes an array length negative.
var (
	_ [unsafe.Sizeof(uringParams{}) - 120]byte
	_ [120 - unsafe.Sizeof(uringParams{})]byte
	_ [unsafe.Sizeof(sqe{}) - 64]byte
	_ [64 - unsafe.Sizeof(sqe{})]byte
	_ [unsafe.Sizeof(cqe{}) - 16]byte
	_ [16 - unsafe.Sizeof(cqe{})]byte
	_ [unsafe.Sizeof(pbufReg{}) - 40]byte
	_ [40 - unsafe.Sizeof(pbufReg{})]byte
	_ [unsafe.Sizeof(pbuf{}) - 16]byte
	_ [16 - unsafe.Sizeof(pbuf{})]byte
)

// ring is one io_uring: its submission and completion queues mapped into
// the process, and a ring of receive buffers the kernel picks from.
type ring struct {
	fd int

	sqHead, sqTail *uint32
	sqMask         uint32
	sqArray        []uint32
	sqes           []sqe

	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           []cqe

	bufs     []pbuf // the buffer ring shared with the kernel
	bufMem   []byte
	bufSize  int
	bufCount int
}

func mmap(fd, off, size int) ([]byte, error) {
	return syscall.Mmap(fd, int64(off), size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE)
}

func newRing(entries uint32, bufCount, bufSize int) (*ring, error) {
	var p uringParams
	p.flags = ioringSetupSingleIssuer | ioringSetupDeferTaskrun
	fd, _, errno := syscall.Syscall(sysIOUringSetup, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno == syscall.EINVAL { // a kernel without those flags
		p = uringParams{}
		fd, _, errno = syscall.Syscall(sysIOUringSetup, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	}
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", errno)
	}
	if p.features&ioringFeatSingleMmap == 0 {
		return nil, errors.New("io_uring: kernel too old (no single mmap)")
	}
	r := &ring{fd: int(fd)}
	sqSize := int(p.sqOff.array + p.sqEntries*4)
	cqSize := int(p.cqOff.cqes + p.cqEntries*uint32(unsafe.Sizeof(cqe{})))
	rm, err := mmap(r.fd, ioringOffSQRing, max(sqSize, cqSize))
	if err != nil {
		return nil, err
	}
	sm, err := mmap(r.fd, ioringOffSQEs, int(p.sqEntries)*int(unsafe.Sizeof(sqe{})))
	if err != nil {
		return nil, err
	}
	at := func(off uint32) unsafe.Pointer { return unsafe.Pointer(&rm[off]) }
	r.sqHead = (*uint32)(at(p.sqOff.head))
	r.sqTail = (*uint32)(at(p.sqOff.tail))
	r.sqMask = *(*uint32)(at(p.sqOff.ringMask))
	r.sqArray = unsafe.Slice((*uint32)(at(p.sqOff.array)), p.sqEntries)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&sm[0])), p.sqEntries)
	r.cqHead = (*uint32)(at(p.cqOff.head))
	r.cqTail = (*uint32)(at(p.cqOff.tail))
	r.cqMask = *(*uint32)(at(p.cqOff.ringMask))
	r.cqes = unsafe.Slice((*cqe)(at(p.cqOff.cqes)), p.cqEntries)

	// The buffer ring must be page-aligned: anonymous memory is.
	bm, err := syscall.Mmap(-1, 0, bufCount*int(unsafe.Sizeof(pbuf{})), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|syscall.MAP_POPULATE)
	if err != nil {
		return nil, err
	}
	r.bufs = unsafe.Slice((*pbuf)(unsafe.Pointer(&bm[0])), bufCount)
	reg := pbufReg{ringAddr: uint64(uintptr(unsafe.Pointer(&bm[0]))), ringEntries: uint32(bufCount)}
	if _, _, errno := syscall.Syscall6(sysIOUringRegister, fd, ioringRegisterPbufRing, uintptr(unsafe.Pointer(&reg)), 1, 0, 0); errno != 0 {
		return nil, fmt.Errorf("io_uring_register buffer ring: %w", errno)
	}
	r.bufMem = make([]byte, bufCount*bufSize)
	r.bufSize, r.bufCount = bufSize, bufCount
	for i := range bufCount {
		r.giveBuf(uint16(i))
	}
	return r, nil
}

// giveBuf hands receive buffer bid back to the kernel.
func (r *ring) giveBuf(bid uint16) {
	// The ring's tail is the 16-bit resv field of entry 0, which shares a
	// 32-bit word with that entry's bid: the word is stored whole,
	// atomically, after the entry it publishes is written.
	word := (*uint32)(unsafe.Pointer(&r.bufs[0].bid))
	t := uint16(atomic.LoadUint32(word) >> 16)
	b := &r.bufs[int(t)&(r.bufCount-1)]
	b.addr = uint64(uintptr(unsafe.Pointer(&r.bufMem[int(bid)*r.bufSize])))
	b.len = uint32(r.bufSize)
	b.bid = bid
	atomic.StoreUint32(word, atomic.LoadUint32(word)&0xffff|uint32(t+1)<<16)
}

// next returns a zeroed submission entry to fill in and then publish,
// submitting what is queued first when the queue is full.
func (r *ring) next() (*sqe, error) {
	for {
		tail := *r.sqTail
		if tail-atomic.LoadUint32(r.sqHead) <= r.sqMask {
			idx := tail & r.sqMask
			r.sqArray[idx] = idx
			e := &r.sqes[idx]
			*e = sqe{}
			return e, nil
		}
		if err := r.enter(0); err != nil {
			return nil, err
		}
	}
}

// publish queues the entry next returned last, once it is filled in: the
// kernel takes queued entries in enter.
func (r *ring) publish() { atomic.StoreUint32(r.sqTail, *r.sqTail+1) }

// enter submits the queued entries and waits for at least wait completions.
func (r *ring) enter(wait uint32) error {
	flags := uintptr(0)
	if wait > 0 {
		flags = ioringEnterGetevents
	}
	for {
		n := *r.sqTail - atomic.LoadUint32(r.sqHead)
		_, _, errno := syscall.Syscall6(sysIOUringEnter, uintptr(r.fd), uintptr(n), uintptr(wait), flags, 0, 0)
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

// uconn is one connection of the io_uring loop: the replies being sent
// (one send in flight at a time, so its buffer stays put) and those waiting.
type uconn struct {
	fd       int
	out      []byte
	sent     int
	pend     []byte
	inflight bool
	closed   bool
}

const (
	kindAccept = iota + 1
	kindRecv
	kindSend
)

// serveURing serves on one goroutine locked to its thread (a ring set up
// for a single issuer takes submissions from that thread only) with one
// io_uring: a multishot accept, a multishot receive per connection into
// buffers the kernel picks from a registered ring, and sends; everything
// one round of completions asks for is submitted with the next wait, in one
// system call for all connections.
func serveURing(lfd int) error {
	runtime.LockOSThread()
	r, err := newRing(4096, 1024, 16<<10)
	if err != nil {
		return err
	}
	conns := map[uint64]*uconn{}
	var nextID uint64
	ud := func(kind, id uint64) uint64 { return kind<<56 | id }
	accept := func() error {
		e, err := r.next()
		if err != nil {
			return err
		}
		e.opcode, e.fd, e.ioprio, e.userData = ioringOpAccept, int32(lfd), ioringAcceptMultishot, ud(kindAccept, 0)
		e.opFlags = syscall.SOCK_CLOEXEC
		r.publish()
		return nil
	}
	if err := accept(); err != nil {
		return err
	}
	recv := func(id uint64, c *uconn) error {
		e, err := r.next()
		if err != nil {
			return err
		}
		e.opcode, e.fd, e.ioprio, e.flags, e.userData = ioringOpRecv, int32(c.fd), ioringRecvMultishot, iosqeBufferSelect, ud(kindRecv, id)
		r.publish()
		return nil
	}
	send := func(id uint64, c *uconn) error {
		e, err := r.next()
		if err != nil {
			return err
		}
		e.opcode, e.fd, e.userData = ioringOpSend, int32(c.fd), ud(kindSend, id)
		e.addr = uint64(uintptr(unsafe.Pointer(&c.out[c.sent])))
		e.len = uint32(len(c.out) - c.sent)
		c.inflight = true
		r.publish()
		return nil
	}
	// closeConn shuts the socket down, which ends its multishot receive
	// (the ring holds the socket open until then), and closes it.
	closeConn := func(id uint64, c *uconn) {
		if !c.closed {
			c.closed = true
			syscall.Shutdown(c.fd, syscall.SHUT_RDWR)
			syscall.Close(c.fd)
		}
		if !c.inflight {
			delete(conns, id)
		}
	}
	for {
		if err := r.enter(1); err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return err
		}
		head := *r.cqHead
		tail := atomic.LoadUint32(r.cqTail)
		for ; head != tail; head++ {
			ev := r.cqes[head&r.cqMask]
			kind, id := ev.userData>>56, ev.userData&(1<<56-1)
			switch kind {
			case kindAccept:
				if ev.res >= 0 {
					nextID++
					c := &uconn{fd: int(ev.res)}
					conns[nextID] = c
					syscall.SetsockoptInt(c.fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
					if err := recv(nextID, c); err != nil {
						return err
					}
				}
				if ev.flags&ioringCQEFMore == 0 {
					if err := accept(); err != nil {
						return err
					}
				}
			case kindRecv:
				c := conns[id]
				if ev.flags&ioringCQEFBuffer != 0 {
					bid := uint16(ev.flags >> ioringCQEBufferShift)
					if c != nil && !c.closed && ev.res > 0 {
						b := r.bufMem[int(bid)*r.bufSize : int(bid)*r.bufSize+int(ev.res)]
						c.pend = replies(c.pend, b)
					}
					r.giveBuf(bid)
				}
				if c == nil || c.closed {
					continue
				}
				if ev.res == 0 || (ev.res < 0 && ev.res != -int32(syscall.ENOBUFS)) {
					closeConn(id, c)
					continue
				}
				if !c.inflight && len(c.pend) > 0 {
					c.out, c.pend = c.pend, c.out[:0]
					c.sent = 0
					if err := send(id, c); err != nil {
						return err
					}
				}
				if ev.flags&ioringCQEFMore == 0 {
					if err := recv(id, c); err != nil {
						return err
					}
				}
			case kindSend:
				c := conns[id]
				if c == nil {
					continue
				}
				c.inflight = false
				if c.closed || ev.res < 0 {
					closeConn(id, c)
					continue
				}
				c.sent += int(ev.res)
				if c.sent < len(c.out) {
					if err := send(id, c); err != nil {
						return err
					}
					continue
				}
				if len(c.pend) > 0 {
					c.out, c.pend = c.pend, c.out[:0]
					c.sent = 0
					if err := send(id, c); err != nil {
						return err
					}
				}
			}
		}
		atomic.StoreUint32(r.cqHead, head)
	}
}

// listenRaw returns a listening socket on addr (IPv4), with flags
// (syscall.SOCK_NONBLOCK or 0).
func listenRaw(addr string, flags int) (int, error) {
	tcp, err := net.ResolveTCPAddr("tcp4", addr)
	if err != nil {
		return -1, err
	}
	lfd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|flags, 0)
	if err != nil {
		return -1, err
	}
	if err := syscall.SetsockoptInt(lfd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		return -1, err
	}
	sa := &syscall.SockaddrInet4{Port: tcp.Port}
	copy(sa.Addr[:], tcp.IP.To4())
	if err := syscall.Bind(lfd, sa); err != nil {
		return -1, err
	}
	if err := syscall.Listen(lfd, 1024); err != nil {
		return -1, err
	}
	return lfd, nil
}

//go:build unix

package sockio

import (
	"syscall"
	"unsafe"
)

// Supported says that Read and Write work on this platform.
const Supported = true

// Read makes one read(2) from the non-blocking socket fd into b, retried
// when a signal interrupts it; ErrWait when the socket has nothing. b must
// not be empty.
//
// It is made with syscall.RawSyscall, which does not tell the scheduler
// that the goroutine may block (a non-blocking socket's read never does):
// the runtime's monitor thread, which wakes every 20 µs while it keeps
// finding goroutines in such calls, then has no system call to hand the
// goroutine's P away from, and sleeps longer and longer.
func Read(fd uintptr, b []byte) (int, error) { return call(syscall.SYS_READ, fd, b) }

// Write makes one write(2) of b to the non-blocking socket fd, retried
// when a signal interrupts it, with syscall.RawSyscall as Read; ErrWait
// when the socket takes nothing. It may write part of b. b must not be
// empty.
func Write(fd uintptr, b []byte) (int, error) { return call(syscall.SYS_WRITE, fd, b) }

// call makes the system call trap (read or write) on fd and b, as Read and
// Write say.
func call(trap, fd uintptr, b []byte) (int, error) {
	for {
		n, _, e := syscall.RawSyscall(trap, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch e {
		case 0:
			return int(n), nil
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, ErrWait
		}
		return 0, e
	}
}

//go:build unix

package sockio

import (
	"syscall"
	"unsafe"
)

// Supported says that Read reads sockets on this platform.
const Supported = true

// Read makes one read from the non-blocking socket fd into b, retried when
// a signal interrupts it; ErrWait when the socket has nothing.
func Read(fd uintptr, b []byte) (int, error) {
	for {
		n, err := syscall.Read(int(fd), b)
		switch err {
		case nil:
			return n, nil
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, ErrWait
		}
		return 0, err
	}
}

// ReadRaw is Read made with syscall.RawSyscall, which does not tell the
// scheduler that the goroutine may block (a non-blocking socket's read
// never does): the runtime's monitor thread then has no system call to hand
// the goroutine's P away from, and sleeps (internal/server's raw reads).
// b must not be empty.
func ReadRaw(fd uintptr, b []byte) (int, error) {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
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

//go:build unix

package sockio

import "syscall"

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

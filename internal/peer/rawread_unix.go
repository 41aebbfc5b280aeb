//go:build unix

package peer

import "syscall"

// rawReads says that connections without TLS are read through their file
// descriptors (rawread.go).
const rawReads = true

// readSocket makes one read from the socket fd into b; errWait when it has
// nothing.
func readSocket(fd uintptr, b []byte) (int, error) {
	for {
		n, err := syscall.Read(int(fd), b)
		switch err {
		case nil:
			return n, nil
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, errWait
		}
		return 0, err
	}
}

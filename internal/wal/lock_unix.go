//go:build unix

package wal

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on f that lasts until f is closed or the
// process ends.
func lockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return ErrLocked
	}
	return err
}

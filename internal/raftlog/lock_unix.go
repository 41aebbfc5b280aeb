//go:build unix

package raftlog

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on f that lasts until f is closed or the
// process ends. The lock belongs to the open file, so a second Open in the
// same process fails too.
func lockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return ErrLocked
	}
	return err
}

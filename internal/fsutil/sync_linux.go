package fsutil

import (
	"os"
	"syscall"
)

// Datasync flushes f's data, and the metadata needed to read it back, to
// stable storage.
func Datasync(f *os.File) error {
	if beforeDatasync != nil {
		if err := beforeDatasync(); err != nil {
			return err
		}
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return serr
}

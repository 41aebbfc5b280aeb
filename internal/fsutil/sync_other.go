//go:build !linux

package fsutil

import "os"

// Datasync flushes f to stable storage.
func Datasync(f *os.File) error {
	if beforeDatasync != nil {
		if err := beforeDatasync(); err != nil {
			return err
		}
	}
	return f.Sync()
}

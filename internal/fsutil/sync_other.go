//go:build !linux

package fsutil

import "os"

// Datasync flushes f to stable storage.
func Datasync(f *os.File) error { return f.Sync() }

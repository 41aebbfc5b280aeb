//go:build !linux

package fsutil

import (
	"os"
	"time"
)

// Datasync flushes f to stable storage.
func Datasync(f *os.File) error {
	if err := injectFaults(time.Sleep); err != nil {
		return err
	}
	return f.Sync()
}

// DatasyncAll flushes each of files as Datasync does; errs[i] receives the
// result for files[i]. It is safe for concurrent use.
func DatasyncAll(files []*os.File, errs []error) {
	for i, f := range files {
		errs[i] = Datasync(f)
	}
}

// DatasyncInline is Datasync here.
func DatasyncInline(f *os.File) error { return Datasync(f) }

// DatasyncHeld is Datasync here.
func DatasyncHeld(f *os.File) error { return Datasync(f) }

// SyncsInline reports false: DatasyncInline does not keep the P here.
func SyncsInline() bool { return false }

// Package fsutil holds the file-system steps that the logs on disk share:
// flushing a file's data, making a directory's entries durable, replacing a
// file atomically, and locking a directory against a second process.
package fsutil

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// beforeDatasync, when set, runs at the start of every Datasync and
// DatasyncInline, and returns a delay and an error: the call first waits
// that long, as for a disk slow to sync (DatasyncInline keeping its P
// meanwhile, as its fdatasync would), then an error is the call's, and the
// file is not synced. It is nil except in builds with the faults tag
// (faults.go), so a normal build pays one nil check.
var beforeDatasync func() (time.Duration, error)

// injectFaults runs beforeDatasync, when set: it waits the delay with
// wait and returns the error.
func injectFaults(wait func(time.Duration)) error {
	if beforeDatasync == nil {
		return nil
	}
	d, err := beforeDatasync()
	if d > 0 {
		wait(d)
	}
	return err
}

// ErrLocked is returned by Lock when another process holds the lock.
var ErrLocked = errors.New("fsutil: locked by another process")

// SyncDir fsyncs a directory so that entries created, renamed or removed in
// it are durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// WriteFileAtomic writes the parts of data one after the other to path
// through a temporary file (path + ".tmp"), fsynced and renamed over it,
// then fsyncs the directory: a crash leaves either the old file or the new
// one, never a mix.
func WriteFileAtomic(path string, data ...[]byte) error {
	return WriteFileAtomicFunc(path, func(f *os.File) error {
		for _, b := range data {
			if _, err := f.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
}

// WriteFileAtomicFunc is WriteFileAtomic for a file that write writes,
// into the temporary file it is given.
func WriteFileAtomicFunc(path string, write func(f *os.File) error) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// maxGather bounds the times Gather yields.
const maxGather = 64

// Gather lets the goroutines that are ready run before the caller holds
// its P in a system call (DatasyncInline): it yields (runtime.Gosched, or
// yield when set) until a yield leaves written unchanged, so that what
// they have ready to log (written tells the log's end) shares the
// caller's fdatasync, as Redis's event loop runs every ready client
// before it fsyncs. While records keep coming it stops after maxGather
// yields: the later ones wait for the next fdatasync.
func Gather(written func() int64, yield func()) {
	if yield == nil {
		yield = runtime.Gosched
	}
	for range maxGather {
		before := written()
		yield()
		if written() == before {
			return
		}
	}
}

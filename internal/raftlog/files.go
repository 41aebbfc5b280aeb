package raftlog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/data-cluster/data-cluster/internal/fsutil"
)

const (
	lockName   = "LOCK"
	segExt     = ".log"
	snapExt    = ".snap"
	tmpExt     = ".tmp"
	corruptExt = ".corrupt"
)

// fileName returns the name of segment or snapshot n.
func fileName(n uint64, ext string) string { return fmt.Sprintf("%020d%s", n, ext) }

// mkdir creates dir if it is missing and makes its entry in the parent
// directory durable.
func mkdir(dir string) error {
	_, err := os.Stat(dir)
	if err == nil {
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return fsutil.SyncDir(filepath.Dir(filepath.Clean(dir)))
}

// lock takes the directory's lock file, which stays locked until the
// returned file is closed.
func lock(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, ErrLocked) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, err
	}
	return f, nil
}

// lockFile takes the exclusive lock of f, which lasts until f is closed;
// ErrLocked if another open file holds it.
func lockFile(f *os.File) error {
	err := fsutil.Lock(f)
	if errors.Is(err, fsutil.ErrLocked) {
		return ErrLocked
	}
	return err
}

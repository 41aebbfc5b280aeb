package raftlog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

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

// listing is what a log directory holds.
type listing struct {
	segs  []uint64 // segment numbers, ascending
	snaps []uint64 // snapshot indexes, ascending
	tmps  []string // leftovers of interrupted snapshot writes
}

func list(dir string) (listing, error) {
	var ls listing
	ents, err := os.ReadDir(dir)
	if err != nil {
		return ls, err
	}
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, tmpExt):
			ls.tmps = append(ls.tmps, name)
		case strings.HasSuffix(name, segExt):
			if n, err := strconv.ParseUint(strings.TrimSuffix(name, segExt), 10, 64); err == nil {
				ls.segs = append(ls.segs, n)
			}
		case strings.HasSuffix(name, snapExt):
			if n, err := strconv.ParseUint(strings.TrimSuffix(name, snapExt), 10, 64); err == nil {
				ls.snaps = append(ls.snaps, n)
			}
		}
	}
	slices.Sort(ls.segs)
	slices.Sort(ls.snaps)
	return ls, nil
}

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

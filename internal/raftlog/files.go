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

// writeFileAtomic writes path through a temporary file, fsynced and renamed
// over it, then fsyncs the directory.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + tmpExt
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
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
	return syncDir(filepath.Dir(path))
}

// syncDir fsyncs a directory so that entries created, renamed or removed in
// it are durable.
func syncDir(dir string) error {
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
	return syncDir(filepath.Dir(filepath.Clean(dir)))
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

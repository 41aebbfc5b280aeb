package wal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/data-cluster/data-cluster/internal/fsutil"
)

// Repair makes a damaged data directory loadable again, keeping everything it
// removes. In each shard of the current generation it reads the snapshot and
// the log segments as recovery does; at the first damaged record it copies
// the bytes from there to the end of the file into a .corrupt file beside
// it, truncates the file there, and moves the shard's later segments aside
// (renamed to .corrupt), so that what remains is a whole prefix of the
// shard's history. A snapshot cut this way gets a new end record; a torn tail
// is truncated as on start. The directory must not be in use.
//
// It returns one line per change made; none when nothing was damaged.
func Repair(dir string) ([]string, error) {
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("wal: %s is not a data directory (no %s)", dir, lockName)
	}
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if err := lockFile(lock); err != nil {
		if errors.Is(err, ErrLocked) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, err
	}
	m, ok, err := readManifest(dir)
	if err != nil {
		return nil, fmt.Errorf("%w; it cannot be repaired: restore the directory from a backup", err)
	}
	if !ok {
		return nil, nil
	}
	var done []string
	for i := range m.shards {
		d, err := repairShard(shardDir(dir, m.gen, i), i)
		done = append(done, d...)
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// repairShard repairs one shard directory.
func repairShard(dir string, shard int) ([]string, error) {
	var done []string
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return done, err
		}
		done = append(done, fmt.Sprintf("%s: shard directory was missing; created it empty", dir))
	}
	sf, err := listShard(dir)
	if err != nil {
		return done, err
	}
	var snap uint64
	hasSnap := len(sf.snaps) > 0
	if hasSnap {
		snap = sf.snaps[len(sf.snaps)-1]
	}
	// The segments recovery reads: consecutive from the snapshot's (or 1).
	first := uint64(1)
	if hasSnap {
		first = snap
	}
	var logs, aside []uint64
	for _, n := range sf.logs {
		switch {
		case n < first:
		case n == first+uint64(len(logs)) && len(aside) == 0:
			logs = append(logs, n)
		default:
			aside = append(aside, n)
		}
	}
	if len(aside) > 0 {
		done = append(done, fmt.Sprintf("%s: log segment %d is missing", dir, first+uint64(len(logs))))
	}
	if hasSnap {
		path := sf.path(snap, snapExt)
		res, err := readFile(path, kindSnapshot, shard, snap, false, nil)
		var ce *CorruptError
		if errors.As(err, &ce) && ce.Offset >= 0 {
			d, err := cutSnapshot(path, ce, shard, snap, res.records, res.ended)
			done = append(done, d...)
			if err != nil {
				return done, err
			}
		} else if err != nil {
			return done, err
		}
	}
	if len(logs) == 0 {
		f, err := createSegment(dir, shard, first)
		if err != nil {
			return done, err
		}
		f.Close()
		logs = append(logs, first)
		done = append(done, fmt.Sprintf("%s: created the missing log segment %d, empty", dir, first))
	}
	last := len(logs) - 1
	for last > 0 {
		fi, err := os.Stat(sf.path(logs[last], logExt))
		if err != nil {
			return done, err
		}
		if fi.Size() > headerLen(shard, logs[last]) {
			break
		}
		last--
	}
	for k, seq := range logs {
		path := sf.path(seq, logExt)
		res, err := readFile(path, kindLog, shard, seq, k >= last, nil)
		var ce *CorruptError
		if errors.As(err, &ce) && ce.Offset >= 0 {
			saved, err := copyOut(path, ce.Offset)
			if err != nil {
				return done, err
			}
			if err := truncateLog(path, ce.Offset, shard, seq); err != nil {
				return done, err
			}
			done = append(done, fmt.Sprintf("%s: %s at offset %d: truncated there, dropping %d bytes (kept in %s)",
				path, ce.Reason, ce.Offset, res.size-ce.Offset, saved))
			aside = append(aside, logs[k+1:]...)
			break
		}
		if err != nil {
			return done, err
		}
		if res.torn != nil {
			if err := truncateLog(path, res.end, shard, seq); err != nil {
				return done, err
			}
			done = append(done, fmt.Sprintf("%s: torn record at offset %d: truncated there, dropping %d bytes",
				path, res.end, res.size-res.end))
		}
	}
	for _, n := range aside {
		path := sf.path(n, logExt)
		to, err := freeName(path + corruptExt)
		if err != nil {
			return done, err
		}
		if err := os.Rename(path, to); err != nil {
			return done, err
		}
		done = append(done, fmt.Sprintf("%s: follows the damage; moved aside to %s", path, to))
	}
	return done, fsutil.SyncDir(dir)
}

// cutSnapshot truncates a damaged snapshot at the damage, keeping the cut
// bytes, and ends it with a header (if that was lost) and an end record
// counting the entries kept.
func cutSnapshot(path string, ce *CorruptError, shard int, seq uint64, kept int64, ended bool) ([]string, error) {
	saved, err := copyOut(path, ce.Offset)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = f.Truncate(ce.Offset)
	}
	var tail []byte
	if ce.Offset == 0 {
		tail = appendHeader(tail, kindSnapshot, shard, seq)
		kept = 0
	}
	if !ended {
		tail = appendEnd(tail, uint64(kept))
	}
	if err == nil {
		_, err = f.WriteAt(tail, ce.Offset)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return []string{fmt.Sprintf("%s: %s at offset %d: truncated there, dropping %d bytes (kept in %s); %d entries remain",
		path, ce.Reason, ce.Offset, fi.Size()-ce.Offset, saved, kept)}, nil
}

// freeName returns name, or name.1, name.2 … whichever does not exist.
func freeName(name string) (string, error) {
	f, p, err := createFree(name)
	if err != nil {
		return "", err
	}
	f.Close()
	return p, nil
}

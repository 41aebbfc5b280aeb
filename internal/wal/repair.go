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
// removes. It reads each shard's newest snapshot of the current generation,
// and the journal from the oldest segment a snapshot starts from, as
// recovery does; at the first damaged record of a file it copies the bytes
// from there to the end of the file into a .corrupt file beside it, and
// truncates the file there. In the journal it also moves the later segments
// aside (renamed to .corrupt), so that what remains is a whole prefix of the
// history of every shard. A snapshot cut this way gets a new end record; a
// torn tail is truncated as on start. A directory of the previous layout (a
// log per shard) is repaired the same way, shard by shard. The directory
// must not be in use.
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
	first := uint64(1<<64 - 1)
	for i := range m.shards {
		sd := shardDir(dir, m.gen, i)
		d, snap, err := repairSnapshot(sd, i)
		done = append(done, d...)
		if err != nil {
			return done, err
		}
		first = min(first, snap)
		if m.version == 1 {
			d, err := repairSegments(sd, kindLog, i, snap)
			done = append(done, d...)
			if err != nil {
				return done, err
			}
		}
	}
	if m.version == manifestVersion {
		d, err := repairSegments(logDir(dir, m.gen), kindJournal, m.shards, first)
		done = append(done, d...)
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// repairSnapshot repairs the newest snapshot of a shard directory, creating
// the directory if it is missing, and returns the segment that snapshot
// starts from (1 without one).
func repairSnapshot(dir string, shard int) ([]string, uint64, error) {
	var done []string
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return done, 0, err
		}
		done = append(done, fmt.Sprintf("%s: shard directory was missing; created it empty", dir))
	}
	sf, err := listShard(dir)
	if err != nil || len(sf.snaps) == 0 {
		return done, 1, err
	}
	snap := sf.snaps[len(sf.snaps)-1]
	path := sf.path(snap, snapExt)
	res, err := readFile(path, kindSnapshot, shard, snap, false, nil)
	var ce *CorruptError
	if errors.As(err, &ce) && ce.Offset >= 0 {
		d, err := cutSnapshot(path, ce, shard, snap, res.records, res.ended)
		return append(done, d...), snap, err
	}
	return done, snap, err
}

// repairSegments repairs the log segments of dir from first on, whose
// headers are of kind and name shard: segments after a missing one, or
// after the first damaged record, are moved aside, that file is cut there,
// a torn tail is cut, and a missing first segment is created empty.
func repairSegments(dir string, kind byte, shard int, first uint64) ([]string, error) {
	var done []string
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return done, err
	}
	sf, err := listShard(dir)
	if err != nil {
		return done, err
	}
	// The segments recovery reads: consecutive from first.
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
	if len(logs) == 0 {
		f, err := createFile(dir, kind, shard, first)
		if err != nil {
			return done, err
		}
		f.Close()
		logs = append(logs, first)
		done = append(done, fmt.Sprintf("%s: created the missing log segment %d, empty", dir, first))
	}
	last, err := lastWithRecords(sf, logs, shard)
	if err != nil {
		return done, err
	}
	for k, seq := range logs {
		path := sf.path(seq, logExt)
		res, err := readFile(path, kind, shard, seq, k >= last, nil)
		var ce *CorruptError
		if errors.As(err, &ce) && ce.Offset >= 0 {
			saved, err := copyOut(path, ce.Offset)
			if err != nil {
				return done, err
			}
			if err := truncateSegment(path, ce.Offset, kind, shard, seq); err != nil {
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
			if err := truncateSegment(path, res.end, kind, shard, seq); err != nil {
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

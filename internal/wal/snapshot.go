package wal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/data-cluster/data-cluster/internal/fsutil"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/storage"
)

const (
	// chunkKeys and chunkBytes bound what one hold of a shard copies into
	// a snapshot, so that the shard pauses only briefly.
	chunkKeys  = 1024
	chunkBytes = 256 << 10
	// retryAfter is how long a shard waits before retrying a snapshot that
	// the size of its log asked for and that failed.
	retryAfter = time.Minute
)

// snapWriter writes one snapshot file through a temporary file.
type snapWriter struct {
	dir   string
	path  string
	tmp   string
	f     *os.File
	bw    *bufio.Writer
	count uint64
	size  int64
}

func newSnapWriter(dir string, shard int, seq uint64) (*snapWriter, error) {
	w := &snapWriter{dir: dir, path: filepath.Join(dir, segName(seq, snapExt))}
	w.tmp = w.path + tmpExt
	f, err := os.OpenFile(w.tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	w.f = f
	w.bw = bufio.NewWriterSize(f, 1<<20)
	if err := w.write(appendHeader(nil, kindSnapshot, shard, seq), 0); err != nil {
		w.abort()
		return nil, err
	}
	return w, nil
}

// write adds encoded records holding n entries.
func (w *snapWriter) write(b []byte, n int) error {
	w.count += uint64(n)
	w.size += int64(len(b))
	_, err := w.bw.Write(b)
	return err
}

// commit ends the snapshot, fsyncs it, renames it into place and fsyncs the
// directory. It returns the file's size.
func (w *snapWriter) commit() (int64, error) {
	if err := w.write(appendEnd(nil, w.count), 0); err != nil {
		w.abort()
		return 0, err
	}
	err := w.bw.Flush()
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.tmp, w.path)
	}
	if err != nil {
		os.Remove(w.tmp)
		return 0, err
	}
	return w.size, fsutil.SyncDir(w.dir)
}

// abort removes the temporary file.
func (w *snapWriter) abort() {
	w.f.Close()
	os.Remove(w.tmp)
}

// appendEntries appends records for the entries of e from cursor on that
// have not expired at now, stopping after about maxKeys entries or maxBytes
// bytes: a set record per string, and elements records for a collection,
// each of up to about maxPart bytes of elements, the first one fresh. A
// collection is appended whole, whatever its size. It returns the cursor
// to continue from (0 when done) and the number of records appended.
func appendEntries(b []byte, e storage.Engine, cursor uint64, maxKeys, maxBytes int, now int64) ([]byte, uint64, int) {
	n, seen := 0, 0
	cursor = e.Scan(cursor, func(k, v []byte, obj storage.Object, at int64) bool {
		seen++
		switch {
		case at != storage.NoExpiry && now > at:
		case obj != nil:
			rl := recordLog{b: b}
			keyspace.LogObject(&rl, k, obj, at, maxPart)
			b = rl.b
			n += rl.n
		default:
			b = appendSet(b, k, v, at)
			n++
		}
		return seen < maxKeys && len(b) < maxBytes
	})
	return b, cursor, n
}

// maxPart bounds the element bytes of one elements record of a snapshot.
const maxPart = 64 << 10

// recordLog is a keyspace.Log that only appends elements and list records
// to b, for keyspace.LogObject.
type recordLog struct {
	b []byte
	n int
}

func (r *recordLog) Set([]byte, []byte, int64)                     {}
func (r *recordLog) Delete([]byte)                                 {}
func (r *recordLog) Range([]byte, int64, []byte)                   {}
func (r *recordLog) Expire([]byte, int64)                          {}
func (r *recordLog) Flush()                                        {}
func (r *recordLog) Commit()                                       {}
func (r *recordLog) RemoveElements(storage.Kind, []byte, [][]byte) {}
func (r *recordLog) List(key []byte, expireAt int64, version uint64, fresh bool, op object.ListOp) {
	r.b = appendList(r.b, key, expireAt, version, fresh, op)
	r.n++
}
func (r *recordLog) Stream(key []byte, expireAt int64, version uint64, fresh, part bool, ops []byte) {
	r.b = appendStream(r.b, key, expireAt, version, fresh, part, ops)
	r.n++
}
func (r *recordLog) Elements(kind storage.Kind, key []byte, expireAt int64, fresh bool, elems [][]byte) {
	r.b = appendElems(r.b, kind, key, expireAt, fresh, elems)
	r.n++
}

// writeSnapshot writes snapshot seq of shard from e, which nobody else uses
// meanwhile, and returns its size.
func writeSnapshot(dir string, shard int, seq uint64, e storage.Engine, now int64) (int64, error) {
	w, err := newSnapWriter(dir, shard, seq)
	if err != nil {
		return 0, err
	}
	var buf []byte
	var cursor uint64
	for {
		var n int
		buf, cursor, n = appendEntries(buf[:0], e, cursor, chunkKeys, chunkBytes, now)
		if err := w.write(buf, n); err != nil {
			w.abort()
			return 0, err
		}
		if cursor == 0 {
			return w.commit()
		}
	}
}

// compactLoop writes the shards' snapshots: when the journal has grown
// enough, and when asked by Save.
func (st *Store) compactLoop(ctx context.Context, h Holder) {
	var retryAt time.Time
	for {
		var waiters []chan error
		select {
		case <-ctx.Done():
			return
		case <-st.trigger:
			if time.Now().Before(retryAt) || !st.dueForSnapshot() {
				continue
			}
		case w := <-st.requests:
			if w != nil {
				waiters = append(waiters, w)
			}
		}
	more:
		for {
			select {
			case w := <-st.requests:
				if w != nil {
					waiters = append(waiters, w)
				}
			default:
				break more
			}
		}
		start := time.Now()
		done, err := st.snapshot(ctx, h)
		if ctx.Err() != nil {
			err = ErrClosed
		}
		st.mu.Lock()
		st.saves += int64(done)
		if err == nil {
			st.saveErr = false
			st.lastDur = time.Since(start)
		} else if !errors.Is(err, ErrClosed) {
			st.saveErr = true
		}
		st.mu.Unlock()
		for _, w := range waiters {
			w <- err
		}
		switch {
		case errors.Is(err, ErrClosed):
			return
		case err != nil:
			retryAt = time.Now().Add(retryAfter)
			st.log.Error("cannot write the snapshots", "err", err)
		default:
			var bytes int64
			for _, l := range st.logs {
				bytes += l.snapBytes.Load()
			}
			st.log.Info("snapshots written", "shards", len(st.logs), "bytes", bytes, "took", time.Since(start).Round(time.Millisecond))
		}
	}
}

// snapshot starts a new journal segment N and writes every shard's snapshot
// N, in parallel, each holding its shard through h one chunk at a time.
// Then, and also when some failed, it removes what no shard's newest
// snapshot needs: older snapshots, and the segments before the oldest
// segment a newest snapshot starts from. It returns how many snapshots it
// wrote.
func (st *Store) snapshot(ctx context.Context, h Holder) (int, error) {
	st.started.Store(time.Now().UnixMilli())
	st.running.Store(true)
	defer st.running.Store(false)

	recBase := make([]int64, len(st.logs))
	for i, l := range st.logs {
		recBase[i] = l.records.Load()
	}
	// A record committed before the roll is in an older segment, and its
	// change in the snapshots, which begin after it; any change the
	// snapshots may lack is in segment seq or later.
	seq, _, err := st.j.roll()
	if err != nil {
		return 0, fmt.Errorf("starting a log segment: %w", err)
	}
	errs := make([]error, len(st.logs))
	var wg sync.WaitGroup
	for i, l := range st.logs {
		wg.Go(func() { errs[i] = st.snapshotShard(ctx, l, h, seq) })
	}
	wg.Wait()
	done := 0
	for i, l := range st.logs {
		if errs[i] != nil {
			continue
		}
		done++
		l.recBase.Store(recBase[i])
		l.lastSave.Store(time.Now().Unix())
	}
	if err := errors.Join(errs...); err != nil {
		return done, err
	}
	// What the snapshots may lack is in the segments from seq on: make them
	// durable too, so that a completed SAVE holds whatever the policy.
	if _, err := st.j.sync(fsutil.Datasync, false); err != nil {
		return done, err
	}
	return done, st.removeOld()
}

// snapshotShard writes l's snapshot seq from the shard's keys and makes it
// the shard's newest.
func (st *Store) snapshotShard(ctx context.Context, l *Log, h Holder, seq uint64) error {
	w, err := newSnapWriter(l.dir, l.shard, seq)
	if err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	var buf []byte
	var cursor uint64
	for {
		if err := ctx.Err(); err != nil {
			w.abort()
			return err
		}
		db, release, err := h.HoldShard(ctx, l.shard)
		if err != nil {
			w.abort()
			return err
		}
		var n int
		buf, cursor, n = appendEntries(buf[:0], db.Engine(), cursor, chunkKeys, chunkBytes, now)
		release()
		if err := w.write(buf, n); err != nil {
			w.abort()
			return err
		}
		if cursor == 0 {
			break
		}
	}
	size, err := w.commit()
	if err != nil {
		return err
	}
	l.snapBytes.Store(size)
	l.snapSeq.Store(seq)
	return nil
}

// removeOld removes each shard's snapshots older than its newest, and the
// journal's segments before the oldest one a newest snapshot starts from.
func (st *Store) removeOld() error {
	first := uint64(1<<64 - 1)
	for _, l := range st.logs {
		seq := l.snapSeq.Load()
		first = min(first, seq)
		if err := removeSnapshotsBefore(l.dir, seq); err != nil {
			return err
		}
	}
	return st.j.removeBefore(first)
}

// removeSnapshotsBefore removes the snapshots of dir numbered below seq.
func removeSnapshotsBefore(dir string, seq uint64) error {
	sf, err := listShard(dir)
	if err != nil {
		return err
	}
	removed := false
	for _, n := range sf.snaps {
		if n >= seq {
			continue
		}
		if err := os.Remove(sf.path(n, snapExt)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		removed = true
	}
	if removed {
		return fsutil.SyncDir(dir)
	}
	return nil
}

// Save asks for a snapshot of every shard that begins after the call. With
// wait it returns once all are written, with the first error; otherwise it
// returns at once, with ErrSaveInProgress if a snapshot is being written and
// schedule is false (with schedule the new snapshots follow the current one).
func (st *Store) Save(ctx context.Context, wait, schedule bool) error {
	select {
	case <-st.stopped:
		return ErrClosed
	default:
	}
	if !wait {
		if st.Saving() && !schedule {
			return ErrSaveInProgress
		}
		select {
		case st.requests <- nil:
		default: // requests are already waiting: they cover this one
		}
		return nil
	}
	w := make(chan error, 1)
	select {
	case st.requests <- w:
	case <-ctx.Done():
		return ctx.Err()
	case <-st.stopped:
		return ErrClosed
	}
	select {
	case err := <-w:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-st.stopped:
		return ErrClosed
	}
}

package wal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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

// compactLoop writes l's snapshots: when its log has grown enough, and when
// asked by Save.
func (st *Store) compactLoop(ctx context.Context, l *Log, h Holder) {
	var retryAt time.Time
	for {
		var waiters []chan error
		select {
		case <-ctx.Done():
			return
		case <-l.trigger:
			if time.Now().Before(retryAt) || !st.dueForSnapshot(l) {
				continue
			}
		case w := <-l.requests:
			if w != nil {
				waiters = append(waiters, w)
			}
		}
	more:
		for {
			select {
			case w := <-l.requests:
				if w != nil {
					waiters = append(waiters, w)
				}
			default:
				break more
			}
		}
		start := time.Now()
		err := st.snapshot(ctx, l, h)
		if ctx.Err() != nil {
			err = ErrClosed
		}
		st.mu.Lock()
		if err == nil {
			st.saves++
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
			st.log.Error("cannot write a snapshot", "shard", l.shard, "err", err)
		default:
			st.log.Info("snapshot written", "shard", l.shard, "bytes", l.snapBytes.Load(), "took", time.Since(start).Round(time.Millisecond))
		}
	}
}

// snapshot starts a new log segment in l and writes the snapshot that goes
// with it, holding the shard through h one chunk at a time. Once the
// snapshot is in place, the older snapshot and segments are removed.
func (st *Store) snapshot(ctx context.Context, l *Log, h Holder) error {
	l.startedAt.Store(time.Now().UnixMilli())
	l.running.Store(true)
	defer l.running.Store(false)

	_, release, err := h.HoldShard(ctx, l.shard)
	if err != nil {
		return err
	}
	old, err := l.rotate()
	seq, base, recBase := l.seq, l.pos.Load(), l.nrec
	release()
	if err != nil {
		return fmt.Errorf("starting a log segment: %w", err)
	}
	// The old segment is complete: make it durable before anything relies
	// on the new one.
	err = old.Sync()
	if cerr := old.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("closing log segment %d: %w", seq-1, err)
	}

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
	// What the snapshot may lack is in the segments from seq on: make them
	// durable too, so that a completed SAVE holds whatever the policy.
	if f := l.cur.Load(); f != nil {
		if err := fsutil.Datasync(f); err != nil && !errors.Is(err, os.ErrClosed) {
			return err
		}
	}
	l.snapBytes.Store(size)
	l.base.Store(base)
	l.recBase.Store(recBase)
	l.lastSave.Store(time.Now().Unix())
	return removeBefore(l.dir, seq)
}

// removeBefore removes the snapshots and log segments of dir numbered below
// seq.
func removeBefore(dir string, seq uint64) error {
	sf, err := listShard(dir)
	if err != nil {
		return err
	}
	removed := false
	for _, list := range []struct {
		seqs []uint64
		ext  string
	}{{sf.snaps, snapExt}, {sf.logs, logExt}} {
		for _, n := range list.seqs {
			if n >= seq {
				continue
			}
			if err := os.Remove(sf.path(n, list.ext)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			removed = true
		}
	}
	if removed {
		return fsutil.SyncDir(dir)
	}
	return nil
}

// Save asks every shard for a snapshot that begins after the call. With
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
		for _, l := range st.logs {
			select {
			case l.requests <- nil:
			default: // requests are already waiting: they cover this one
			}
		}
		return nil
	}
	waiters := make([]chan error, len(st.logs))
	for i, l := range st.logs {
		waiters[i] = make(chan error, 1)
		select {
		case l.requests <- waiters[i]:
		case <-ctx.Done():
			return ctx.Err()
		case <-st.stopped:
			return ErrClosed
		}
	}
	var errs []error
	for _, w := range waiters {
		select {
		case err := <-w:
			errs = append(errs, err)
		case <-ctx.Done():
			return ctx.Err()
		case <-st.stopped:
			return ErrClosed
		}
	}
	return errors.Join(errs...)
}

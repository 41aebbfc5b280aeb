package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/data-cluster/data-cluster/internal/fsutil"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/storage"
)

var _ keyspace.Log = (*Log)(nil)

// A Log is also a shard.AsyncLog (not named here: shard does not import wal
// and wal does not import shard).

// Log is one shard's write-ahead log. Set, Delete, Expire, Flush and Commit
// implement keyspace.Log; they and CommitAsync are called by whoever owns the
// shard's keyspace (its run goroutine, or a holder), never concurrently.
// WaitDurable is called by one other goroutine (the shard's reply
// goroutine); the Store's goroutines read the rest through atomics.
type Log struct {
	st    *Store
	shard int
	dir   string

	// Owned by the shard's owner.
	buf     []byte
	f       *os.File // current segment
	seq     uint64   // its number
	nrec    int64    // records appended in total
	failing bool     // the last write failed; buf still holds its bytes

	cur     atomic.Pointer[os.File] // f, for the syncer
	pos     atomic.Int64            // bytes written to segments since the snapshot before Open, and on
	synced  atomic.Int64            // pos up to which the log is known to be durable (FsyncAlways)
	records atomic.Int64            // nrec as of the last commit
	writeOK atomic.Bool

	// Set by the compactor when a snapshot completes.
	base      atomic.Int64 // pos when the newest snapshot's segment began
	recBase   atomic.Int64 // records then
	snapBytes atomic.Int64 // size of the newest snapshot
	lastSave  atomic.Int64 // Unix seconds of the last completed snapshot
	running   atomic.Bool  // a snapshot is being written
	startedAt atomic.Int64 // Unix milliseconds when it began

	trigger  chan struct{}   // the log has grown enough for a snapshot
	requests chan chan error // snapshots asked for (nil: nobody waits)
}

func newLog(st *Store, shard int, dir string) *Log {
	l := &Log{
		st:       st,
		shard:    shard,
		dir:      dir,
		trigger:  make(chan struct{}, 1),
		requests: make(chan chan error, 16),
	}
	l.writeOK.Store(true)
	l.lastSave.Store(time.Now().Unix())
	return l
}

// Set records that key now holds value with expiry expireAt.
func (l *Log) Set(key, value []byte, expireAt int64) {
	l.buf = appendSet(l.buf, key, value, expireAt)
	l.nrec++
}

// Range records that key's string holds data from byte off.
func (l *Log) Range(key []byte, off int64, data []byte) {
	l.buf = appendRange(l.buf, key, uint64(off), data)
	l.nrec++
}

// Delete records that key was removed.
func (l *Log) Delete(key []byte) {
	l.buf = appendDelete(l.buf, key)
	l.nrec++
}

// Expire records that key's expiry is now expireAt (0 for none).
func (l *Log) Expire(key []byte, expireAt int64) {
	l.buf = appendExpire(l.buf, key, expireAt)
	l.nrec++
}

// Elements records that key's collection of kind, with expiry expireAt,
// holds elems (created by this change when fresh).
func (l *Log) Elements(kind storage.Kind, key []byte, expireAt int64, fresh bool, elems [][]byte) {
	l.buf = appendElems(l.buf, kind, key, expireAt, fresh, elems)
	l.nrec++
}

// RemoveElements records that elems left key's collection of kind.
func (l *Log) RemoveElements(kind storage.Kind, key []byte, elems [][]byte) {
	l.buf = appendRemove(l.buf, kind, key, elems)
	l.nrec++
}

// List records that key's list changed by op, leaving it at version.
func (l *Log) List(key []byte, expireAt int64, version uint64, fresh bool, op object.ListOp) {
	l.buf = appendList(l.buf, key, expireAt, version, fresh, op)
	l.nrec++
}

// Stream records that key's stream changed by ops, leaving it at version.
func (l *Log) Stream(key []byte, expireAt int64, version uint64, fresh, part bool, ops []byte) {
	l.buf = appendStream(l.buf, key, expireAt, version, fresh, part, ops)
	l.nrec++
}

// Flush records that every key of the shard was removed.
func (l *Log) Flush() {
	l.buf = appendFlush(l.buf)
	l.nrec++
}

// Commit writes the records appended since the last Commit to the current
// segment with one write and, with FsyncAlways, fsyncs the segment if
// anything written so far (by this Commit or an earlier CommitAsync) is not
// yet durable, so that what the owner read may be replied. Replies to the
// commands that made the records are sent after it returns.
//
// A failed write keeps the records and tries again at the next Commit; the
// failure is logged and reported by Stats. With FsyncAlways, Config.Fatal is
// called as well.
func (l *Log) Commit() {
	l.write()
	if l.st.Fsync() != FsyncAlways {
		return
	}
	pos := l.pos.Load()
	if pos <= l.synced.Load() {
		return
	}
	start := time.Now()
	if err := fsutil.Datasync(l.f); err != nil {
		l.fail(err)
		return
	}
	l.tellSynced(start)
	storeMax(&l.synced, pos)
}

// CommitAsync writes the records appended since the last commit, as Commit
// does, but leaves the fsync of FsyncAlways to WaitDurable, so that the
// owner can go on running commands meanwhile. It returns the position that
// WaitDurable must reach before the replies to the commands recorded so far
// may be sent, and false when there is nothing to wait for (another policy,
// or everything written is already durable).
func (l *Log) CommitAsync() (pos int64, wait bool) {
	l.write()
	if l.st.Fsync() != FsyncAlways {
		return 0, false
	}
	pos = l.pos.Load()
	return pos, pos > l.synced.Load()
}

// WaitDurable makes the log durable up to pos (a value from CommitAsync),
// fsyncing the current segment unless an fsync since has covered it. One
// goroutine besides the owner may call it, concurrently with the owner's
// calls; it must not be called after the shard has stopped.
func (l *Log) WaitDurable(pos int64) {
	if l.synced.Load() >= pos {
		return
	}
	// Everything written so far is in the current segment or in earlier
	// ones, which rotate made durable before switching.
	upTo := l.pos.Load()
	f := l.cur.Load()
	start := time.Now()
	err := l.st.datasync(f)
	if err != nil && !errors.Is(err, os.ErrClosed) {
		l.writeOK.Store(false)
		l.st.log.Error("cannot fsync the log", "shard", l.shard, "file", f.Name(), "err", err)
		if l.st.cfg.Fatal != nil {
			l.st.cfg.Fatal(fmt.Errorf("shard %d: fsync of %s: %w", l.shard, f.Name(), err))
		}
		return
	}
	l.tellSynced(start)
	storeMax(&l.synced, upTo)
}

// tellSynced tells Config.Synced of an fsync that started at start.
func (l *Log) tellSynced(start time.Time) {
	if fn := l.st.cfg.Synced; fn != nil {
		fn(time.Since(start))
	}
}

func storeMax(a *atomic.Int64, v int64) {
	for {
		cur := a.Load()
		if cur >= v || a.CompareAndSwap(cur, v) {
			return
		}
	}
}

// write writes the buffered records to the current segment and reports
// whether it wrote anything.
func (l *Log) write() bool {
	if len(l.buf) == 0 {
		return false
	}
	n, err := fsutil.Write(l.f, l.buf)
	l.pos.Add(int64(n))
	if err != nil {
		// Bytes written are part of the file now; the rest is retried.
		l.buf = l.buf[:copy(l.buf, l.buf[n:])]
		l.fail(err)
		return n > 0
	}
	if cap(l.buf) > 1<<20 {
		l.buf = nil
	} else {
		l.buf = l.buf[:0]
	}
	l.records.Store(l.nrec)
	if l.failing {
		l.failing = false
		l.writeOK.Store(true)
		l.st.log.Info("log writes work again", "shard", l.shard)
	}
	if l.st.dueForSnapshot(l) {
		select {
		case l.trigger <- struct{}{}:
		default:
		}
	}
	return true
}

func (l *Log) fail(err error) {
	if !l.failing {
		l.failing = true
		l.writeOK.Store(false)
		l.st.log.Error("cannot write the log; will retry", "shard", l.shard, "file", l.f.Name(), "err", err)
	}
	if l.st.Fsync() == FsyncAlways && l.st.cfg.Fatal != nil {
		l.st.cfg.Fatal(fmt.Errorf("shard %d: writing %s: %w", l.shard, l.f.Name(), err))
	}
}

// rotate starts segment seq+1 and makes it current. It is called by the
// shard's owner; it returns the previous segment, which the caller fsyncs
// and closes.
func (l *Log) rotate() (*os.File, error) {
	l.Commit()
	if l.failing {
		return nil, fmt.Errorf("the log cannot be written")
	}
	f, err := createSegment(l.dir, l.shard, l.seq+1)
	if err != nil {
		return nil, err
	}
	old := l.f
	if l.st.Fsync() == FsyncAlways {
		// WaitDurable fsyncs only the current segment: what it waits for
		// must be durable before the segment changes.
		pos := l.pos.Load()
		if err := fsutil.Datasync(old); err != nil {
			f.Close()
			os.Remove(f.Name())
			return nil, err
		}
		storeMax(&l.synced, pos)
	}
	l.f = f
	l.cur.Store(f)
	l.seq++
	l.pos.Add(headerLen(l.shard, l.seq))
	return old, nil
}

// createSegment creates log segment seq of shard in dir with its header
// record, and fsyncs the directory so that the file outlives a crash.
func createSegment(dir string, shard int, seq uint64) (*os.File, error) {
	path := filepath.Join(dir, segName(seq, logExt))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(appendHeader(nil, kindLog, shard, seq)); err != nil {
		f.Close()
		return nil, err
	}
	if err := fsutil.SyncDir(dir); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func headerLen(shard int, seq uint64) int64 {
	return int64(len(appendHeader(nil, kindLog, shard, seq)))
}

// close writes what is still buffered, fsyncs and closes the current
// segment. It is called once the shard has stopped.
func (l *Log) close() error {
	l.Commit()
	if l.f == nil {
		return nil
	}
	err := l.f.Sync()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	l.cur.Store(nil)
	if err == nil && len(l.buf) > 0 {
		err = fmt.Errorf("shard %d: %d bytes of log could not be written", l.shard, len(l.buf))
	}
	return err
}

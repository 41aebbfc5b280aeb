package wal

import (
	"sync/atomic"
	"time"

	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/storage"
)

var _ keyspace.Log = (*Log)(nil)

// A Log is also a shard.AsyncLog (not named here: shard does not import wal
// and wal does not import shard).

// Log is one shard's part of the generation's log (the journal). Set,
// Delete, Expire, Flush and Commit implement keyspace.Log; they and
// CommitAsync are called by whoever owns the shard's keyspace (its run
// goroutine, or a holder), never concurrently. WaitDurable is called by
// other goroutines too (the shard's reply goroutine, a holder that gave the
// shard back); the Store's goroutines read the rest through atomics.
type Log struct {
	st    *Store
	j     *journal
	shard int
	dir   string // the shard's directory, for its snapshots

	// Owned by the shard's owner.
	buf  []byte
	nrec int64 // records appended in total
	pos  int64 // the journal's position after the shard's last commit

	records atomic.Int64 // nrec as of the last commit

	// Set by the compactor when a snapshot completes.
	snapSeq   atomic.Uint64 // segment the newest snapshot starts from (1 without one)
	recBase   atomic.Int64  // records when its segment began
	snapBytes atomic.Int64  // size of the newest snapshot
	lastSave  atomic.Int64  // Unix seconds of the last completed snapshot
}

func newLog(st *Store, shard int, dir string) *Log {
	l := &Log{st: st, j: st.j, shard: shard, dir: dir}
	l.snapSeq.Store(1)
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

// Commit hands the records appended since the last Commit to the journal,
// which writes them with one write (shared with the other shards' records
// committed meanwhile) and, with FsyncAlways, fsyncs it if anything this
// shard committed is not yet durable, so that what the owner read may be
// replied. Replies to the commands that made the records are sent after it
// returns.
//
// A failed write keeps the records and tries again at the next commit; the
// failure is logged and reported by Stats. With FsyncAlways, Config.Fatal is
// called as well.
func (l *Log) Commit() {
	if pos, wait := l.CommitAsync(); wait {
		l.WaitDurable(pos)
	}
}

// CommitAsync hands the records appended since the last commit to the
// journal, as Commit does, but leaves the write, and the fsync of
// FsyncAlways, to WaitDurable, so that the owner can go on running commands
// meanwhile. It returns the position that WaitDurable must reach before the
// replies to the commands recorded so far may be sent, and false when there
// is nothing to wait for (everything the shard committed is already
// durable, or with FsyncEverySec and FsyncNo, written).
func (l *Log) CommitAsync() (pos int64, wait bool) {
	if len(l.buf) > 0 {
		l.pos = l.j.append(l.shard, l.buf)
		if cap(l.buf) > 1<<20 {
			l.buf = nil
		} else {
			l.buf = l.buf[:0]
		}
		l.records.Store(l.nrec)
	}
	if l.st.Fsync() != FsyncAlways {
		return l.pos, l.pos > l.j.written.Load()
	}
	return l.pos, l.pos > l.j.syncedPos()
}

// WaitDurable returns once the journal is durable up to pos (a value from
// CommitAsync): it waits for an fdatasync that covers pos, running it if
// none is running, with every other shard's records pending (see journal).
// With FsyncEverySec and FsyncNo it waits for the write alone, made the
// same way (journal.waitWritten). Any goroutine may call it, concurrently
// with the owner's calls and with other waits; it must not be called after
// the Store is closed.
func (l *Log) WaitDurable(pos int64) {
	l.j.wait(pos, l.st.Fsync(), waitGather)
}

package raftlog

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/data-cluster/data-cluster/internal/fsutil"
)

// syncInterval is how often SyncEverySec fdatasyncs.
var syncInterval = time.Second

// Log is the durable log of one Raft group in one directory. Open, State,
// Save, SaveSnapshot, Sync and Close are called by one goroutine, the
// group's, never concurrently; Size may be called from any goroutine. With
// SyncEverySec the Log runs a goroutine of its own, which Close stops.
type Log struct {
	dir  string
	cfg  Config
	log  *slog.Logger
	lock *os.File

	// What Open recovered, returned by State.
	rhs   *raftpb.HardState
	rsnap *raftpb.Snapshot
	rents []*raftpb.Entry

	// Owned by the caller's goroutine.
	f         *os.File  // the current segment, the last of segs; swapped under mu
	segs      []segment // on disk, oldest first
	buf       []byte
	hs        *raftpb.HardState // the newest saved, nil when none
	last      uint64            // index of the last saved entry, or of the snapshot if later
	snapIndex uint64
	err       error // the failure every call returns, once a write failed
	closed    bool

	mu    sync.Mutex  // held by the syncer while it uses f
	dirty atomic.Bool // written since the last fdatasync started
	bgErr atomic.Pointer[error]
	size  atomic.Int64 // bytes of all segments
	syncs atomic.Int64 // fdatasyncs of segments
	stop  chan struct{}
	done  chan struct{}
}

// Open opens the log in dir, creating dir (0o755) if it is missing, and
// recovers what it holds: see the package documentation. It locks dir
// until Close; another Open of dir fails with ErrLocked meanwhile. Damaged
// data is reported by a *CorruptError, which matches ErrCorrupt.
func Open(dir string, cfg Config) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.Default()
	}
	if err := mkdir(dir); err != nil {
		return nil, err
	}
	lock, err := lock(dir)
	if err != nil {
		return nil, err
	}
	l := &Log{dir: dir, cfg: cfg, log: lg, lock: lock}
	if err := l.open(); err != nil {
		if l.f != nil {
			l.f.Close()
		}
		lock.Close()
		return nil, err
	}
	if cfg.Sync == SyncEverySec {
		l.stop = make(chan struct{})
		l.done = make(chan struct{})
		go l.syncLoop(syncInterval)
	}
	return l, nil
}

// open recovers the directory and opens its last segment for appending.
func (l *Log) open() error {
	ls, err := list(l.dir)
	if err != nil {
		return err
	}
	for _, name := range ls.tmps {
		if err := os.Remove(filepath.Join(l.dir, name)); err != nil {
			return err
		}
	}
	rc, err := recoverDir(l.dir, ls, l.log)
	if err != nil {
		return err
	}
	l.rhs, l.rsnap, l.rents = rc.hs, rc.snap, rc.ents
	l.snapIndex = rc.snap.GetMetadata().GetIndex()
	l.last = l.snapIndex + uint64(len(rc.ents))
	if !raft.IsEmptyHardState(rc.hs) {
		l.hs = cloneHardState(rc.hs)
	}
	l.segs = rc.segs
	switch {
	case len(l.segs) == 0:
		f, start, err := createSegment(l.dir, 1, l.hs, false)
		if err != nil {
			return err
		}
		l.f = f
		l.segs = []segment{{seq: 1, size: start, start: start}}
	case rc.tail != nil && rc.tail.off == 0:
		// Not even the header is whole: write the segment anew.
		cur := &l.segs[len(l.segs)-1]
		l.log.Warn("raftlog: torn segment header; rewriting the segment",
			"file", l.segPath(cur.seq), "reason", rc.tail.reason)
		f, start, err := createSegment(l.dir, cur.seq, l.hs, true)
		if err != nil {
			return err
		}
		l.f = f
		*cur = segment{seq: cur.seq, size: start, start: start}
	default:
		cur := l.segs[len(l.segs)-1]
		f, err := os.OpenFile(l.segPath(cur.seq), os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		l.f = f
		if rc.tail != nil {
			fi, err := f.Stat()
			if err != nil {
				return err
			}
			l.log.Warn("raftlog: truncating a torn write at the end of the log",
				"file", f.Name(), "offset", rc.tail.off, "dropped", fi.Size()-rc.tail.off, "reason", rc.tail.reason)
			if err := f.Truncate(rc.tail.off); err != nil {
				return err
			}
			if err := l.datasync(f); err != nil {
				return err
			}
		}
		if _, err := f.Seek(cur.size, io.SeekStart); err != nil {
			return err
		}
	}
	for _, s := range l.segs {
		l.size.Add(s.size)
	}
	l.compact()
	return nil
}

// State returns what Open recovered, to rebuild a raft.MemoryStorage in
// this order: ApplySnapshot(snap) if !raft.IsEmptySnap(snap),
// SetHardState(hs), Append(ents). hs and snap are never nil but may be
// empty; ents may be empty.
// The entries are consecutive and start right after the snapshot's index;
// hs commits at least the snapshot and at most the last entry. The values
// are the caller's, and stay the same after Saves.
func (l *Log) State() (hs *raftpb.HardState, snap *raftpb.Snapshot, ents []*raftpb.Entry) {
	return l.rhs, l.rsnap, l.rents
}

// Save appends entries and the hard state, either of which may be nil or
// empty; a hard state equal to the last one saved is not written again.
// Entries must have consecutive indexes, the first at most one past the
// last saved entry and after the snapshot: an entry at or below the last
// saved index replaces it and every later one, as Raft truncates a
// conflicting suffix, and recovery does the same. With SyncAlways and sync
// true (Ready.MustSync), Save returns after fdatasync. Save does not keep
// ents or hs.
func (l *Log) Save(hs *raftpb.HardState, ents []*raftpb.Entry, sync bool) error {
	if err := l.check(); err != nil {
		return err
	}
	writeHS := !raft.IsEmptyHardState(hs) && !hardStateEqual(hs, l.hs)
	if len(ents) > 0 {
		if err := l.checkEntries(ents); err != nil {
			return err
		}
	}
	b := l.buf[:0]
	var err error
	if len(ents) > 0 {
		if b, err = appendEntries(b, ents); err != nil {
			return err
		}
	}
	if writeHS {
		b = appendHardState(b, hs)
	}
	if len(b) > 0 {
		if cur := l.segs[len(l.segs)-1]; cur.size > cur.start && cur.size+int64(len(b)) > l.cfg.SegmentSize {
			if err := l.roll(); err != nil {
				return l.fail(err)
			}
		}
		if err := l.write(b); err != nil {
			return err
		}
		if len(ents) > 0 {
			cur := &l.segs[len(l.segs)-1]
			l.last = ents[len(ents)-1].GetIndex()
			cur.maxIndex = max(cur.maxIndex, l.last)
		}
		if writeHS {
			l.hs = cloneHardState(hs)
		}
	}
	if cap(b) <= 1<<20 {
		l.buf = b
	}
	if sync && l.cfg.Sync == SyncAlways && l.dirty.Load() {
		return l.syncNow()
	}
	return nil
}

// checkEntries reports whether ents may be appended.
func (l *Log) checkEntries(ents []*raftpb.Entry) error {
	return checkAppend(ents, l.snapIndex, l.last)
}

// checkAppend reports whether ents (not empty) may be appended to a log
// whose snapshot is at snapIndex and whose last entry is at last.
func checkAppend(ents []*raftpb.Entry, snapIndex, last uint64) error {
	first := ents[0].GetIndex()
	for i, e := range ents {
		if e.GetIndex() != first+uint64(i) {
			return fmt.Errorf("%w: entry %d follows entry %d", ErrOutOfOrder, e.GetIndex(), ents[i-1].GetIndex())
		}
	}
	switch {
	case first <= snapIndex:
		return fmt.Errorf("%w: entry %d is covered by the snapshot at %d", ErrOutOfOrder, first, snapIndex)
	case first > last+1:
		return fmt.Errorf("%w: entry %d leaves a gap after entry %d", ErrOutOfOrder, first, last)
	}
	return nil
}

// SaveSnapshot stores snap and lets the log forget the entries it covers.
// The snapshot is written to a temporary file, fsynced, renamed into place
// and the directory fsynced; a snapmark record is then appended to the log
// (and fdatasynced with SyncAlways). Only then are older snapshot files
// removed, and the oldest segments, as long as every entry they hold is at
// or below snap's index; the current segment stays. Failing to remove a
// file is logged, not returned: it is tried again at the next snapshot or
// Open. An empty snapshot is ignored; one not newer than the last saved
// returns ErrOutOfOrder.
//
// Call it before the Save of the same Ready, as raft's Ready loop
// persists the snapshot before the entries that follow it.
func (l *Log) SaveSnapshot(snap *raftpb.Snapshot) error {
	if err := l.check(); err != nil {
		return err
	}
	if raft.IsEmptySnap(snap) {
		return nil
	}
	index, term := snap.GetMetadata().GetIndex(), snap.GetMetadata().GetTerm()
	if index <= l.snapIndex {
		return fmt.Errorf("%w: snapshot at %d, one at %d is saved", ErrOutOfOrder, index, l.snapIndex)
	}
	b := appendHeader(nil, kindSnapshot, index)
	b, err := appendSnapshot(b, snap)
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(l.dir, fileName(index, snapExt)), b); err != nil {
		return err
	}
	if err := l.write(appendSnapMark(l.buf[:0], index, term)); err != nil {
		return err
	}
	if l.cfg.Sync == SyncAlways {
		if err := l.syncNow(); err != nil {
			return err
		}
	}
	l.snapIndex = index
	l.last = max(l.last, index)
	l.compact()
	return nil
}

// Sync fdatasyncs the current segment now, whatever the mode. Older
// segments were synced when the log moved past them, except with
// SyncNever.
func (l *Log) Sync() error {
	if err := l.check(); err != nil {
		return err
	}
	return l.syncNow()
}

// Size returns the bytes of the log's segments on disk, the snapshot
// excluded: a caller snapshots when it grows too large. It is safe for
// concurrent use.
func (l *Log) Size() int64 { return l.size.Load() }

// Close stops the background fsync, fdatasyncs what was written (except
// with SyncNever), closes the files and releases the directory. Calls after
// Close return ErrClosed.
func (l *Log) Close() error {
	if l.closed {
		return ErrClosed
	}
	l.closed = true
	if l.stop != nil {
		close(l.stop)
		<-l.done
	}
	var err error
	if l.err == nil && l.cfg.Sync != SyncNever && l.dirty.Load() {
		err = l.datasync(l.f)
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	if cerr := l.lock.Close(); err == nil {
		err = cerr
	}
	return err
}

// check returns the error every call must return now, if any.
func (l *Log) check() error {
	if l.closed {
		return ErrClosed
	}
	if l.err == nil {
		if p := l.bgErr.Load(); p != nil {
			l.err = fmt.Errorf("%w: background fdatasync: %w", ErrFailed, *p)
		}
	}
	return l.err
}

// fail makes err the failure of every later call and returns it.
func (l *Log) fail(err error) error {
	l.err = fmt.Errorf("%w: %w", ErrFailed, err)
	return l.err
}

// write appends b to the current segment.
func (l *Log) write(b []byte) error {
	n, err := l.f.Write(b)
	l.segs[len(l.segs)-1].size += int64(n)
	l.size.Add(int64(n))
	l.dirty.Store(true)
	if err != nil {
		return l.fail(err)
	}
	return nil
}

// datasync fdatasyncs f, counting it.
func (l *Log) datasync(f *os.File) error {
	l.syncs.Add(1)
	return fsutil.Datasync(f)
}

// Syncs returns how many times the log's segments were fdatasynced. It is
// safe to call from any goroutine.
func (l *Log) Syncs() int64 { return l.syncs.Load() }

// syncNow fdatasyncs the current segment.
func (l *Log) syncNow() error {
	l.dirty.Store(false)
	if err := l.datasync(l.f); err != nil {
		return l.fail(err)
	}
	return nil
}

// roll starts the next segment and makes it current, fdatasyncing the
// previous one first unless the mode is SyncNever.
func (l *Log) roll() error {
	seq := l.segs[len(l.segs)-1].seq + 1
	f, start, err := createSegment(l.dir, seq, l.hs, false)
	if err != nil {
		return err
	}
	l.mu.Lock()
	old := l.f
	if l.cfg.Sync != SyncNever && l.dirty.Load() {
		if err := l.datasync(old); err != nil {
			l.mu.Unlock()
			f.Close()
			os.Remove(f.Name())
			return err
		}
	}
	l.f = f
	l.dirty.Store(true)
	l.mu.Unlock()
	l.segs = append(l.segs, segment{seq: seq, size: start, start: start})
	l.size.Add(start)
	return old.Close()
}

// compact removes the snapshot files older than the newest and the oldest
// segments whose entries it covers; see SaveSnapshot.
func (l *Log) compact() {
	ls, err := list(l.dir)
	if err != nil {
		l.log.Warn("raftlog: cannot list the log directory", "dir", l.dir, "err", err)
		return
	}
	for _, index := range ls.snaps {
		if index < l.snapIndex {
			if err := os.Remove(filepath.Join(l.dir, fileName(index, snapExt))); err != nil {
				l.log.Warn("raftlog: cannot remove an old snapshot", "dir", l.dir, "index", index, "err", err)
			}
		}
	}
	n := 0
	for n < len(l.segs)-1 && l.segs[n].maxIndex <= l.snapIndex {
		// One at a time, oldest first, each removal durable before the
		// next: a crash leaves the segments consecutive.
		path := l.segPath(l.segs[n].seq)
		err := os.Remove(path)
		if err == nil {
			err = fsutil.SyncDir(l.dir)
		}
		if err != nil {
			l.log.Warn("raftlog: cannot remove a log segment covered by the snapshot", "file", path, "err", err)
			break
		}
		l.size.Add(-l.segs[n].size)
		n++
	}
	l.segs = slices.Delete(l.segs, 0, n)
}

// syncLoop fdatasyncs the current segment every interval when something
// was written, until Close.
func (l *Log) syncLoop(interval time.Duration) {
	defer close(l.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		l.mu.Lock()
		if l.dirty.Swap(false) {
			if err := l.datasync(l.f); err != nil && !errors.Is(err, os.ErrClosed) {
				if l.bgErr.CompareAndSwap(nil, &err) {
					l.log.Error("raftlog: background fdatasync failed", "file", l.f.Name(), "err", err)
				}
			}
		}
		l.mu.Unlock()
	}
}

func (l *Log) segPath(seq uint64) string { return filepath.Join(l.dir, fileName(seq, segExt)) }

// createSegment creates segment seq in dir, replacing any file of that name
// when replace, writes its header and hs (unless nil), and fsyncs the
// directory. It returns the file, open for appending, and its size.
func createSegment(dir string, seq uint64, hs *raftpb.HardState, replace bool) (*os.File, int64, error) {
	b := appendHeader(nil, kindSegment, seq)
	if hs != nil {
		b = appendHardState(b, hs)
	}
	return createFile(dir, fileName(seq, segExt), b, replace, replace)
}

// createFile creates the file name in dir, replacing any file of that name
// when replace, writes b to it, fdatasyncs it when sync, and fsyncs the
// directory. It returns the file, open for appending, and its size.
func createFile(dir, name string, b []byte, replace, sync bool) (*os.File, int64, error) {
	path := filepath.Join(dir, name)
	flag := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if replace {
		flag = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		return nil, 0, err
	}
	_, err = f.Write(b)
	if err == nil && sync {
		err = fsutil.Datasync(f)
	}
	if err == nil {
		err = fsutil.SyncDir(dir)
	}
	if err != nil {
		f.Close()
		if !replace {
			os.Remove(path)
		}
		return nil, 0, err
	}
	return f, int64(len(b)), nil
}

func hardStateEqual(a, b *raftpb.HardState) bool {
	return a.GetTerm() == b.GetTerm() && a.GetVote() == b.GetVote() && a.GetCommit() == b.GetCommit()
}

func cloneHardState(hs *raftpb.HardState) *raftpb.HardState {
	return &raftpb.HardState{Term: new(hs.GetTerm()), Vote: new(hs.GetVote()), Commit: new(hs.GetCommit())}
}

package raftlog

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"maps"
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

// Shared is the log of every Raft group of a node: one stream of segments
// in one directory, to which each group appends through its GroupLog, so
// that the groups' Saves share one fdatasync (group commit). See the
// package documentation for the format.
//
// OpenShared returns it; Group, Size, Syncs and Sync may then be called
// from any goroutine. Each GroupLog is used by its group's goroutine only,
// and the GroupLogs of different groups are used concurrently. A group
// whose replica leaves the node drops its log (GroupLog.Drop); its id may
// then serve a new replica, which starts empty. Close is called once, after
// every group stopped using its GroupLog. With SyncEverySec the Shared runs
// a goroutine of its own, which Close stops.
type Shared struct {
	dir  string
	cfg  Config
	log  *slog.Logger
	lock *os.File

	closed  atomic.Bool
	failure atomic.Pointer[error] // set once, when a write or an fdatasync failed
	size    atomic.Int64          // bytes of all segments
	syncs   atomic.Int64          // fdatasyncs of segments

	// mu guards the stream: its holder may write to f and change segs,
	// written, groups and the fields of a GroupLog that others read.
	mu      sync.Mutex
	f       *os.File        // the current segment, the last of segs
	segs    []sharedSegment // on disk, oldest first
	written int64           // the stream's position: bytes written since OpenShared
	groups  map[uint32]*GroupLog

	// fileMu is held for reading by an fdatasync of a segment that runs
	// without mu, and for writing to close a segment. mu, when held too,
	// is taken first.
	fileMu sync.RWMutex

	// syncMu guards the group commit. mu may be taken before it, never
	// after it.
	syncMu   sync.Mutex
	synced   int64      // the stream is durable up to this position
	syncing  bool       // a goroutine is running an fdatasync for the waiters
	syncDone *sync.Cond // broadcast when that fdatasync ends

	compactMu sync.Mutex // held while segments are deleted

	// beforeSync, when set, is called by a goroutine that has become the
	// syncer, before it reads the position its fdatasync will cover.
	beforeSync func()
	// yield, when set, replaces runtime.Gosched in fsutil.Gather (tests).
	yield func()
	// beforeDropRemove, when set, is called by Drop before it removes the
	// group's snapshot files; an error it returns is the removal's.
	beforeDropRemove func() error

	stop chan struct{}
	done chan struct{}
}

// GroupLog is the log of one group within a Shared. Its methods, but
// Syncs and WriteSnapshot, are called by one goroutine, the group's, never
// concurrently with each other; GroupLogs of different groups are used
// concurrently. Syncs may be called from any goroutine. Once Drop has
// written the group's drop record, the GroupLog's calls that can fail
// return ErrDropped.
type GroupLog struct {
	s  *Shared
	id uint32

	// What OpenShared recovered, returned by State, and the file of the
	// snapshot's data (SnapshotData).
	rhs   *raftpb.HardState
	rsnap *raftpb.Snapshot
	rfile *snapFile
	rents []*raftpb.Entry

	// Written by the group's goroutine with s.mu held; it reads them
	// without s.mu, other goroutines with s.mu held.
	hs        *raftpb.HardState // the newest saved, nil when none
	last      uint64            // index of the last saved entry, or of the snapshot if later
	snapIndex uint64
	snapTerm  uint64
	dropSeq   uint64 // the segment holding the group's drop record, once written

	// dropped is set, with s.mu held, when Drop writes the group's drop
	// record.
	dropped atomic.Bool
	// snapMu is held for reading while WriteSnapshot writes a file, and for
	// writing while Drop writes its record: no file is written after it.
	snapMu sync.RWMutex

	// Owned by the group's goroutine.
	pos      int64 // the stream's position after the group's last write
	buf      []byte
	dropDone bool // Drop completed: the files are gone and the id is free

	syncs atomic.Int64 // fdatasyncs waited for
}

// OpenShared opens the shared log in dir, creating dir (0o755) if it is
// missing, and recovers every group's state: see the package
// documentation. It locks dir until Close; another OpenShared or Open of
// dir fails with ErrLocked meanwhile. Damaged data is reported by a
// *CorruptError, which matches ErrCorrupt. It always starts a new segment.
func OpenShared(dir string, cfg Config) (*Shared, error) {
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
	s := &Shared{dir: dir, cfg: cfg, log: lg, lock: lock, groups: map[uint32]*GroupLog{}}
	s.syncDone = sync.NewCond(&s.syncMu)
	if err := s.open(); err != nil {
		if s.f != nil {
			s.f.Close()
		}
		lock.Close()
		return nil, err
	}
	if cfg.Sync == SyncEverySec {
		s.stop = make(chan struct{})
		s.done = make(chan struct{})
		go s.syncLoop(syncInterval)
	}
	return s, nil
}

// open recovers the directory, cuts a torn tail and starts a new segment.
func (s *Shared) open() error {
	ls, err := listShared(s.dir)
	if err != nil {
		return err
	}
	for _, name := range ls.tmps {
		if err := os.Remove(filepath.Join(s.dir, name)); err != nil {
			return err
		}
	}
	rc, err := recoverShared(s.dir, ls, s.log)
	if err != nil {
		return err
	}
	for id, rg := range rc.groups {
		g := s.newGroup(id)
		g.rhs, g.rsnap, g.rfile, g.rents = rg.hs, rg.snap, rg.file, rg.ents
		g.snapIndex, g.snapTerm = rg.snap.GetMetadata().GetIndex(), rg.snap.GetMetadata().GetTerm()
		g.last = g.snapIndex + uint64(len(rg.ents))
		if !raft.IsEmptyHardState(rg.hs) {
			g.hs = cloneHardState(rg.hs)
		}
		s.groups[id] = g
	}
	s.segs = rc.segs
	seq, replace := uint64(1), false
	if n := len(s.segs); n > 0 {
		cur := s.segs[n-1]
		seq = cur.seq + 1
		switch {
		case rc.tail != nil && rc.tail.off == 0:
			// Not even the header is whole: the new segment replaces it.
			s.log.Warn("raftlog: torn segment header; rewriting the segment",
				"file", s.segPath(cur.seq), "reason", rc.tail.reason)
			seq, replace = cur.seq, true
			s.segs = s.segs[:n-1]
		case rc.tail != nil:
			if err := s.truncate(s.segPath(cur.seq), rc.tail); err != nil {
				return err
			}
		}
	}
	// A new segment, whose prefix holds every group's state as recovered:
	// the last one may have been cut anywhere, its prefix too.
	f, start, err := s.newSegment(seq, replace)
	if err != nil {
		return err
	}
	s.f = f
	s.segs = append(s.segs, sharedSegment{seq: seq, size: start, start: start})
	for _, seg := range s.segs {
		s.size.Add(seg.size)
	}
	for _, id := range slices.Sorted(maps.Keys(s.groups)) {
		s.removeSnapshots(id, s.groups[id].snapIndex)
	}
	s.compact()
	return nil
}

// truncate cuts the segment at path at the torn tail t and fdatasyncs it.
func (s *Shared) truncate(path string, t *damage) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil {
		s.log.Warn("raftlog: truncating a torn write at the end of the log",
			"file", path, "offset", t.off, "dropped", fi.Size()-t.off, "reason", t.reason)
		err = f.Truncate(t.off)
	}
	if err == nil {
		err = s.datasync(f, false)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// newGroup returns an empty GroupLog of group id.
func (s *Shared) newGroup(id uint32) *GroupLog {
	return &GroupLog{s: s, id: id, rhs: &raftpb.HardState{}, rsnap: &raftpb.Snapshot{}}
}

// Group returns the log of group id, the same one on every call until the
// group drops it; a group that has no state yet recovers empty. Ids are the
// caller's, and must name the same group across restarts. Once a Drop of
// the group has returned nil, Group returns a new, empty GroupLog, for a
// new replica of the group; until then, it returns the dropped one. It is
// safe for concurrent use, also after Close, when the GroupLog's calls
// return ErrClosed.
func (s *Shared) Group(id uint32) *GroupLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[id]
	if g == nil {
		g = s.newGroup(id)
		s.groups[id] = g
	}
	return g
}

// Size returns the bytes of the log's segments on disk, the snapshots
// excluded. It is safe for concurrent use.
func (s *Shared) Size() int64 { return s.size.Load() }

// Syncs returns how many times the log's segments were fdatasynced: each
// fdatasync counts once, however many groups it served. It is safe for
// concurrent use.
func (s *Shared) Syncs() int64 { return s.syncs.Load() }

// Sync makes everything written so far durable, whatever the mode: it
// waits for an fdatasync of the current segment like a Save with sync in
// SyncAlways. Older segments were synced when the log moved past them,
// except with SyncNever. It is safe for concurrent use.
func (s *Shared) Sync() error {
	if err := s.check(); err != nil {
		return err
	}
	s.mu.Lock()
	pos := s.written
	s.mu.Unlock()
	return s.waitDurable(pos, false)
}

// Close stops the background fsync, fdatasyncs what was written (except
// with SyncNever), closes the files and releases the directory. Calls after
// Close return ErrClosed.
func (s *Shared) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return ErrClosed
	}
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.failure.Load() == nil && s.cfg.Sync != SyncNever && s.written > s.durable() {
		err = s.datasync(s.f, false)
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if cerr := s.lock.Close(); err == nil {
		err = cerr
	}
	return err
}

// check returns the error every call must return now, if any.
func (s *Shared) check() error {
	if s.closed.Load() {
		return ErrClosed
	}
	if p := s.failure.Load(); p != nil {
		return *p
	}
	return nil
}

// fail records err as the failure of every later call, unless one is
// recorded already, and returns the failure.
func (s *Shared) fail(err error) error {
	e := fmt.Errorf("%w: %w", ErrFailed, err)
	s.failure.CompareAndSwap(nil, &e)
	return *s.failure.Load()
}

// update is what a write changes in the state of its group.
type update struct {
	last      uint64            // the index of the last entry written, 0 when none
	hs        *raftpb.HardState // the hard state written, nil when none
	snapIndex uint64            // the snapmark written, 0 when none
	snapTerm  uint64
	drop      bool // a drop record was written
}

// write appends b, records of group g, to the stream with one write call,
// starting a new segment first when b would take the current one past
// SegmentSize; it then applies u to g's state and sets g.pos.
func (s *Shared) write(g *GroupLog, b []byte, u update) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return err
	}
	if cur := s.segs[len(s.segs)-1]; cur.size > cur.start && cur.size+int64(len(b)) > s.cfg.SegmentSize {
		if err := s.roll(); err != nil {
			return s.fail(err)
		}
	}
	cur := &s.segs[len(s.segs)-1]
	n, err := fsutil.Write(s.f, b)
	cur.size += int64(n)
	s.size.Add(int64(n))
	s.written += int64(n)
	if err != nil {
		return s.fail(err)
	}
	if u.last > 0 {
		if cur.maxIndex == nil {
			cur.maxIndex = map[uint32]uint64{}
		}
		cur.maxIndex[g.id] = max(cur.maxIndex[g.id], u.last)
		g.last = u.last
	}
	if u.hs != nil {
		g.hs = u.hs
	}
	if u.snapIndex > 0 {
		g.snapIndex, g.snapTerm = u.snapIndex, u.snapTerm
		g.last = max(g.last, u.snapIndex)
	}
	g.pos = s.written
	if u.drop {
		// Nothing of the group goes into new segments' prefixes now,
		// and the segment stays until Drop has removed the snapshots.
		g.dropped.Store(true)
		g.hs, g.last, g.snapIndex, g.snapTerm = nil, 0, 0, 0
		g.dropSeq = cur.seq
		cur.drops++
		if s.cfg.Sync == SyncNever {
			// Here, before a roll could close the segment unsynced.
			g.syncs.Add(1)
			if err := s.datasync(s.f, false); err != nil {
				return s.fail(err)
			}
			s.syncMu.Lock()
			s.synced = max(s.synced, s.written)
			s.syncDone.Broadcast()
			s.syncMu.Unlock()
		}
	}
	return nil
}

// roll starts the next segment and makes it current; s.mu is held. Unless
// the mode is SyncNever, the previous segment is fdatasynced first and the
// new one's prefix is, so that the whole stream is durable afterwards.
func (s *Shared) roll() error {
	old := s.f
	if s.cfg.Sync != SyncNever {
		if err := s.datasync(old, false); err != nil {
			return err
		}
	}
	seq := s.segs[len(s.segs)-1].seq + 1
	f, start, err := s.newSegment(seq, false)
	if err != nil {
		return err
	}
	s.f = f
	s.segs = append(s.segs, sharedSegment{seq: seq, size: start, start: start})
	s.size.Add(start)
	s.written += start
	if s.cfg.Sync != SyncNever {
		s.syncMu.Lock()
		s.synced = max(s.synced, s.written)
		s.syncDone.Broadcast()
		s.syncMu.Unlock()
	}
	// An fdatasync of old may still be running, for waiters that the one
	// above released already.
	s.fileMu.Lock()
	err = old.Close()
	s.fileMu.Unlock()
	return err
}

// newSegment creates segment seq, replacing a file of that name when
// replace, with its header and every group's newest hard state and
// snapmark, in order of group id; it fdatasyncs it unless the mode is
// SyncNever, and fsyncs the directory. s.mu is held, or s is not open yet.
// It returns the file, open for appending, and its size.
func (s *Shared) newSegment(seq uint64, replace bool) (*os.File, int64, error) {
	b := appendHeader(nil, kindShared, seq)
	for _, id := range slices.Sorted(maps.Keys(s.groups)) {
		g := s.groups[id]
		if g.hs != nil {
			b = appendGroupHardState(b, id, g.hs)
		}
		if g.snapIndex > 0 {
			b = appendGroupSnapMark(b, id, g.snapIndex, g.snapTerm)
		}
	}
	sync := s.cfg.Sync != SyncNever
	if sync {
		s.syncs.Add(1)
	}
	return createFile(s.dir, fileName(seq, segExt), b, replace, sync)
}

// durable returns the position up to which the stream is durable.
func (s *Shared) durable() int64 {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	return s.synced
}

// waitDurable returns once an fdatasync that started after the stream
// reached pos has completed, or one failed. One goroutine at a time runs
// fdatasync: a waiter that finds none running becomes the syncer, covers
// everything written when it starts, and releases every waiter whose
// write preceded that start; those written meanwhile wait for the next.
// With inline, the syncer first lets the ready goroutines write
// (fsutil.Gather) and then fdatasyncs holding its P
// (fsutil.DatasyncInline), as the single server's log does under --fsync
// always; without, through fsutil.Datasync. Neither s.mu nor s.syncMu is held by the caller.
func (s *Shared) waitDurable(pos int64, inline bool) error {
	s.syncMu.Lock()
	for s.syncing && s.synced < pos && s.failure.Load() == nil {
		s.syncDone.Wait()
	}
	if p := s.failure.Load(); p != nil {
		s.syncMu.Unlock()
		return *p
	}
	if s.synced >= pos {
		s.syncMu.Unlock()
		return nil
	}
	s.syncing = true
	s.syncMu.Unlock()

	if s.beforeSync != nil {
		s.beforeSync()
	}
	if inline && syncsInline() {
		// The entries the node's other groups have ready join this
		// round (see fsutil.Gather).
		fsutil.Gather(s.writtenPos, s.yield)
	}
	s.mu.Lock()
	f, target := s.f, s.written
	s.fileMu.RLock()
	s.mu.Unlock()
	err := s.datasync(f, inline)
	s.fileMu.RUnlock()
	if err != nil {
		err = s.fail(err)
	}

	s.syncMu.Lock()
	s.syncing = false
	if err == nil {
		s.synced = max(s.synced, target)
	}
	s.syncDone.Broadcast()
	s.syncMu.Unlock()
	return err
}

// datasync fdatasyncs f, counting it: inline (fsutil.DatasyncInline) or
// not (fsutil.Datasync).
func (s *Shared) datasync(f *os.File, inline bool) error {
	s.syncs.Add(1)
	if inline {
		return fsutil.DatasyncInline(f)
	}
	return fsutil.Datasync(f)
}

// syncsInline is fsutil.SyncsInline; tests replace it.
var syncsInline = fsutil.SyncsInline

// writtenPos returns the position up to which the stream is written.
func (s *Shared) writtenPos() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.written
}

// syncLoop makes the stream durable every interval when something was
// written, until Close.
func (s *Shared) syncLoop(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		if s.failure.Load() != nil {
			continue
		}
		s.mu.Lock()
		pos := s.written
		s.mu.Unlock()
		if pos > s.durable() {
			if err := s.waitDurable(pos, false); err != nil {
				s.log.Error("raftlog: background fdatasync failed", "dir", s.dir, "err", err)
			}
		}
	}
}

// removeSnapshots removes the snapshot files of group id older than index.
// Failures are logged: they are tried again at the next snapshot or open.
func (s *Shared) removeSnapshots(id uint32, index uint64) {
	ls, err := listShared(s.dir)
	if err != nil {
		s.log.Warn("raftlog: cannot list the log directory", "dir", s.dir, "err", err)
		return
	}
	for _, i := range ls.snaps[id] {
		if i < index {
			s.removeSnapshot(id, i)
		}
	}
}

// removeSnapshot removes the snapshot file of group id at index, logging a
// failure.
func (s *Shared) removeSnapshot(id uint32, index uint64) {
	if err := os.Remove(filepath.Join(s.dir, groupSnapName(id, index))); err != nil && !os.IsNotExist(err) {
		s.log.Warn("raftlog: cannot remove an old snapshot", "dir", s.dir, "group", id, "index", index, "err", err)
	}
}

// compact deletes the oldest segments, but the current one, as long as
// every group's snapshot covers every entry of the group they hold.
// Snapshots are saved, and durable, before their group's snapshot index
// moves. Failures are logged: they are tried again at the next snapshot or
// open.
func (s *Shared) compact() {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	var doomed []sharedSegment
	s.mu.Lock()
	for _, seg := range s.segs[:len(s.segs)-1] {
		if !s.obsolete(&seg) {
			break
		}
		doomed = append(doomed, seg)
	}
	s.mu.Unlock()
	n, freed := 0, int64(0)
	for _, seg := range doomed {
		// One at a time, oldest first, each removal durable before the
		// next: a crash leaves the segments consecutive.
		path := s.segPath(seg.seq)
		err := os.Remove(path)
		if err == nil {
			err = fsutil.SyncDir(s.dir)
		}
		if err != nil {
			s.log.Warn("raftlog: cannot remove a log segment covered by the snapshots", "file", path, "err", err)
			break
		}
		n++
		freed += seg.size
	}
	if n > 0 {
		// Only compact removes segments, and from the front.
		s.mu.Lock()
		s.segs = slices.Delete(s.segs, 0, n)
		s.mu.Unlock()
		s.size.Add(-freed)
	}
}

// obsolete reports whether every entry in seg is covered by its group's
// snapshot, and no Drop needs the segment still; s.mu is held.
func (s *Shared) obsolete(seg *sharedSegment) bool {
	if seg.drops > 0 {
		return false
	}
	for id := range seg.maxIndex {
		g := s.groups[id]
		if g == nil || !seg.covers(id, g.snapIndex) {
			return false
		}
	}
	return true
}

func (s *Shared) segPath(seq uint64) string { return filepath.Join(s.dir, fileName(seq, segExt)) }

// State returns what OpenShared recovered for the group: rebuild a
// raft.MemoryStorage with ApplySnapshot(snap) if
// !raft.IsEmptySnap(snap), SetHardState(hs), Append(ents), and the
// keyspace from SnapshotData. hs and snap are never nil but may be empty;
// ents may be empty; snap holds no data, which OpenShared checked but did
// not keep. A group that had nothing recovers empty, and so does a
// dropped one. After Forget, see there.
func (g *GroupLog) State() (hs *raftpb.HardState, snap *raftpb.Snapshot, ents []*raftpb.Entry) {
	return g.rhs, g.rsnap, g.rents
}

// SnapshotData returns a reader of the data of the snapshot State returns,
// which reads it from the snapshot's file a part at a time: it is as large
// as the group's keyspace, which the replica rebuilds as it reads. Once all
// is read, the file's checksum is checked again: the last Read fails with
// an error that is ErrCorrupt, instead of io.EOF, if the file changed since
// OpenShared checked it. It returns nil without a recovered snapshot, and
// after Forget. The caller closes the reader.
func (g *GroupLog) SnapshotData() (io.ReadCloser, error) {
	if g.rfile == nil {
		return nil, nil
	}
	return g.rfile.open()
}

// Forget lets go of the entries OpenShared recovered for the group, and of
// its snapshot's file, once its replica has rebuilt its state from them:
// kept, the entries would stay in memory as long as the log is open. State
// then returns the hard state, the snapshot's metadata and the last entry:
// enough to tell whether the group left a log here, not to rebuild it.
func (g *GroupLog) Forget() {
	g.rfile = nil
	if len(g.rents) > 0 {
		g.rents = []*raftpb.Entry{g.rents[len(g.rents)-1]}
	}
}

// Save appends the group's entries and hard state: either
// may be nil or empty, a hard state equal to the last one saved is not
// written again, an entry at or below the last saved index replaces it and
// every later one, and entries that do not follow return ErrOutOfOrder.
// Both records go to the stream with one write call.
//
// With SyncAlways and sync true (Ready.MustSync), Save returns once an
// fdatasync that started after its write (or the group's last write) has
// completed. While one fdatasync runs, the Saves of other groups write and
// wait; the next fdatasync, run by one of them, releases them all. A
// failed write or fdatasync fails every group: each later call returns
// ErrFailed, and the Shared must be closed and opened again. Save does not
// keep ents or hs.
func (g *GroupLog) Save(hs *raftpb.HardState, ents []*raftpb.Entry, sync bool) error {
	s := g.s
	if err := g.check(); err != nil {
		return err
	}
	var u update
	if len(ents) > 0 {
		if err := checkAppend(ents, g.snapIndex, g.last); err != nil {
			return err
		}
		u.last = ents[len(ents)-1].GetIndex()
	}
	b := g.buf[:0]
	var err error
	if len(ents) > 0 {
		if b, err = appendGroupEntries(b, g.id, ents); err != nil {
			return err
		}
	}
	if !raft.IsEmptyHardState(hs) && !hardStateEqual(hs, g.hs) {
		b = appendGroupHardState(b, g.id, hs)
		u.hs = cloneHardState(hs)
	}
	if len(b) > 0 {
		if err := s.write(g, b, u); err != nil {
			return err
		}
	}
	if cap(b) <= 1<<20 {
		g.buf = b
	}
	if sync && s.cfg.Sync == SyncAlways && g.pos > s.durable() {
		g.syncs.Add(1)
		return s.waitDurable(g.pos, true)
	}
	return nil
}

// SaveSnapshot stores the group's snapshot snap: WriteSnapshot, then
// MarkSnapshot. An empty snapshot is ignored; one not newer than the last
// saved returns ErrOutOfOrder.
func (g *GroupLog) SaveSnapshot(snap *raftpb.Snapshot) error {
	if err := g.check(); err != nil {
		return err
	}
	if raft.IsEmptySnap(snap) {
		return nil
	}
	md := snap.GetMetadata()
	if md.GetIndex() <= g.snapIndex {
		return fmt.Errorf("%w: snapshot at %d, one at %d is saved", ErrOutOfOrder, md.GetIndex(), g.snapIndex)
	}
	if err := g.WriteSnapshot(snap); err != nil {
		return err
	}
	return g.MarkSnapshot(md.GetIndex(), md.GetTerm())
}

// WriteSnapshot writes the snapshot file of the group's snapshot snap: to
// a temporary file, fsynced, renamed into place and the directory fsynced.
// The log does not use the snapshot until MarkSnapshot records it, but a
// log reopened after a crash recovers from the newest snapshot file, marked
// or not. Unlike the GroupLog's other methods, WriteSnapshot may run on any
// goroutine, concurrently with the group's Saves, so that a group goes on
// while its snapshot is written.
func (g *GroupLog) WriteSnapshot(snap *raftpb.Snapshot) error {
	s := g.s
	g.snapMu.RLock()
	defer g.snapMu.RUnlock()
	if err := g.check(); err != nil {
		return err
	}
	index := snap.GetMetadata().GetIndex()
	parts, err := groupSnapshotParts(appendHeader(nil, kindGroupSnapshot, index), g.id, snap)
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(filepath.Join(s.dir, groupSnapName(g.id, index)), parts[:]...)
}

// WriteSnapshotFrom is WriteSnapshot for a snapshot of metadata md whose
// data, size bytes, write writes to the writer it is given, in as many
// calls as it likes: the file is written as the data comes, so that the
// data is never whole in memory. The file is the one WriteSnapshot would
// write; one whose data is not size bytes is not kept.
func (g *GroupLog) WriteSnapshotFrom(md *raftpb.SnapshotMetadata, size int, write func(io.Writer) error) error {
	s := g.s
	g.snapMu.RLock()
	defer g.snapMu.RUnlock()
	if err := g.check(); err != nil {
		return err
	}
	index := md.GetIndex()
	head, start, mdb, err := groupSnapshotHead(appendHeader(nil, kindGroupSnapshot, index), g.id, md, size)
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomicFunc(filepath.Join(s.dir, groupSnapName(g.id, index)), func(f *os.File) error {
		w := &snapWriter{w: bufio.NewWriterSize(f, 1<<20), crc: crc32.Checksum(head[start+headerSize:], castagnoli)}
		if _, err := f.Write(head); err != nil {
			return err
		}
		if err := write(w); err != nil {
			return err
		}
		if w.err != nil {
			return w.err
		}
		if w.n != size {
			return fmt.Errorf("raftlog: snapshot data of %d bytes, %d announced", w.n, size)
		}
		if _, err := w.Write(mdb); err != nil {
			return err
		}
		if err := w.w.Flush(); err != nil {
			return err
		}
		_, err := f.WriteAt(binary.LittleEndian.AppendUint32(nil, w.crc), int64(start+8))
		return err
	})
}

// snapWriter writes through w, counting the bytes and their checksum; its
// first error sticks.
type snapWriter struct {
	w   *bufio.Writer
	n   int
	crc uint32
	err error
}

func (w *snapWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.w.Write(p)
	w.crc = crc32.Update(w.crc, castagnoli, p[:n])
	w.n += n
	w.err = err
	return n, err
}

// ReadSnapshot reads back the group's snapshot at index from the file
// WriteSnapshot wrote. Like WriteSnapshot it may run on any goroutine; it
// fails once the file is removed (a newer snapshot was marked, or the
// group dropped its log).
func (g *GroupLog) ReadSnapshot(index uint64) (*raftpb.Snapshot, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	return readGroupSnapshot(filepath.Join(g.s.dir, groupSnapName(g.id, index)), g.id, index)
}

// MarkSnapshot records the snapshot at (index, term), whose file
// WriteSnapshot wrote, as the group's: a snapmark record of the group is
// appended to the stream (and made durable with SyncAlways). Only then are
// the group's older snapshot files removed, and the oldest segments whose
// entries, of every group, are covered by their groups' snapshots.
// Failing to remove a file is logged, not returned. A snapshot not newer
// than the last marked returns ErrOutOfOrder, and its file is removed if
// older.
func (g *GroupLog) MarkSnapshot(index, term uint64) error {
	s := g.s
	if err := g.check(); err != nil {
		return err
	}
	if index <= g.snapIndex {
		if index < g.snapIndex {
			s.removeSnapshot(g.id, index)
		}
		return fmt.Errorf("%w: snapshot at %d, one at %d is saved", ErrOutOfOrder, index, g.snapIndex)
	}
	if err := s.write(g, appendGroupSnapMark(g.buf[:0], g.id, index, term), update{snapIndex: index, snapTerm: term}); err != nil {
		return err
	}
	if s.cfg.Sync == SyncAlways && g.pos > s.durable() {
		g.syncs.Add(1)
		if err := s.waitDurable(g.pos, true); err != nil {
			return err
		}
	}
	s.removeSnapshots(g.id, index)
	s.compact()
	return nil
}

// Syncs returns how many fdatasyncs the group's Saves and SaveSnapshots
// waited for, each one counted whether it ran it or shared another's. It
// is safe for concurrent use.
func (g *GroupLog) Syncs() int64 { return g.syncs.Load() }

// LogSize returns the bytes of the shared log's segments on disk, of every
// group (Shared.Size). It is safe for concurrent use.
func (g *GroupLog) LogSize() int64 { return g.s.Size() }

// Groups returns how many groups keep a log in the shared log, the dropped
// ones excluded. It is safe for concurrent use.
func (g *GroupLog) Groups() int {
	g.s.mu.Lock()
	defer g.s.mu.Unlock()
	n := 0
	for _, l := range g.s.groups {
		if !l.dropped.Load() {
			n++
		}
	}
	return n
}

// Pins reports whether this group keeps the shared log's oldest segment on
// disk: the log has moved past it, and it holds entries of this group that
// the group's snapshot does not cover. A group that writes rarely would pin
// it for good; its owner should then take a snapshot. A dropped group pins
// nothing. It is called by the group's goroutine.
func (g *GroupLog) Pins() bool {
	if g.dropped.Load() {
		return false
	}
	g.s.mu.Lock()
	defer g.s.mu.Unlock()
	return len(g.s.segs) > 1 && !g.s.segs[0].covers(g.id, g.snapIndex)
}

// Drop discards the group's log, for a replica that has left the group or
// moved to another node: its entries, hard state and snapshots. It is
// called by the group's goroutine once the group has stopped using the
// log; a WriteSnapshot still running is waited for. When Drop returns nil:
//
//   - a drop record of the group is durable in the stream, in every sync
//     mode: Drop waits for an fdatasync as a Save with sync true does with
//     SyncAlways, and forces one with SyncEverySec and SyncNever, since
//     the node deletes the replica's data next;
//   - then every snapshot file of the group is removed and the removals
//     are durable;
//   - the group keeps no segment (Pins reports false) and is written into
//     no new segment's prefix; a reopened log recovers it empty;
//   - Shared.Group(id) returns a new, empty GroupLog, for a new replica of
//     the group, while every later call of this one returns ErrDropped and
//     State returns an empty state.
//
// When Drop fails after writing its record, every call but Drop returns
// ErrDropped, and Group(id) keeps returning this GroupLog: the record's
// segment stays, and calling Drop again, or reopening the Shared, completes
// the drop. A failed write or fdatasync fails every group (ErrFailed): the
// drop then holds after reopening if its record reached the disk, and the
// group recovers as it was otherwise. A group that never saved anything
// can be dropped too.
func (g *GroupLog) Drop() error {
	s := g.s
	if g.dropDone {
		return g.check()
	}
	if err := s.check(); err != nil {
		return err
	}
	if !g.dropped.Load() {
		g.snapMu.Lock()
		err := s.write(g, appendGroupDrop(g.buf[:0], g.id), update{drop: true})
		g.snapMu.Unlock()
		if err != nil {
			return err
		}
		g.rhs, g.rsnap, g.rfile, g.rents, g.buf = &raftpb.HardState{}, &raftpb.Snapshot{}, nil, nil, nil
	}
	if g.pos > s.durable() {
		g.syncs.Add(1)
		if err := s.waitDurable(g.pos, s.cfg.Sync == SyncAlways); err != nil {
			return err
		}
	}
	if err := s.removeGroupSnapshots(g.id); err != nil {
		return fmt.Errorf("raftlog: group %d dropped, but its snapshots are not all removed: %w", g.id, err)
	}
	s.mu.Lock()
	for i := range s.segs {
		seg := &s.segs[i]
		delete(seg.maxIndex, g.id)
		if seg.seq == g.dropSeq {
			seg.drops--
		}
	}
	if s.groups[g.id] == g {
		delete(s.groups, g.id)
	}
	s.mu.Unlock()
	g.dropDone = true
	s.compact()
	return nil
}

// check returns the error every call of the group must return now, if any.
func (g *GroupLog) check() error {
	if g.dropped.Load() {
		return fmt.Errorf("%w: group %d", ErrDropped, g.id)
	}
	return g.s.check()
}

// removeGroupSnapshots removes every snapshot file of group id and makes
// the removals durable.
func (s *Shared) removeGroupSnapshots(id uint32) error {
	if s.beforeDropRemove != nil {
		if err := s.beforeDropRemove(); err != nil {
			return err
		}
	}
	ls, err := listShared(s.dir)
	if err != nil {
		return err
	}
	for _, index := range ls.snaps[id] {
		if err := os.Remove(filepath.Join(s.dir, groupSnapName(id, index))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return fsutil.SyncDir(s.dir)
}

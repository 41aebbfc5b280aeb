package wal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/data-cluster/data-cluster/internal/fsutil"
)

// journal is the log of a generation: one stream of segments,
// DIR/gen-G/log/N.log, to which every shard's Log commits its records, so
// that a round of the shards' commits is one write and, with FsyncAlways,
// one fdatasync (group commit across shards).
//
// The shards append their records to pending under mu, each part starting
// with a shard record when the stream's last record was another shard's.
// Writes to the file are serialized by writeMu: whoever holds it takes
// everything pending and writes it with one write. With FsyncAlways the
// shards only append, and their reply goroutines wait in waitDurable: one
// at a time becomes the syncer, writes what is pending and fdatasyncs, and
// releases every waiter whose records that covered; the groups committed
// meanwhile wait for the next round. With the other policies the reply
// goroutines wait in waitWritten the same way, for one write of what is
// pending and no fdatasync.
//
// Positions count the bytes of the stream from the start of the oldest
// segment recovery needs, as found by Open.
type journal struct {
	st     *Store
	dir    string
	shards int

	// mu guards the records appended and not yet written.
	mu       sync.Mutex
	pending  []byte
	appended int64 // position at the end of pending
	last     int   // shard of the stream's last record; -1 at a segment's start

	// writeMu is held to write to the current segment and to change
	// segments; mu may be taken while it is held, not the other way round.
	writeMu  sync.Mutex
	f        *os.File
	seq      uint64    // f's number
	curStart int64     // position where f starts
	allocEnd int64     // f's bytes up to here are written (records, then zeros)
	out      []byte    // pending, taken to be written
	failing  bool      // the last write failed; pending starts with its rest
	segs     []segment // on disk, oldest first

	// ahead wakes prepareLoop when the records come within half of
	// Config.Preallocate of the end of the zeros written ahead.
	ahead chan struct{}

	written atomic.Int64 // position up to which the stream is written
	base    atomic.Int64 // position where the oldest segment recovery needs starts
	writeOK atomic.Bool

	// fileMu is held for reading by an fdatasync that runs without
	// writeMu, and for writing to close a segment; writeMu, when held
	// too, is taken first.
	fileMu sync.RWMutex

	// syncMu guards the group commit of FsyncAlways.
	// durable is the position up to which the stream is durable: read
	// anywhere, raised only with syncMu held.
	syncMu   sync.Mutex
	syncing  bool       // a goroutine is fdatasyncing for the waiters
	syncDone *sync.Cond // broadcast when that fdatasync ends
	durable  atomic.Int64

	// yield, when set, replaces runtime.Gosched in fsutil.Gather (tests).
	yield func()
}

// segment is a segment of the journal on disk.
type segment struct {
	seq   uint64
	start int64 // position of its first byte
	size  int64 // its size, as loaded (not kept up to date)
}

func newJournal(st *Store, dir string, shards int) *journal {
	j := &journal{st: st, dir: dir, shards: shards, last: -1, ahead: make(chan struct{}, 1)}
	j.syncDone = sync.NewCond(&j.syncMu)
	j.writeOK.Store(true)
	return j
}

// start makes segment seq, which begins at position pos, the current one,
// creating it with its header. It is called by Open.
func (j *journal) start(seq uint64, pos int64) error {
	f, err := createSegment(j.dir, j.shards, seq)
	if err != nil {
		return err
	}
	j.f, j.seq, j.curStart, j.allocEnd = f, seq, pos, headerLen(j.shards, seq)
	j.segs = append(j.segs, segment{seq: seq, start: pos})
	end := pos + headerLen(j.shards, seq)
	j.appended, j.last = end, -1
	j.written.Store(end)
	return nil
}

// append adds the records b of shard to the stream and returns the
// position at their end. It is called by the shard's owner.
func (j *journal) append(shard int, b []byte) int64 {
	j.mu.Lock()
	n := len(j.pending)
	if j.last != shard {
		j.pending = appendShard(j.pending, shard)
		j.last = shard
	}
	j.pending = append(j.pending, b...)
	j.appended += int64(len(j.pending) - n)
	pos := j.appended
	j.mu.Unlock()
	return pos
}

// flush writes what is pending, unless everything up to pos is written.
func (j *journal) flush(pos int64, held bool) {
	if j.written.Load() >= pos {
		return
	}
	j.writeMu.Lock()
	j.write(held)
	j.writeMu.Unlock()
}

// waitHow says how a caller of wait waits.
type waitHow int

const (
	// waitGather: a goroutine among the many that commit. It lets those
	// that are ready add their records first (fsutil.Gather).
	waitGather waitHow = iota
	// waitAlone: a caller whose records are all appended, as after a
	// round of many clients' commands it ran itself. It does without.
	waitAlone
	// waitHeld: the server's io_uring loop, which ran such a round and
	// serves every client: as waitAlone, and its write and fdatasync keep
	// its P whatever the disk's recent speed (fsutil.WriteHeld,
	// fsutil.DatasyncHeld), as Redis's event loop keeps its thread. The
	// loop has nothing to do until they end, and a goroutine that parks
	// for them costs a locked thread's hand-offs.
	waitHeld
)

// wait returns once the stream is as durable up to pos as policy f
// promises: fdatasynced with FsyncAlways (waitDurable), written otherwise
// (waitWritten).
func (j *journal) wait(pos int64, f Fsync, how waitHow) {
	if f != FsyncAlways {
		j.waitWritten(pos, how)
		return
	}
	if j.syncedPos() < pos {
		j.waitDurable(pos, how)
	}
}

// waitWritten returns once the stream is written up to pos, or a write
// failed (fail reported it; the records wait for the next commit's write).
// Unless a write meanwhile covered pos, it first yields until the
// goroutines that are ready have added their records (fsutil.Gather; with
// waitGather), as Redis's event loop runs every ready client before it writes
// its AOF buffer, then writes everything pending with one write: under
// FsyncEverySec and FsyncNo a round of the shards' commits costs one write,
// where each commit made one before.
func (j *journal) waitWritten(pos int64, how waitHow) {
	if j.written.Load() >= pos {
		return
	}
	if how == waitGather {
		fsutil.Gather(j.appendedPos, j.yield)
	}
	j.flush(pos, how == waitHeld)
}

// write writes everything pending to the current segment with one write
// (with held, keeping the P: fsutil.WriteHeld); writeMu is held. A failed
// write keeps the rest of the bytes in front of pending, to be written
// first by the next write, and is reported by fail; write returns false
// then.
func (j *journal) write(held bool) bool {
	j.mu.Lock()
	j.out, j.pending = j.pending, j.out[:0]
	j.mu.Unlock()
	if len(j.out) == 0 {
		return !j.failing
	}
	write := fsutil.Write
	if held {
		write = fsutil.WriteHeld
	}
	n, err := write(j.f, j.out)
	j.written.Add(int64(n))
	if err != nil {
		j.mu.Lock()
		j.pending = append(append([]byte(nil), j.out[n:]...), j.pending...)
		j.mu.Unlock()
		j.out = j.out[:0]
		j.fail(fmt.Errorf("writing %s: %w", j.f.Name(), err))
		return false
	}
	if cap(j.out) > 1<<20 {
		j.out = nil
	} else {
		j.out = j.out[:0]
	}
	if j.failing {
		j.failing = false
		j.writeOK.Store(true)
		j.st.log.Info("log writes work again", "file", j.f.Name())
	}
	if ahead := j.st.cfg.Preallocate; ahead > 0 && j.allocEnd-(j.written.Load()-j.curStart) < ahead/2 {
		select {
		case j.ahead <- struct{}{}:
		default:
		}
	}
	if j.st.dueForSnapshot() {
		select {
		case j.st.trigger <- struct{}{}:
		default:
		}
	}
	return true
}

// fail reports a failed write; writeMu is held.
func (j *journal) fail(err error) {
	if !j.failing {
		j.failing = true
		j.writeOK.Store(false)
		j.st.log.Error("cannot write the log; will retry", "err", err)
	}
	if j.st.Fsync() == FsyncAlways && j.st.cfg.Fatal != nil {
		j.st.cfg.Fatal(err)
	}
}

// syncedPos returns the position up to which the stream is durable.
func (j *journal) syncedPos() int64 { return j.durable.Load() }

// waitDurable returns once an fdatasync that started after the stream
// reached pos has completed, or one failed (Config.Fatal is told). One
// goroutine at a time syncs: a waiter that finds none syncing writes
// everything pending, fdatasyncs, and releases every waiter at or below
// the position it covered; those that came meanwhile wait for the next.
// how is waitWritten's.
func (j *journal) waitDurable(pos int64, how waitHow) {
	j.syncMu.Lock()
	for j.syncing && j.durable.Load() < pos {
		j.syncDone.Wait()
	}
	if j.durable.Load() >= pos {
		j.syncMu.Unlock()
		return
	}
	j.syncing = true
	j.syncMu.Unlock()
	if how == waitGather && syncsInline() {
		// The requests already read, of every connection and shard,
		// join this round (see fsutil.Gather).
		fsutil.Gather(j.appendedPos, j.yield)
	}
	datasync := j.st.datasync
	if how == waitHeld {
		datasync = j.st.datasyncHeld
	}
	target, err := j.sync(datasync, how == waitHeld)
	j.syncMu.Lock()
	j.syncing = false
	if err == nil {
		j.setSynced(target)
	}
	j.syncDone.Broadcast()
	j.syncMu.Unlock()
	if err != nil && !errors.Is(err, errWrite) {
		j.writeOK.Store(false)
		j.st.log.Error("cannot fsync the log", "err", err)
		if j.st.cfg.Fatal != nil {
			j.st.cfg.Fatal(err)
		}
	}
}

// syncsInline is fsutil.SyncsInline; tests replace it.
var syncsInline = fsutil.SyncsInline

// appendedPos returns the position at the end of the records appended.
func (j *journal) appendedPos() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.appended
}

// errWrite is returned by sync when the write before the fdatasync failed
// (fail reported it).
var errWrite = errors.New("wal: the log cannot be written")

// sync writes what is pending (write's held) and fdatasyncs the current
// segment with datasync, and returns the position it made durable.
// Segments before the current one were fdatasynced when the next one
// began.
func (j *journal) sync(datasync func(*os.File) error, held bool) (int64, error) {
	j.writeMu.Lock()
	if !j.write(held) {
		j.writeMu.Unlock()
		return 0, errWrite
	}
	f, target := j.f, j.written.Load()
	j.fileMu.RLock()
	j.writeMu.Unlock()
	defer j.fileMu.RUnlock()
	start := time.Now()
	if err := datasync(f); err != nil {
		return 0, fmt.Errorf("fsync of %s: %w", f.Name(), err)
	}
	if fn := j.st.cfg.Synced; fn != nil && j.st.Fsync() == FsyncAlways {
		fn(time.Since(start))
	}
	return target, nil
}

// setSynced raises the durable position to pos and wakes the waiters;
// syncMu is held.
func (j *journal) setSynced(pos int64) {
	if pos > j.durable.Load() {
		j.durable.Store(pos)
	}
	j.syncDone.Broadcast()
}

// roll starts segment seq+1: it creates it, writes what is pending to the
// current segment, makes the new one current, and fdatasyncs the old one
// before anything after it counts as durable. It returns the new segment's
// number and the position where it starts.
func (j *journal) roll() (uint64, int64, error) {
	j.writeMu.Lock()
	defer j.writeMu.Unlock()
	seq := j.seq + 1
	f, err := createSegment(j.dir, j.shards, seq)
	if err != nil {
		return 0, 0, err
	}
	abort := func(err error) (uint64, int64, error) {
		f.Close()
		os.Remove(f.Name())
		return 0, 0, err
	}
	if !j.write(false) { // the bulk, while the shards go on appending
		return abort(errWrite)
	}
	j.mu.Lock()
	if len(j.pending) > 0 {
		n, err := fsutil.Write(j.f, j.pending)
		j.written.Add(int64(n))
		if err != nil {
			j.pending = j.pending[:copy(j.pending, j.pending[n:])]
			j.mu.Unlock()
			j.fail(fmt.Errorf("writing %s: %w", j.f.Name(), err))
			return abort(errWrite)
		}
		j.pending = j.pending[:0]
	}
	old, end, oldStart := j.f, j.written.Load(), j.curStart
	j.f, j.seq, j.last, j.curStart, j.allocEnd = f, seq, -1, end, headerLen(j.shards, seq)
	j.segs = append(j.segs, segment{seq: seq, start: end})
	j.appended = end + headerLen(j.shards, seq)
	j.written.Store(j.appended)
	j.mu.Unlock()
	// Syncers wait for writeMu: none counts what follows as durable
	// before this. The zeros written ahead go (a crash before leaves
	// them: recovery takes zeros to the end of a segment as its end).
	err = old.Truncate(end - oldStart)
	if err == nil {
		err = fsutil.Datasync(old)
	}
	if err == nil {
		j.syncMu.Lock()
		j.setSynced(end)
		j.syncMu.Unlock()
	}
	j.fileMu.Lock()
	if cerr := old.Close(); err == nil {
		err = cerr
	}
	j.fileMu.Unlock()
	if err != nil {
		// The records are in the new segment's predecessor, which is not
		// known durable: under FsyncAlways that stops the server.
		j.fail(fmt.Errorf("fsync of %s: %w", old.Name(), err))
		return 0, 0, err
	}
	return seq, end, nil
}

// removeBefore removes the segments numbered below seq and makes the
// position where seq starts the base.
func (j *journal) removeBefore(seq uint64) error {
	j.writeMu.Lock()
	var doomed []segment
	for len(j.segs) > 1 && j.segs[0].seq < seq {
		doomed = append(doomed, j.segs[0])
		j.segs = j.segs[1:]
	}
	j.base.Store(j.segs[0].start)
	j.writeMu.Unlock()
	if len(doomed) == 0 {
		return nil
	}
	for _, s := range doomed {
		if err := os.Remove(filepath.Join(j.dir, segName(s.seq, logExt))); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return fsutil.SyncDir(j.dir)
}

// close writes what is pending, fdatasyncs and closes the current segment.
// It is called once the shards have stopped.
func (j *journal) close() error {
	j.writeMu.Lock()
	defer j.writeMu.Unlock()
	if j.f == nil {
		return nil
	}
	ok := j.write(false)
	err := j.f.Truncate(j.written.Load() - j.curStart)
	if err == nil {
		err = j.f.Sync()
	}
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	j.f = nil
	if err == nil && !ok {
		err = fmt.Errorf("%d bytes of log could not be written", len(j.pending))
	}
	return err
}

// prepPiece is the most zeros prepare writes in one hold of writeMu.
const prepPiece = 256 << 10

// prepareLoop writes the current segment ahead with zeros each time a write
// wakes it, until ctx ends. A failure is logged once, until it works again:
// the records are then appended past the zeros, as to any file.
func (j *journal) prepareLoop(ctx context.Context) {
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-j.ahead:
		}
		err := j.prepare()
		if err != nil && !failing {
			j.st.log.Warn("cannot write the log ahead with zeros; appending without", "err", err)
		}
		failing = err != nil
	}
}

// prepare writes zeros after the current segment's records, up to
// Config.Preallocate bytes past them, and fdatasyncs them: the appends
// that overwrite them then change neither the file's size nor its blocks,
// and their fdatasync writes the data alone, not the inode. The zeros go
// a piece at a time with writeMu held, so that no record is written
// meanwhile, from the end of the records or of the zeros, whichever is
// later: never over a record.
func (j *journal) prepare() error {
	zeros := make([]byte, prepPiece)
	var f *os.File
	var target int64
	for {
		j.writeMu.Lock()
		if j.f == nil || f != nil && f != j.f {
			j.writeMu.Unlock()
			return nil // closed, or a new segment
		}
		off := j.written.Load() - j.curStart
		if f == nil {
			f, target = j.f, off+j.st.cfg.Preallocate
		}
		from := max(j.allocEnd, off)
		if from >= target {
			// Make the zeros durable.
			j.fileMu.RLock()
			j.writeMu.Unlock()
			err := fsutil.Datasync(f)
			j.fileMu.RUnlock()
			return err
		}
		n := min(prepPiece, target-from)
		_, err := f.WriteAt(zeros[:n], from)
		if err == nil {
			j.allocEnd = from + n
		}
		j.writeMu.Unlock()
		if err != nil {
			return err
		}
	}
}

// createSegment creates journal segment seq of a generation of shards in
// dir with its header record, and fsyncs the directory so that the file
// outlives a crash.
func createSegment(dir string, shards int, seq uint64) (*os.File, error) {
	return createFile(dir, kindJournal, shards, seq)
}

// createFile creates log segment seq in dir with its header of kind for
// shard, and fsyncs the directory.
func createFile(dir string, kind byte, shard int, seq uint64) (*os.File, error) {
	path := filepath.Join(dir, segName(seq, logExt))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(appendHeader(nil, kind, shard, seq)); err != nil {
		f.Close()
		return nil, err
	}
	if err := fsutil.SyncDir(dir); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// headerLen is the length of a segment's header: the same for both kinds.
func headerLen(shards int, seq uint64) int64 {
	return int64(len(appendHeader(nil, kindJournal, shards, seq)))
}

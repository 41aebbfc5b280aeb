package wal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/data-cluster/data-cluster/internal/fsutil"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/ring"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// Fsync says when a log is flushed to stable storage.
type Fsync uint8

// Fsync policies, named as Redis's appendfsync values.
const (
	// FsyncEverySec fsyncs each log at least once a second, from a
	// background goroutine: a power failure loses at most about a second.
	FsyncEverySec Fsync = iota
	// FsyncAlways fsyncs once per group of batches, before their replies.
	FsyncAlways
	// FsyncNo leaves flushing to the operating system.
	FsyncNo
)

// String returns the policy's name: always, everysec or no.
func (f Fsync) String() string {
	switch f {
	case FsyncAlways:
		return "always"
	case FsyncNo:
		return "no"
	}
	return "everysec"
}

// ParseFsync returns the policy named always, everysec or no.
func ParseFsync(s string) (Fsync, error) {
	switch strings.ToLower(s) {
	case "always":
		return FsyncAlways, nil
	case "everysec":
		return FsyncEverySec, nil
	case "no":
		return FsyncNo, nil
	}
	return 0, fmt.Errorf("want always, everysec or no, got %q", s)
}

// Config configures a Store.
type Config struct {
	// Dir is the data directory; it is created if missing. Empty means no
	// persistence: the server does not open a Store.
	Dir string
	// Fsync is when logs are flushed to stable storage (everysec).
	Fsync Fsync
	// SnapshotLogSize is the size in bytes a shard's log must reach since
	// its last snapshot before it is compacted into a new one (64 MiB). The
	// log must also be at least as large as that snapshot, as with Redis's
	// auto-aof-rewrite-percentage 100, so that a large data set is not
	// rewritten for every few megabytes of changes.
	SnapshotLogSize int64
	// Preallocate is how far ahead of its records the log is written with
	// zeros, in bytes (8 MiB; 0: not at all), by a background goroutine
	// woken when the records come within half of it: the appends then
	// overwrite zeros already on disk, and their fdatasync need not write
	// the file's size and blocks too.
	Preallocate int64
	// Logger receives warnings (a torn tail truncated, a failed write) and
	// notices (data loaded, snapshots); nil means slog.Default().
	Logger *slog.Logger
	// Fatal, when not nil, is called when a log cannot be written or
	// fsynced with FsyncAlways, from the goroutine that was committing. A
	// server sets it to exit, as Redis does; if it returns, the failure is
	// handled as with the other policies.
	Fatal func(error)
	// Synced, when not nil, is told how long each fsync of a log took
	// under FsyncAlways (for the latency monitor's aof-fsync-always
	// event), from the goroutine that fsynced. It must be quick.
	Synced func(time.Duration)
}

// DefaultConfig returns the defaults: no directory, fsync every second,
// snapshots after 64 MiB of log, 8 MiB of log written ahead with zeros.
func DefaultConfig() Config {
	return Config{Fsync: FsyncEverySec, SnapshotLogSize: 64 << 20, Preallocate: 8 << 20}
}

// Validate reports whether c can be used.
func (c Config) Validate() error {
	switch {
	case c.Dir == "":
		return fmt.Errorf("%w: no data directory", ErrConfig)
	case c.Fsync > FsyncNo:
		return fmt.Errorf("%w: unknown fsync policy %d", ErrConfig, c.Fsync)
	case c.Preallocate < 0:
		return fmt.Errorf("%w: preallocation must not be negative, got %d", ErrConfig, c.Preallocate)
	case c.SnapshotLogSize < 1:
		return fmt.Errorf("%w: snapshot log size must be positive, got %d", ErrConfig, c.SnapshotLogSize)
	}
	return nil
}

// Errors returned by the package.
var (
	// ErrConfig is returned by Open for an invalid Config.
	ErrConfig = errors.New("wal: invalid config")
	// ErrLocked is returned by Open when another process uses the directory.
	ErrLocked = errors.New("wal: data directory is in use by another process")
	// ErrCorrupt is matched by every CorruptError.
	ErrCorrupt = errors.New("wal: corrupt data")
	// ErrSaveInProgress is returned by Save when a snapshot is being
	// written and the caller does not want to wait for it.
	ErrSaveInProgress = errors.New("wal: background save already in progress")
	// ErrClosed is returned by Save after Stop.
	ErrClosed = errors.New("wal: closed")
)

// CorruptError reports damaged data that recovery will not load: the file,
// the offset of the first bad record (-1 when the whole file is missing or
// bad), and what is wrong. Repair truncates the file there.
type CorruptError struct {
	Path   string
	Offset int64
	Reason string
}

func (e *CorruptError) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("corrupt data in %s: %s", e.Path, e.Reason)
	}
	return fmt.Sprintf("corrupt data in %s at offset %d: %s", e.Path, e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Holder lends a shard's keyspace to a background task. HoldShard blocks
// until shard i is held and returns its keyspace and the function that gives
// it back, which must be called exactly once. It must be safe for concurrent
// use. router.Router implements it.
type Holder interface {
	HoldShard(ctx context.Context, i int) (db *keyspace.DB, release func(), err error)
}

// Store is a server's data directory: the generation's journal, one Log per
// shard writing to it, the background fsync of FsyncEverySec, and the
// snapshots. Its methods are safe for concurrent use, except that each Log
// belongs to its shard.
type Store struct {
	cfg    Config
	log    *slog.Logger
	lock   *os.File
	gen    uint64
	shards int
	j      *journal
	logs   []*Log
	load   LoadStats

	stopOnce sync.Once
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopped  chan struct{}
	mu       sync.Mutex // guards saves, saveErr and lastDur
	saves    int64
	saveErr  bool
	lastDur  time.Duration
	syncErr  error         // owned by the syncer goroutine
	syncOK   atomic.Bool   // syncErr == nil, for Stats
	fsync    atomic.Uint32 // the Fsync in force: cfg.Fsync until SetFsync
	running  atomic.Bool   // snapshots are being written
	started  atomic.Int64  // Unix milliseconds when they began

	trigger  chan struct{}   // the journal has grown enough for snapshots
	requests chan chan error // snapshots asked for (nil: nobody waits)

	// datasync is fsutil.DatasyncInline, by which the group commit of
	// FsyncAlways fsyncs (on Linux the syncing goroutine keeps its P
	// while the disk works, unless the disk was slow lately: see
	// fsutil.Gather); tests replace it before the shards run.
	datasync func(*os.File) error
	// datasyncHeld is fsutil.DatasyncHeld, by which WaitDurableHeld's
	// group commit fdatasyncs; tests replace it too.
	datasyncHeld func(*os.File) error
}

// LoadStats describe what Open loaded.
type LoadStats struct {
	Keys     int64         // keys loaded
	Expired  int64         // records skipped because their key had expired
	Bytes    int64         // bytes of snapshots and logs read
	Duration time.Duration // time spent loading
}

// Open locks cfg.Dir, loads its data into engines (one per shard of the
// topology r, empty when given), and returns a Store with a Log per shard,
// ready to append. When the directory was written with another number of
// shards or vnodes, every key is sent to the shard that owns it under r and
// the directory is rewritten for the new topology before Open returns.
//
// Damaged data stops Open with a *CorruptError, except a torn tail at the end
// of a shard's log, which is truncated with a warning. Call Start once the
// shards run, and Stop then Close to shut down.
func Open(cfg Config, r *ring.Ring, engines []storage.Engine) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(engines) != r.Shards() {
		return nil, fmt.Errorf("%w: %d engines for %d shards", ErrConfig, len(engines), r.Shards())
	}
	st := &Store{
		cfg: cfg, log: cfg.Logger, shards: r.Shards(), stopped: make(chan struct{}), datasync: fsutil.DatasyncInline, datasyncHeld: fsutil.DatasyncHeld,
		trigger: make(chan struct{}, 1), requests: make(chan chan error, 16),
	}
	st.fsync.Store(uint32(cfg.Fsync))
	if st.log == nil {
		st.log = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(cfg.Dir, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := lockFile(lock); err != nil {
		lock.Close()
		if errors.Is(err, ErrLocked) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, cfg.Dir)
		}
		return nil, fmt.Errorf("wal: locking %s: %w", cfg.Dir, err)
	}
	st.lock = lock
	if err := st.open(r, engines); err != nil {
		if st.j != nil && st.j.f != nil {
			st.j.f.Close()
		}
		lock.Close()
		return nil, err
	}
	st.syncOK.Store(true)
	return st, nil
}

// Logs returns the shards' logs, indexed by shard.
func (st *Store) Logs() []*Log { return st.logs }

// Config returns the configuration the Store was opened with, with the
// Fsync policy in force.
func (st *Store) Config() Config {
	c := st.cfg
	c.Fsync = st.Fsync()
	return c
}

// WaitDurable returns once the journal is durable up to pos, a position a
// shard's Log.CommitAsync returned, as Log.WaitDurable does, but without
// first yielding to the goroutines that are ready: for a caller whose
// records are all appended by then (a connection leaving the server's
// io_uring loop with replies of the loop's rounds). It must not be called
// after Close.
func (st *Store) WaitDurable(pos int64) { st.j.wait(pos, st.Fsync(), waitAlone) }

// WaitDurableHeld is WaitDurable for the server's io_uring loop, which
// serves every client of the round: its write and fdatasync keep the
// caller's P, whatever the disk's recent speed, as Redis's event loop
// keeps its thread (see waitHeld). It must not be called after Close.
func (st *Store) WaitDurableHeld(pos int64) { st.j.wait(pos, st.Fsync(), waitHeld) }

// Fsync returns the fsync policy in force.
func (st *Store) Fsync() Fsync { return Fsync(st.fsync.Load()) }

// SetFsync changes the fsync policy, as CONFIG SET appendfsync does: from
// the next commit of each log on. Logs switching to FsyncAlways fsync what
// they wrote before at their next commit; the background fsync of
// FsyncEverySec runs only while that is the policy.
func (st *Store) SetFsync(f Fsync) { st.fsync.Store(uint32(f)) }

// Loaded returns what Open loaded.
func (st *Store) Loaded() LoadStats { return st.load }

// Start starts the background work: the fsync goroutine of FsyncEverySec,
// the snapshot goroutine, which takes shards through h, and the goroutine
// that writes the log ahead with zeros. Call it once, after
// the shards run.
func (st *Store) Start(h Holder) {
	ctx, cancel := context.WithCancel(context.Background())
	st.cancel = cancel
	st.wg.Go(func() { st.syncLoop(ctx) })
	st.wg.Go(func() { st.compactLoop(ctx, h) })
	if st.cfg.Preallocate > 0 {
		st.wg.Go(func() { st.j.prepareLoop(ctx) })
		st.j.ahead <- struct{}{} // the segment Open started
	}
}

// Stop stops the background work, abandoning a snapshot in progress (its
// temporary file is removed). Call it before the shards stop.
func (st *Store) Stop() {
	st.stopOnce.Do(func() {
		close(st.stopped)
		if st.cancel != nil {
			st.cancel()
		}
		st.wg.Wait()
	})
}

// Close writes what the logs still buffer, fsyncs and closes the journal,
// and unlocks the directory. Call it after Stop, once the shards have
// stopped.
func (st *Store) Close() error {
	st.Stop()
	var errs []error
	for _, l := range st.logs {
		if len(l.buf) > 0 {
			l.pos = st.j.append(l.shard, l.buf)
			l.buf = nil
		}
	}
	if err := st.j.close(); err != nil {
		errs = append(errs, err)
	}
	if st.lock != nil {
		st.lock.Close()
		st.lock = nil
	}
	return errors.Join(errs...)
}

// syncLoop fsyncs the journal once a second when it was written, or has
// records waiting to be written, since its last fsync. Records no reply
// waits for (the active expiry's deletes) are written by the next commit
// that one waits for, or here.
func (st *Store) syncLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if st.Fsync() == FsyncEverySec {
				st.syncAll()
			}
		}
	}
}

func (st *Store) syncAll() {
	j := st.j
	if j.appendedPos() <= j.syncedPos() && j.writeOK.Load() {
		return
	}
	pos, err := j.sync(fsutil.Datasync, false)
	if errors.Is(err, errWrite) {
		return // still failing: fail logged it
	}
	if err != nil {
		if st.syncErr == nil {
			st.log.Error("cannot fsync the log; will retry", "err", err)
		}
		st.syncErr = err
		st.syncOK.Store(false)
		return
	}
	if st.syncErr != nil {
		st.log.Info("log fsyncs work again")
		st.syncErr = nil
		st.syncOK.Store(true)
	}
	j.syncMu.Lock()
	j.setSynced(pos)
	j.syncMu.Unlock()
}

// dueForSnapshot reports whether the journal has grown enough to be
// compacted: since the oldest segment recovery needs, by
// Config.SnapshotLogSize, and at least as much as the snapshots hold.
func (st *Store) dueForSnapshot() bool {
	size := st.j.written.Load() - st.j.base.Load()
	if size < st.cfg.SnapshotLogSize || st.running.Load() {
		return false
	}
	var snaps int64
	for _, l := range st.logs {
		snaps += l.snapBytes.Load()
	}
	return size >= snaps
}

// Stats describe the Store for INFO persistence.
type Stats struct {
	Fsync            Fsync
	ChangesSinceSave int64 // records logged since the newest snapshots began
	SaveInProgress   bool
	SaveSeconds      int64 // of the snapshot in progress, or -1
	LastSave         int64 // Unix seconds when every shard last completed a snapshot
	LastSaveOK       bool
	LastSaveSeconds  int64 // duration of the last snapshot, or -1
	Saves            int64 // snapshots completed since Open
	WriteOK          bool  // every log's last write succeeded
	LogBytes         int64 // bytes of the journal from the oldest segment recovery needs
	SnapshotBytes    int64 // bytes of the newest snapshots
	Load             LoadStats
}

// Stats returns the Store's current figures.
func (st *Store) Stats() Stats {
	s := Stats{Fsync: st.Fsync(), WriteOK: st.syncOK.Load() && st.j.writeOK.Load(), SaveSeconds: -1, LastSaveSeconds: -1, Load: st.load}
	s.LogBytes = st.j.written.Load() - st.j.base.Load()
	for _, l := range st.logs {
		s.ChangesSinceSave += l.records.Load() - l.recBase.Load()
		s.SnapshotBytes += l.snapBytes.Load()
	}
	s.LastSave = st.LastSave()
	if st.running.Load() {
		s.SaveInProgress = true
		s.SaveSeconds = (time.Now().UnixMilli() - st.started.Load()) / 1000
	}
	st.mu.Lock()
	s.Saves = st.saves
	s.LastSaveOK = !st.saveErr
	if st.saves > 0 {
		s.LastSaveSeconds = int64(st.lastDur.Seconds())
	}
	st.mu.Unlock()
	return s
}

// LastSave returns the Unix time, in seconds, when every shard had last
// completed a snapshot (Open counts as one, as Redis counts its start).
func (st *Store) LastSave() int64 {
	t := int64(1<<63 - 1)
	for _, l := range st.logs {
		t = min(t, l.lastSave.Load())
	}
	return t
}

// Saving reports whether snapshots are being written.
func (st *Store) Saving() bool { return st.running.Load() }

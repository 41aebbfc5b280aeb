package raftlog

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// SyncMode says when a Shared flushes what it wrote to stable storage.
type SyncMode int

// Sync modes, named as the server's --fsync values.
const (
	// SyncAlways fdatasyncs in every Save called with sync true, before it
	// returns. It is the only mode in which Raft's guarantees hold across a
	// power failure.
	SyncAlways SyncMode = iota
	// SyncEverySec fdatasyncs from a background goroutine at most once a
	// second, when something was written; Save never fsyncs itself.
	SyncEverySec
	// SyncNever leaves flushing to the operating system.
	SyncNever
)

// String returns the mode's name: always, everysec or no.
func (m SyncMode) String() string {
	switch m {
	case SyncAlways:
		return "always"
	case SyncEverySec:
		return "everysec"
	case SyncNever:
		return "no"
	}
	return fmt.Sprintf("SyncMode(%d)", int(m))
}

// ParseSyncMode returns the mode named always, everysec or no (any case).
func ParseSyncMode(s string) (SyncMode, error) {
	switch strings.ToLower(s) {
	case "always":
		return SyncAlways, nil
	case "everysec":
		return SyncEverySec, nil
	case "no":
		return SyncNever, nil
	}
	return 0, fmt.Errorf("%w: want always, everysec or no, got %q", ErrConfig, s)
}

// Config configures a Shared.
type Config struct {
	// Sync is when the log is flushed to stable storage (SyncAlways).
	Sync SyncMode
	// SegmentSize is the size in bytes past which the log starts a new
	// segment file (64 MiB). A Save that would take the current segment
	// past it goes to a new segment, unless the current one holds no
	// record besides its header and hard state. Only whole segments are
	// deleted after a snapshot, so a smaller size frees disk sooner.
	SegmentSize int64
	// Logger receives warnings (a torn tail truncated, a snapshot set
	// aside, a failed background fsync); nil means slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns the defaults: fdatasync on every Save that asks for
// it, 64 MiB segments, the default logger.
func DefaultConfig() Config {
	return Config{Sync: SyncAlways, SegmentSize: 64 << 20}
}

// Validate reports whether c can be used.
func (c Config) Validate() error {
	switch {
	case c.Sync < SyncAlways || c.Sync > SyncNever:
		return fmt.Errorf("%w: unknown sync mode %d", ErrConfig, int(c.Sync))
	case c.SegmentSize < 1:
		return fmt.Errorf("%w: segment size must be positive, got %d", ErrConfig, c.SegmentSize)
	}
	return nil
}

// Errors returned by the package.
var (
	// ErrConfig is returned for an invalid Config or sync mode name.
	ErrConfig = errors.New("raftlog: invalid config")
	// ErrLocked is returned by OpenShared when another Shared, in this process or
	// another, has the directory open.
	ErrLocked = errors.New("raftlog: directory is in use")
	// ErrCorrupt is matched by every *CorruptError.
	ErrCorrupt = errors.New("raftlog: corrupt data")
	// ErrOutOfOrder is returned by Save for entries that do not have
	// consecutive indexes, leave a gap after the last saved entry or reach
	// back to the snapshot, and by SaveSnapshot for a snapshot no newer
	// than the one saved; nothing is written then.
	ErrOutOfOrder = errors.New("raftlog: out of order")
	// ErrTooLarge is returned for a record of 4 GiB or more; nothing is
	// written then.
	ErrTooLarge = errors.New("raftlog: record too large")
	// ErrFailed is returned by every call after a write or an fsync of the
	// log failed: what reached the disk is unknown, so the Shared must be
	// closed and opened again, which recovers a whole prefix.
	ErrFailed = errors.New("raftlog: an earlier write failed")
	// ErrClosed is returned by calls after Close.
	ErrClosed = errors.New("raftlog: closed")
	// ErrDropped is returned by the calls of a GroupLog whose Drop wrote
	// the group's drop record: the group's log is gone, and Shared.Group
	// returns a new one once Drop has returned nil.
	ErrDropped = errors.New("raftlog: group log dropped")
)

// CorruptError reports damaged data that Open will not load: the file, the
// offset of the first bad record (-1 when the damage is not at one place in
// one file), and what is wrong.
type CorruptError struct {
	Path   string
	Offset int64
	Reason string
}

// Error describes the damage.
func (e *CorruptError) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("raftlog: corrupt data in %s: %s", e.Path, e.Reason)
	}
	return fmt.Sprintf("raftlog: corrupt data in %s at offset %d: %s", e.Path, e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

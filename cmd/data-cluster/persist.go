package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/data-cluster/data-cluster/internal/server"
	"github.com/data-cluster/data-cluster/internal/wal"
)

// persistOptions are the flags of persistence.
type persistOptions struct {
	dataDir         string
	fsync           string
	snapshotLogSize byteSize
}

func (p *persistOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&p.dataDir, "data-dir", "", "directory where each shard keeps a write-ahead log and snapshots; empty: data in memory only")
	fs.StringVar(&p.fsync, "fsync", "everysec", "with --data-dir, when logs are fsynced: always (before replying), everysec or no (left to the OS)")
	p.snapshotLogSize = 64 << 20
	fs.Var(&p.snapshotLogSize, "snapshot-log-size", "with --data-dir, log size in `bytes` since the last snapshot from which a shard compacts its log into a new snapshot "+unitsHelp)
}

// validate checks the values; from names them in errors.
func (p persistOptions) validate(from source) error {
	if _, err := wal.ParseFsync(p.fsync); err != nil {
		return fmt.Errorf("invalid value %q for %s: want always, everysec or no", p.fsync, from.name("fsync"))
	}
	if p.snapshotLogSize < 1 {
		return fmt.Errorf("invalid value %d for %s: must be at least 1 byte", p.snapshotLogSize, from.name("snapshot-log-size"))
	}
	return nil
}

// apply sets the persistence of cfg. With --fsync always, a log that cannot
// be written stops the process, as Redis does.
func (p persistOptions) apply(cfg *server.Config, log *slog.Logger) {
	cfg.Persistence.Dir = p.dataDir
	cfg.Persistence.Fsync, _ = wal.ParseFsync(p.fsync)
	cfg.Persistence.SnapshotLogSize = int64(p.snapshotLogSize)
	cfg.Persistence.Fatal = func(err error) {
		log.Error("cannot write the log with --fsync always; exiting", "err", err)
		os.Exit(exitError)
	}
}

// explain adds to a start failure caused by damaged data how to repair it.
func (p persistOptions) explain(err error) error {
	if errors.Is(err, wal.ErrCorrupt) {
		return fmt.Errorf("%w\nthe data directory is damaged: 'data-cluster repair --data-dir %s' truncates the damaged file there, keeping the bytes it cuts in a .corrupt file beside it", err, p.dataDir)
	}
	return err
}

// runRepair runs `data-cluster repair --data-dir DIR`: it truncates damaged
// logs and snapshots at their first bad record (see wal.Repair) and prints
// what it did. It returns 0 when the directory is loadable, 1 when it could
// not be repaired, 2 for invalid flags.
func runRepair(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("data-cluster repair", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var dir string
	fs.StringVar(&dir, "data-dir", os.Getenv(envPrefix+"DATA_DIR"), "data directory to repair; the server must not be running on it")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: data-cluster repair --data-dir DIR\n\n")
		fmt.Fprintf(stderr, "Truncates each damaged log or snapshot of DIR at its first bad record, keeping\n")
		fmt.Fprintf(stderr, "the bytes it cuts (and the shard's later log segments) in .corrupt files, so\n")
		fmt.Fprintf(stderr, "that the server starts with everything before the damage.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 || dir == "" {
		if dir == "" {
			fmt.Fprintf(stderr, "data-cluster repair: --data-dir is required\n")
		} else {
			fmt.Fprintf(stderr, "data-cluster repair: unexpected argument %q\n", fs.Arg(0))
		}
		fs.Usage()
		return exitUsage
	}
	done, err := wal.Repair(dir)
	for _, d := range done {
		fmt.Fprintln(stdout, d)
	}
	if err != nil {
		fmt.Fprintf(stderr, "data-cluster repair: %v\n", err)
		return exitError
	}
	if len(done) == 0 {
		fmt.Fprintf(stdout, "%s: nothing to repair\n", strings.TrimRight(dir, "/"))
	}
	return exitOK
}

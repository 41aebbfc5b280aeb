//go:build faults

// Disk faults for tests, in builds with the faults tag only
// (go build -tags faults): the robustness suite (test/robustness) builds
// data-cluster this way to slow down or fail a node's fsyncs at will.
//
// When the environment variable DATA_CLUSTER_DISK_FAULTS names a file (the
// control file), every Datasync and DatasyncInline first reads it, whole:
//
//   - missing or empty: no fault;
//   - a line "delay=<Go duration>" (delay=300ms): Datasync sleeps that long,
//     then syncs; DatasyncInline waits that long keeping its P, as its
//     fdatasync would on a slow disk, and then, having been slow, sends the
//     next second's fdatasyncs through the io_uring;
//   - a line "fail": Datasync returns an error wrapping syscall.EIO and
//     does not sync, as a disk that has failed would;
//   - any other non-blank line: Datasync fails the same way, so that a typo
//     in the control file shows instead of passing for no fault.
//
// A delay and fail together sleep, then fail. The file is read on every
// call, so faults start and end as it is rewritten; write it atomically
// (a temporary file renamed over it), or a sync may see half a line.
// Without the tag this file is not built and Datasync is unchanged.

package fsutil

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// FaultsEnv names the environment variable that names the control file.
const FaultsEnv = "DATA_CLUSTER_DISK_FAULTS"

func init() {
	if path := os.Getenv(FaultsEnv); path != "" {
		beforeDatasync = fileFaults(path)
	}
}

// fileFaults returns the hook that reads the control file at path and
// returns the delay and the failure it names.
func fileFaults(path string) func() (time.Duration, error) {
	return func() (time.Duration, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			// Missing (or unreadable): no fault.
			return 0, nil
		}
		var delay time.Duration
		var fail error
		for line := range strings.Lines(string(b)) {
			line = strings.TrimSpace(line)
			switch {
			case line == "":
			case line == "fail":
				fail = fmt.Errorf("fsutil: fdatasync failed (injected by %s): %w", path, syscall.EIO)
			case strings.HasPrefix(line, "delay="):
				d, err := time.ParseDuration(strings.TrimPrefix(line, "delay="))
				if err != nil || d < 0 {
					return 0, fmt.Errorf("fsutil: %s: bad line %q: %w", path, line, syscall.EIO)
				}
				delay = d
			default:
				return 0, fmt.Errorf("fsutil: %s: unknown line %q: %w", path, line, syscall.EIO)
			}
		}
		return delay, fail
	}
}

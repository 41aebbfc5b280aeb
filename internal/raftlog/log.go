package raftlog

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/data-cluster/data-cluster/internal/fsutil"
)

// syncInterval is how often SyncEverySec fdatasyncs.
var syncInterval = time.Second

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

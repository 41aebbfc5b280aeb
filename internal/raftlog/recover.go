package raftlog

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"go.etcd.io/raft/v3/raftpb"
)

// replayer rebuilds a log from its records, in the order they were saved.
// It holds the entries after base, which are consecutive.
type replayer struct {
	base uint64
	ents []*raftpb.Entry
	hs   *raftpb.HardState
	// dropSeq is the segment of a shared log holding the group's last
	// drop record, 0 when none was replayed; marks then holds the index
	// of every snapmark replayed after that record.
	dropSeq uint64
	marks   map[uint64]bool
}

func (r *replayer) lastIndex() uint64 { return r.base + uint64(len(r.ents)) }

// append adds a batch of consecutive entries, replacing the entries from
// the batch's first index on.
func (r *replayer) append(batch []*raftpb.Entry) {
	first := batch[0].GetIndex()
	if first <= r.base || first > r.lastIndex()+1 {
		// Not connected to what came before: what came before is
		// covered by a snapshot, or the log is damaged, which finish
		// finds out.
		r.base = first - 1
		r.ents = append(r.ents[:0], batch...)
		return
	}
	r.ents = append(r.ents[:first-r.base-1], batch...)
}

// mark applies a snapshot at (index, term) the way raft restores one: when
// the log holds that entry the log stays, otherwise the log after it is
// stale and goes.
func (r *replayer) mark(index, term uint64) {
	if index <= r.base {
		return
	}
	if index <= r.lastIndex() && r.ents[index-r.base-1].GetTerm() == term {
		return
	}
	r.base = index
	r.ents = r.ents[:0]
}

// finish ends a replay with the snapshot loaded, which counts as a last
// snapmark: it returns the entries after the snapshot, or why the log
// cannot follow it.
func (r *replayer) finish(snap *raftpb.Snapshot) ([]*raftpb.Entry, string) {
	si, st := snap.GetMetadata().GetIndex(), snap.GetMetadata().GetTerm()
	r.mark(si, st)
	switch {
	case r.base > si && len(r.ents) > 0:
		return nil, fmt.Sprintf("log entries %d to %d are missing (snapshot at %d, next entry %d)", si+1, r.base, si, r.base+1)
	case r.base > si:
		return nil, fmt.Sprintf("the log was compacted to a snapshot at index %d, but the newest snapshot found is at %d", r.base, si)
	}
	return slices.Clone(r.ents[si-r.base:]), ""
}

// fixHardState returns a copy of hs (empty when nil) that commits at least
// the snapshot, is at least in its term, and commits no entry beyond last.
func fixHardState(hs *raftpb.HardState, snapIndex, snapTerm, last uint64, dir string, lg *slog.Logger) *raftpb.HardState {
	term, vote, commit := hs.GetTerm(), hs.GetVote(), hs.GetCommit()
	if term < snapTerm {
		// No vote in snapTerm was stored, so none was sent.
		term, vote = snapTerm, 0
	}
	commit = max(commit, snapIndex)
	if commit > last {
		lg.Warn("raftlog: committed entries are missing from the log; lowering the commit index",
			"dir", dir, "commit", commit, "last", last)
		commit = last
	}
	if term == 0 && vote == 0 && commit == 0 {
		return &raftpb.HardState{}
	}
	return &raftpb.HardState{Term: new(term), Vote: new(vote), Commit: new(commit)}
}

// loadNewest is loadSnapshot for snapshot files named by name and read by
// read.
func loadNewest(dir string, indexes []uint64, name func(index uint64) string,
	read func(path string, index uint64) (*raftpb.Snapshot, error), lg *slog.Logger) (*raftpb.Snapshot, error) {
	var firstErr error
	for i := len(indexes) - 1; i >= 0; i-- {
		snap, err := read(filepath.Join(dir, name(indexes[i])), indexes[i])
		if err == nil {
			for _, bad := range indexes[i+1:] {
				path := filepath.Join(dir, name(bad))
				lg.Warn("raftlog: snapshot is damaged; using an older one and keeping it aside",
					"file", path, "kept", path+corruptExt, "using", indexes[i])
				if err := os.Rename(path, path+corruptExt); err != nil {
					return nil, err
				}
			}
			return snap, nil
		}
		if !errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return &raftpb.Snapshot{}, nil
}

// fileHeader checks the header record at the start of data, read from the
// file at path: that of a file of kind whose name says index. It returns
// where the next record starts.
func fileHeader(data []byte, path string, kind byte, index uint64) (int64, error) {
	p, end, d := next(data, 0)
	if d != nil {
		return 0, &CorruptError{Path: path, Offset: d.off, Reason: d.reason}
	}
	rec, err := decode(p)
	if err != nil {
		return 0, &CorruptError{Path: path, Offset: 0, Reason: err.Error()}
	}
	if rec.typ != recHeader || rec.kind != kind || rec.seq != index {
		return 0, &CorruptError{Path: path, Offset: 0, Reason: "file header does not match its name"}
	}
	return end, nil
}

// readSnapshotFile reads a snapshot file at path, whose header must be of
// kind and index, and whose second record, a snapshot record once parsed
// by decodeSnap, must hold the snapshot at index.
func readSnapshotFile(path string, kind byte, index uint64, decodeSnap func([]byte) (record, error)) (*raftpb.Snapshot, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	corrupt := func(off int64, reason string) error {
		return &CorruptError{Path: path, Offset: off, Reason: reason}
	}
	off, err := fileHeader(data, path, kind, index)
	if err != nil {
		return nil, err
	}
	p, end, d := next(data, off)
	if d != nil {
		return nil, corrupt(d.off, d.reason)
	}
	rec, err := decodeSnap(p)
	if err != nil {
		return nil, corrupt(off, err.Error())
	}
	switch {
	case rec.typ != recSnapshot:
		return nil, corrupt(off, fmt.Sprintf("unexpected record type %d in a snapshot", rec.typ))
	case rec.snap.GetMetadata().GetIndex() != index:
		return nil, corrupt(off, fmt.Sprintf("snapshot at index %d in the file of index %d", rec.snap.GetMetadata().GetIndex(), index))
	case end != int64(len(data)):
		return nil, corrupt(end, "bytes after the snapshot")
	}
	return rec.snap, nil
}

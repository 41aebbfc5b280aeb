package raftlog

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

// quiet is a logger that drops everything, for tests that expect warnings.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testConfig returns a config for tests: no fsync, the given segment size
// (the default when 0), no logging.
func testConfig(segmentSize int64) Config {
	cfg := DefaultConfig()
	cfg.Sync = SyncNever
	if segmentSize > 0 {
		cfg.SegmentSize = segmentSize
	}
	cfg.Logger = quiet
	return cfg
}

// entries returns entries first..last of term, each with a small payload.
func entries(first, last, term uint64) []*raftpb.Entry {
	var ents []*raftpb.Entry
	for i := first; i <= last; i++ {
		ents = append(ents, &raftpb.Entry{Index: new(i), Term: new(term), Data: fmt.Appendf(nil, "entry %d of term %d", i, term)})
	}
	return ents
}

func hardState(term, vote, commit uint64) *raftpb.HardState {
	return &raftpb.HardState{Term: new(term), Vote: new(vote), Commit: new(commit)}
}

// snapshot returns a snapshot at index and term, with every field set as in
// the snapshots raft makes.
func snapshot(index, term uint64, voters ...uint64) *raftpb.Snapshot {
	return &raftpb.Snapshot{
		Data: fmt.Appendf(nil, "state at %d", index),
		Metadata: &raftpb.SnapshotMetadata{
			Index:     new(index),
			Term:      new(term),
			ConfState: &raftpb.ConfState{Voters: voters, AutoLeave: new(false)},
		},
	}
}

// describe prints entries as index/term pairs.
func describe(ents []*raftpb.Entry) string {
	var b strings.Builder
	for _, e := range ents {
		fmt.Fprintf(&b, "%d/%d ", e.GetIndex(), e.GetTerm())
	}
	return b.String()
}

func files(t *testing.T, dir, ext string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	for i := range names {
		names[i] = filepath.Base(names[i])
	}
	return names
}

// flipByte inverts the byte at off in the file at path; a negative off
// counts from the end.
func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += int64(len(b))
	}
	b[off] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// model returns what recovering the first n of ops gives.
func model(ops []op) (*raftpb.HardState, []*raftpb.Entry) {
	hs := &raftpb.HardState{}
	var ents []*raftpb.Entry
	for _, o := range ops {
		if o.hs != nil {
			hs = o.hs
		}
		if len(o.ents) > 0 {
			first := o.ents[0].GetIndex()
			ents = append(ents[:first-1:first-1], o.ents...)
		}
	}
	return hs, ents
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// op is one Save of a test log, writing exactly one record.
type op struct {
	hs   *raftpb.HardState
	ents []*raftpb.Entry
}

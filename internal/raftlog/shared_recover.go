package raftlog

import (
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/data-cluster/data-cluster/internal/fsutil"
)

// sharedSegment is one segment file of an open or recovering shared log.
type sharedSegment struct {
	seq  uint64
	size int64 // bytes in the file
	// start is the offset after the header and the prefix of every
	// group's state: a segment no larger is never rolled over. Only the
	// current segment's is known.
	start int64
	// maxIndex holds, for every group with entries in the segment, the
	// highest index of an entry of that group written to it. Once each
	// group's durable snapshot covers its entry (and every older segment
	// is gone), the segment is no longer needed.
	maxIndex map[uint32]uint64
	// drops counts the drop records in the segment whose Drop has not
	// yet removed the group's snapshot files: the segment must stay until
	// then, or a crash would leave those files without the record that
	// voids them. Only an open shared log counts them.
	drops int
}

// covers reports whether snapIndex, a group's snapshot index, covers every
// entry of group id in seg.
func (seg *sharedSegment) covers(id uint32, snapIndex uint64) bool {
	return seg.maxIndex[id] <= snapIndex
}

// groupSnapName returns the name of the snapshot file of group id at
// index.
func groupSnapName(id uint32, index uint64) string {
	return fmt.Sprintf("%010d-%020d%s", id, index, snapExt)
}

// sharedListing is what the directory of a shared log holds.
type sharedListing struct {
	segs  []uint64            // segment numbers, ascending
	snaps map[uint32][]uint64 // each group's snapshot indexes, ascending
	tmps  []string            // leftovers of interrupted snapshot writes
}

func listShared(dir string) (sharedListing, error) {
	ls := sharedListing{snaps: map[uint32][]uint64{}}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return ls, err
	}
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, tmpExt):
			ls.tmps = append(ls.tmps, name)
		case strings.HasSuffix(name, segExt):
			if n, err := strconv.ParseUint(strings.TrimSuffix(name, segExt), 10, 64); err == nil {
				ls.segs = append(ls.segs, n)
			}
		case strings.HasSuffix(name, snapExt):
			g, i, ok := strings.Cut(strings.TrimSuffix(name, snapExt), "-")
			if !ok {
				continue
			}
			id, err1 := strconv.ParseUint(g, 10, 32)
			index, err2 := strconv.ParseUint(i, 10, 64)
			if err1 == nil && err2 == nil {
				ls.snaps[uint32(id)] = append(ls.snaps[uint32(id)], index)
			}
		}
	}
	slices.Sort(ls.segs)
	for _, idx := range ls.snaps {
		slices.Sort(idx)
	}
	return ls, nil
}

// recoveredGroup is what recovery rebuilt for one group.
type recoveredGroup struct {
	snap *raftpb.Snapshot // never nil; without its data
	file *snapFile        // where the data is; nil without a snapshot
	hs   *raftpb.HardState
	ents []*raftpb.Entry // consecutive, from snap's index + 1
}

// sharedRecovered is what recovery read from the directory of a shared
// log.
type sharedRecovered struct {
	groups map[uint32]*recoveredGroup // every group with a record or a snapshot
	segs   []sharedSegment            // in order
	// tail is the torn tail found at the end of the last segment, to be
	// truncated at tail.off; nil when there is none.
	tail *damage
}

// recoverShared reads the segments of dir, then the snapshot files, once it
// has removed those that a group's drop record voids.
func recoverShared(dir string, ls sharedListing, lg *slog.Logger) (sharedRecovered, error) {
	rc := sharedRecovered{groups: map[uint32]*recoveredGroup{}}
	for i := 1; i < len(ls.segs); i++ {
		if ls.segs[i] != ls.segs[i-1]+1 {
			return rc, &CorruptError{Path: filepath.Join(dir, fileName(ls.segs[i-1]+1, segExt)), Offset: -1, Reason: "log segment missing"}
		}
	}
	rs := map[uint32]*replayer{}
	for i, seq := range ls.segs {
		path := filepath.Join(dir, fileName(seq, segExt))
		data, err := os.ReadFile(path)
		if err != nil {
			return rc, err
		}
		seg, tail, err := replayShared(data, path, seq, i == len(ls.segs)-1, rs)
		if err != nil {
			return rc, err
		}
		rc.segs = append(rc.segs, seg)
		rc.tail = tail
	}
	// The entries of a dropped group written before its drop record no
	// longer keep their segments.
	for id, r := range rs {
		for i := range rc.segs {
			if rc.segs[i].seq < r.dropSeq {
				delete(rc.segs[i].maxIndex, id)
			}
		}
	}
	indexes, err := removeDropped(dir, ls.snaps, rs, lg)
	if err != nil {
		return rc, err
	}
	// The snapshot files are checked, but their data, each as large as its
	// group's keyspace, is not kept: GroupLog.SnapshotData reads it when
	// the group's replica is rebuilt.
	snaps, files := map[uint32]*raftpb.Snapshot{}, map[uint32]*snapFile{}
	for _, id := range slices.Sorted(maps.Keys(indexes)) {
		snap, err := loadNewest(dir, indexes[id], func(index uint64) string { return groupSnapName(id, index) },
			func(path string, index uint64) (*raftpb.Snapshot, error) {
				sf, err := scanGroupSnapshot(path, id, index)
				if err != nil {
					return nil, err
				}
				files[id] = sf
				return sf.meta, nil
			}, lg)
		if err != nil {
			return rc, err
		}
		snaps[id] = snap
	}
	ids := slices.Collect(maps.Keys(rs))
	for id := range snaps {
		if rs[id] == nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		r, snap := rs[id], snaps[id]
		if r == nil {
			r = &replayer{}
		}
		if snap == nil {
			snap = &raftpb.Snapshot{}
		}
		ents, reason := r.finish(snap)
		if reason != "" {
			return rc, &CorruptError{Path: dir, Offset: -1, Reason: fmt.Sprintf("group %d: %s", id, reason)}
		}
		si, st := snap.GetMetadata().GetIndex(), snap.GetMetadata().GetTerm()
		hs := fixHardState(r.hs, si, st, si+uint64(len(ents)), dir, lg.With("group", id))
		rc.groups[id] = &recoveredGroup{snap: snap, file: files[id], hs: hs, ents: ents}
	}
	return rc, nil
}

// removeDropped removes the snapshot files of the groups whose replay in
// rs met a drop record that no snapmark after the group's last drop record
// names: files of the dropped replica that a crash kept Drop from removing,
// or of the new replica but never marked. It makes the removals durable
// and returns the snapshot indexes, from snaps, of the files left.
func removeDropped(dir string, snaps map[uint32][]uint64, rs map[uint32]*replayer, lg *slog.Logger) (map[uint32][]uint64, error) {
	left := map[uint32][]uint64{}
	removed := false
	for _, id := range slices.Sorted(maps.Keys(snaps)) {
		r := rs[id]
		for _, index := range snaps[id] {
			if r == nil || r.dropSeq == 0 || r.marks[index] {
				left[id] = append(left[id], index)
				continue
			}
			path := filepath.Join(dir, groupSnapName(id, index))
			lg.Warn("raftlog: removing a snapshot that the group's drop record voids",
				"file", path, "group", id, "segment", filepath.Join(dir, fileName(r.dropSeq, segExt)))
			if err := os.Remove(path); err != nil {
				return nil, err
			}
			removed = true
		}
	}
	if removed {
		// Before any segment holding a drop record can be deleted.
		if err := fsutil.SyncDir(dir); err != nil {
			return nil, err
		}
	}
	return left, nil
}

// replayShared replays the segment data read from path, numbered seq,
// into the replayers of rs, one per group, adding those it lacks. A torn
// tail is returned when last, and is a *CorruptError otherwise, as is any
// other damage.
func replayShared(data []byte, path string, seq uint64, last bool, rs map[uint32]*replayer) (sharedSegment, *damage, error) {
	seg := sharedSegment{seq: seq, size: int64(len(data))}
	var off int64
	for i := 0; off < int64(len(data)) || i == 0; i++ {
		p, end, d := next(data, off)
		if d != nil {
			if d.torn && last {
				seg.size = d.off
				seg.start = min(seg.start, seg.size)
				return seg, d, nil
			}
			return seg, nil, &CorruptError{Path: path, Offset: d.off, Reason: d.reason}
		}
		if i == 0 {
			rec, err := decode(p)
			switch {
			case err != nil:
				return seg, nil, &CorruptError{Path: path, Offset: off, Reason: err.Error()}
			case rec.typ == recHeader && rec.kind == kindSegment:
				return seg, nil, &CorruptError{Path: path, Offset: off, Reason: "a segment of a single-group log, not of a shared one"}
			case rec.typ != recHeader || rec.kind != kindShared || rec.seq != seq:
				return seg, nil, &CorruptError{Path: path, Offset: off, Reason: "file header does not match its name"}
			}
			seg.start = end
			off = end
			continue
		}
		id, rec, err := decodeGroup(p)
		if err != nil {
			return seg, nil, &CorruptError{Path: path, Offset: off, Reason: err.Error()}
		}
		r := rs[id]
		if r == nil {
			r = &replayer{}
			rs[id] = r
		}
		switch rec.typ {
		case recEntries:
			r.append(rec.ents)
			if seg.maxIndex == nil {
				seg.maxIndex = map[uint32]uint64{}
			}
			seg.maxIndex[id] = max(seg.maxIndex[id], rec.ents[len(rec.ents)-1].GetIndex())
		case recHardState:
			r.hs = rec.hs
		case recSnapMark:
			r.mark(rec.index, rec.term)
			if r.dropSeq > 0 {
				if r.marks == nil {
					r.marks = map[uint64]bool{}
				}
				r.marks[rec.index] = true
			}
		case recDrop:
			// The group's log ends here: what follows, if anything, is
			// a new replica's, which starts empty.
			rs[id] = &replayer{dropSeq: seq}
			delete(seg.maxIndex, id)
		default:
			return seg, nil, &CorruptError{Path: path, Offset: off, Reason: fmt.Sprintf("unexpected record type %d in a segment", rec.typ)}
		}
		off = end
	}
	return seg, nil, nil
}

// readGroupSnapshot reads the snapshot file at path, which should hold the
// snapshot of group id at index.
func readGroupSnapshot(path string, id uint32, index uint64) (*raftpb.Snapshot, error) {
	return readSnapshotFile(path, kindGroupSnapshot, index, func(p []byte) (record, error) {
		got, rec, err := decodeGroup(p)
		if err == nil && got != id {
			err = fmt.Errorf("snapshot of group %d in the file of group %d", got, id)
		}
		return rec, err
	})
}

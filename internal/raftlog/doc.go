// Package raftlog keeps the Raft logs of all the groups of a node on disk,
// as one stream, so that the groups' Saves share one write path and one
// fdatasync (a group commit), as TiKV's raft-engine does. For each group it
// keeps the entries, the hard state (term, vote, commit) and the newest
// snapshot. It is used the way etcd uses its WAL: raft itself reads a
// raft.MemoryStorage, which is rebuilt from what OpenShared recovers
// (GroupLog.State) and then kept up to date beside the log, in the order of
// the group's Ready loop:
//
//	if !raft.IsEmptySnap(rd.Snapshot) { gl.SaveSnapshot(rd.Snapshot) }
//	gl.Save(rd.HardState, rd.Entries, rd.MustSync)
//	... send messages, apply the snapshot and committed entries ...
//
// A group's own snapshot is saved in two steps, so that the group goes on
// while it is written: WriteSnapshot, on any goroutine, then MarkSnapshot
// on the group's. WriteSnapshotFrom writes the same file from data that
// comes in parts, for a snapshot too large to hold whole in memory.
// Likewise OpenShared checks each group's snapshot file a part at a time
// and keeps its metadata only (State); GroupLog.SnapshotData reads the
// data back a part at a time, for the replica to rebuild from.
//
// A node whose replica of a group is removed drops the group's log
// (GroupLog.Drop). The group's id may then serve a new replica of the same
// group on the node, which starts with an empty log, as if the id had never
// been used.
//
// # Directory
//
// Each group uses the GroupLog of its id, a uint32 the caller chooses and
// keeps across restarts:
//
//	DIR/LOCK                held (flock) while a Shared is open
//	DIR/S.log               segment S of the stream
//	DIR/G-I.snap            the snapshot of group G at log index I
//	DIR/G-I.snap.tmp        a snapshot being written (removed on open)
//	DIR/G-I.snap.corrupt    a snapshot that failed its checksum, set aside
//
// S and I are decimal numbers zero-padded to 20 digits, G to 10. Segments
// are numbered from 1 without gaps; the oldest ones are deleted once the
// snapshots cover every entry they hold (see Segments), so the first
// segment present may have any number.
//
// # Records
//
// Segments and snapshot files are sequences of records:
//
//	offset  size  field
//	0       4     n: length of the payload, little endian
//	4       4     CRC-32C (Castagnoli) of the 4 length bytes
//	8       4     CRC-32C of the payload
//	12      n     payload
//
// The payload is a type byte followed by its body; numbers are unsigned
// varints (encoding/binary), messages are raftpb messages marshalled with
// google.golang.org/protobuf:
//
//	1 header     magic "dcraftlg", kind ('M' segment, 'G' group
//	             snapshot), version 1, then the segment number or the
//	             snapshot index
//	2 entries    count, then count times: length, raftpb.Entry; the
//	             entries have consecutive indexes
//	3 hardstate  raftpb.HardState (the rest of the payload)
//	4 snapmark   index, term: a snapshot was saved here
//	5 snapshot   raftpb.Snapshot (the rest of the payload)
//	6 group      group id, then the payload of an entries, hardstate,
//	             snapmark or drop record of that group (type byte
//	             included)
//	7 drop       no body: the group's log ends here; what the group
//	             wrote before, entries, hard states and snapshots, is
//	             void
//
// Every record of a segment after its header is a group record; a drop
// record is found only inside one. A snapshot file holds a header record of
// kind 'G' with the snapshot's index, then a group record wrapping a
// snapshot record. Kinds 'L' and 'S' are those of a
// log of one group, which the package no longer writes and refuses to read.
//
// # Replay
//
// Recovery replays the segments in order, each group's records into that
// group's replay, and a group with neither records nor a snapshot recovers
// empty. In a group's replay, an entries record whose first
// index is at or below the last index replayed replaces that entry and every
// later one: Raft's truncation of a conflicting suffix. A snapmark record
// (index i, term t) does what raft does when it restores a snapshot: when the
// replayed log holds entry i with term t it is kept, otherwise every entry
// after the snapshot is dropped, as stale. The group's newest snapshot file counts as
// a snapmark at the end of the replay too, in case its record was lost in a
// crash. Entries at or below the snapshot's index are then dropped: what is
// left must follow the snapshot without a gap, or the log is corrupt.
//
// A drop record of a group starts the group's replay anew, empty: no
// entries, no hard state, no snapmark. The group's records after it are a
// new replica's, replayed as above. Snapshot file names carry no
// incarnation, so a snapshot file of a group with a drop record in the log
// is used only if a snapmark after the group's last drop record names its
// index; a new replica's snapmark follows its file's rename, which replaced
// any older file of that index. OpenShared removes the group's other
// snapshot files, and fsyncs the directory, before it deletes any segment:
// they are the dropped replica's, left by a crash before Drop removed them,
// or the new replica's but never marked, which nothing depends on yet (a
// SaveSnapshot that did not return, or a snapshot of entries the log still
// holds). Once the drop record's segment is deleted, every snapshot file
// of the group is the new replica's (see Segments), and the newest is used
// even unmarked, as for any group.
//
// The recovered hard state is raised to commit at least the snapshot and to
// be at least in its term (with no vote then: a vote that was never stored
// was never sent), and its commit is lowered to the last recovered entry
// when entries were lost with a log written without fsync.
//
// # Damage
//
// A record cut short at the end of the last segment (a partial record
// header, a length running past the end of the file, zeros to the end of the
// file, or a last record whose payload fails its checksum) is the trace of a
// write the process or machine did not finish: OpenShared truncates it away,
// fsyncs the file and logs a warning. Any other damage (a record in the
// middle of the log that fails a checksum or does not decode, a missing
// segment, entries missing after a snapshot) makes OpenShared fail with a
// *CorruptError naming the file and offset (or the directory and the group,
// for missing entries), which matches ErrCorrupt. A
// snapshot file that fails its checksum is set aside (renamed .corrupt) when
// an older good snapshot exists, and is an error otherwise.
//
// # Durability
//
// With SyncAlways, GroupLog.Save(…, sync=true) returns after an fdatasync
// (see Group commit); raft sets
// Ready.MustSync whenever the hard state's term or vote or the entries
// changed, which is when an acknowledgement or a vote depends on them. With
// SyncEverySec a background goroutine fdatasyncs at most once a second, and
// with SyncNever the operating system decides: both can lose acknowledged
// entries and votes on a power failure, which Raft does not tolerate. Before
// a new segment is started, the old one is fdatasynced (except with
// SyncNever), and every created segment is followed by an fsync of the
// directory. SaveSnapshot writes the snapshot to a temporary file, fsyncs
// it, renames it into place and fsyncs the directory before it deletes
// anything. Drop makes its drop record durable in every mode (it waits for
// an fdatasync, which it runs itself with SyncNever), and only then removes
// the group's snapshot files and fsyncs the directory.
//
// # Segments
//
// A segment starts with its header and then, in order of group id, a
// hardstate record with the newest hard state and a snapmark record with
// the newest snapshot of every group that has them (a dropped group has
// neither); the segment is fdatasynced once this prefix is written (except
// with SyncNever), before anything is written after it. So every group's newest hard state and
// snapmark are always in or after the first segment kept. Then come the
// records of every group's Saves and SaveSnapshots, in the order in which
// they took the write lock: one Save writes its entries record, then its
// hardstate record, with one write call. OpenShared always starts a new
// segment: the last one may have been cut anywhere in a crash, its prefix
// too.
//
// The current segment is never deleted. The oldest other segments are,
// oldest first, once every entry they hold, of every group, is at or below
// its group's snapshot index: a segment holding entries of groups A and B
// stays until both A's and B's snapshot files, durable before the index
// moves, cover them. A group's older snapshot files are removed once its
// newer one is durable. The entries of a dropped group, written before its
// drop record, count as covered once Drop has removed the group's snapshot
// files, and not before: a segment holding a drop record stays until then,
// so the record outlives the files it voids. A dropped group keeps no
// segment.
//
// # Group commit
//
// With SyncAlways, GroupLog.Save(…, sync=true) returns once an fdatasync
// that started after its write completed. Writes are serialized by a mutex
// around the current segment; fdatasync runs without it. One goroutine at a
// time runs fdatasync: a Save that must wait and finds none running becomes
// the syncer, notes the end of the stream and fdatasyncs, and its
// completion releases every Save whose write ended before that point. Saves
// written meanwhile wait, and the next single fdatasync, run by one of
// them, covers them all. With SyncEverySec a background goroutine
// fdatasyncs at most once a second, and with SyncNever none is made. A
// failed write or fdatasync fails every group of the Shared (ErrFailed),
// which must then be closed and opened again.
package raftlog

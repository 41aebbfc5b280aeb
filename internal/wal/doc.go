// Package wal keeps a server's data on disk: every shard appends each change
// to the node's write-ahead log (the journal, one stream shared by the
// shards) before it answers, the shards' states are compacted into
// snapshots in the background, and on start the data is loaded back from
// each shard's newest snapshot plus the journal written after it.
//
// # Directory
//
//	DIR/LOCK                      held (flock) by the running server
//	DIR/MANIFEST                  the current generation and its topology
//	DIR/gen-G/log/N.log           segment N of the journal, every shard's records
//	DIR/gen-G/log/*.corrupt       bytes cut off by repair
//	DIR/gen-G/shard-I/N.snap      shard I's snapshot, taken from segment N on
//	DIR/gen-G/shard-I/N.snap.tmp  a snapshot being written (removed on start)
//	DIR/gen-G/shard-I/*.corrupt   bytes cut off by repair
//
// N is a decimal segment number, zero-padded to 12 digits. MANIFEST is text:
//
//	data-cluster 2
//	generation 3
//	shards 4
//	vnodes 64
//	crc32c 1a2b3c4d
//
// The first line gives the version of the layout: 2, the journal. Version 1
// had a log per shard (DIR/gen-G/shard-I/N.log, with headers of kind 'L'
// naming the shard and no shard records); Open loads such a directory and
// rewrites it as a new generation, as for a change of topology.
// The last line is the CRC-32C of the lines before it. MANIFEST is replaced
// by writing a temporary file, fsyncing it, renaming it over the old one and
// fsyncing the directory, so it is always whole.
//
// A generation is one topology (number of shards and vnodes). When the server
// starts with a different topology, it loads every shard of the old
// generation, sends each key to the shard that owns it now, writes a snapshot
// per new shard into a new generation directory, fsyncs it, switches MANIFEST
// to it, and only then removes the old generation. A crash at any point
// leaves MANIFEST naming a whole generation; the other one is removed on the
// next start.
//
// # Records
//
// Logs and snapshots are sequences of records:
//
//	offset  size  field
//	0       4     n: length of the payload, little endian
//	4       4     CRC-32C (Castagnoli) of the 4 length bytes
//	8       4     CRC-32C of the payload
//	12      n     payload
//
// Each record is checked on its own (the checksums are not chained): the
// length has a checksum of its own so that a damaged length is told apart
// from a record cut short by a crash. The payload starts with an operation
// byte; numbers are unsigned varints (encoding/binary), byte strings are a
// varint length followed by the bytes, times are absolute Unix milliseconds
// with 0 meaning no expiry:
//
//	1 set       key, value, expireAt
//	2 delete    key (the rest of the payload)
//	3 expire    key, expireAt
//	4 flush     (nothing): remove every key of this shard
//	5 header    magic "dcluster", kind ('J' journal segment, 'S' snapshot,
//	            'L' the previous layout's log of one shard), version 1,
//	            shard (for a journal segment: the number of shards),
//	            segment number
//	6 end       number of set, elements and list records in the snapshot
//	7 elements  value kind (u8), flags (u8), key, expireAt, n,
//	            then n elements, each a byte string followed, for a hash,
//	            by its value, for a sorted set by its score (8 bytes,
//	            IEEE 754, little endian; never NaN)
//	8 remove    value kind (u8), key, n, then n elements (byte strings)
//	9 list      flags (u8), key, expireAt (fresh records only), version,
//	            change (u8), then by change:
//	              1 push    n, n elements, pushed one after the other
//	              2 pop     n, elements popped
//	              3 set     index, element
//	              4 insert  index, element (that ends up at index)
//	              5 rem     count (zig-zag varint), element: LREM's removal
//	              6 trim    start, stop: the elements kept
//	              7 part    offset, n, n elements appended at the tail
//	10 stream   flags (u8), key, expireAt (fresh records only), version,
//	            then the stream's operations (object.Stream.Apply) to the
//	            end of the payload
//	11 range    key, offset, bytes: key's string holds these bytes from
//	            offset on
//	12 shard    shard: the records after this one, up to the next shard
//	            record, are that shard's (journal segments only)
//
// Value kinds are 1 for a hash, 2 for a set and 4 for a sorted set
// (storage.Kind); the only flag is 1, fresh. An elements record says that
// key holds a collection of that kind, with that expiry, in which those
// elements (fields with their values, members, or members with their
// scores) are present; when fresh, or when the key holds
// anything else at that point of the replay, the collection is made anew
// first. A remove record says that the elements are no longer in key's
// collection of that kind; it does nothing to a key of another kind, and a
// collection it leaves empty is removed. A command that adds or changes one
// field of a hash of a million fields thus logs one small record, never the
// hash; a command that empties a collection logs a delete.
//
// A list record's flags are 1, fresh, and 2, the change is at the head
// (for push and pop). It records one change to key's list, after which
// the list has version: every list counts the changes logged for it, and
// a record applies only where it belongs, so that a replay applies each
// change once although a push or a pop, unlike the records above, does
// not describe a resulting state. A fresh record (always a push) makes
// the key a new list of its elements, with that version and expiry,
// whatever the key held; any other record applies only to a list whose
// version is one below its own, and leaves it at its own (a part applies
// to a list of its own version holding offset elements: it continues a
// list logged whole, by RENAME, COPY or a snapshot, after a fresh push of
// the first elements). A record met again on a state that already
// includes it finds a version as high as its own and changes nothing. A
// key of a snapshot is whole as of some point in the log that follows;
// each list record before that point either belongs to that very list
// and is skipped, or precedes a fresh record also before the point that
// rebuilds the list as it then was, from which the records apply in
// order as they did when logged. Versions start again at 1 for a new
// list, so a record of an older list may find a newer one at the version
// it expects and change it; the newer list's fresh record follows later
// in the log and replaces whatever that did. A push of one element to a
// list is a record of the key, the element and about 5 bytes more.
//
// A stream record's flags are 1, fresh, and 4, part: streams count their
// changes as lists do and their records apply by the same rule (a part
// continues a stream logged whole, at the same version).
//
// A range record says that bytes of key's string, from offset on, are now
// those: SETBIT and SETRANGE log the bytes they changed, not the string,
// when the string does not grow (one that grows is logged as a
// set). It applies to a string at least offset plus its length long and
// does nothing to anything else: the string it was logged for was that
// long, and on a key of a snapshot, whole as of a later point of the log,
// it writes what the key may already hold or meets a key that records
// after it rebuild.
//
// Every file starts with a header record naming what it is. In a journal
// segment, each record after the header belongs to the shard the last shard
// record named: a shard's commit starts with a shard record unless the
// stream's last record is already that shard's (a segment starts with
// none), so records of several shards interleave, each run of them costing
// one 14-byte shard record. A snapshot holds
// set, elements and list records and ends with an end record; a collection is
// written as elements records of up to about 64 KiB of elements each, the
// first one fresh, all taken in one hold of the shard, so that no record
// nears the 4 GiB a length can frame. A log holds every record but header
// and end (and shard records in a journal). Records describe resulting states, not commands (INCR and APPEND
// are logged as the set they result in, HINCRBY as the field's new value,
// ZADD and ZINCRBY as the members' resulting scores, never as increments,
// SPOP and ZPOPMIN as the members they removed), so replaying one twice, or on top of a
// state that already includes it, gives the same result; list records get
// that from the lists' versions (see above).
//
// # Writing
//
// A shard appends records to a buffer in memory as its commands run, and
// commits the buffer once per group of batches, before any reply of the
// group is sent (Log.Commit, Log.CommitAsync): the records go to the
// journal's pending bytes, after a shard record if needed. Writes are
// serialized: whoever writes takes everything pending, of every shard, and
// writes it with one write to the current segment. The write goes through
// fsutil.Write: a write(2) while those are quick (a raw system call on
// Linux, which does not wake the runtime's monitor thread), and on Linux,
// for 100 ms after one that was slow (the disk is busy), a write handed to
// an io_uring while the writer waits on a channel, so that a write that
// waits for the disk holds no P and the other shards and the connections
// go on.
//
// With FsyncAlways a shard's commit only appends, and the shard hands the
// group to a goroutine of its own that calls WaitDurable: one waiter at a
// time, of any shard, becomes the syncer; it writes everything pending with
// one write, fdatasyncs the segment once, and releases every waiter whose
// records that covered. Groups committed meanwhile, by any shard, wait for
// the next round, which one of their waiters runs: a round of the shards'
// groups costs one write and one fdatasync (group commit across shards). A
// holder of several shards (router.Pipeline.Release) commits each held
// shard's log with CommitAsync, gives the shards back, and then waits the
// same way: one wait covers all its shards, and holders and shards share
// the round. The syncer first yields until the goroutines that are ready
// have added their records (fsutil.Gather), then
// fdatasyncs through fsutil.DatasyncInline, keeping its P while the disk
// works, as Redis's event loop keeps its thread: every writing client waits
// for that fdatasync anyway. After one slower than 5 ms, the fdatasyncs of
// the next second go through an io_uring instead (fsutil.Datasync), so that
// a slow disk stalls the P once at most in that time. The background
// fsyncs (FsyncEverySec, a segment the journal moves past, the zeros
// written ahead, snapshots) always go through the io_uring.
// With FsyncEverySec and FsyncNo the shards' commits are grouped the same
// way without the fdatasync: a commit only appends, and the shard's reply
// goroutine waits in WaitDurable for one write, after fsutil.Gather, of
// everything pending (a waiter whose records another shard's write covered
// returns at once), so that a round of commits costs one write, as Redis
// writes its AOF buffer once per turn of its event loop, before any reply
// of the turn. A holder waits the same way, once for all its shards.
// The server's io_uring loop, which runs a round of many connections'
// commands on the shards itself, has its batches handed back at the commit
// and waits once for the round (Store.WaitDurable: one write, and with
// FsyncAlways one fdatasync, without Gather, since the round's records are
// all appended by then) before it sends any reply of the round.
// Records no reply waits for (the active expiry's deletes)
// are written by the next such write. With FsyncEverySec a background
// goroutine fsyncs the journal at least once a second, writing what is
// pending first; with FsyncNo the operating system decides. The current segment is written ahead with zeros (Config.Preallocate
// bytes past its records, fdatasynced, by a background goroutine woken as
// the records come within half of that), so that the appends overwrite
// blocks already allocated and counted in the file's size, and their
// fdatasync writes the data alone, not the inode. A segment that the
// journal moves past, or closes, is cut to its records. A write that has returned survives the process being
// killed in every mode; the modes differ in what survives the machine
// losing power.
//
// # Snapshots
//
// When the journal, from the oldest segment recovery needs, reaches
// Config.SnapshotLogSize, and is at least as large as the shards' snapshots
// together, the journal starts a new segment N and every shard writes its
// snapshot N in the background, in parallel: each holds its shard for a
// moment at a time, copies a chunk of entries, and writes them while the
// shard goes on serving. A snapshot is fuzzy: each key is captured at some
// point after segment N began. Replaying the shard's records of segment N
// and later on top of it gives the exact state, because every change since
// the snapshot began is in those segments. Each snapshot is written to
// N.snap.tmp, fsynced, renamed to N.snap, and its directory fsynced; once
// every shard's is in place and the journal is fsynced, the older snapshots
// and the segments before N are removed. When a shard's snapshot fails, the
// others are kept but nothing is removed: that shard still needs its older
// snapshot and the segments from it on.
//
// # Recovery
//
// Recovery reads each shard's newest snapshot (in parallel), then the
// journal's segments in order from the oldest segment a newest snapshot
// starts from (1 for a shard without one), streaming record by record into
// the storage engines: each record goes to its shard, from the segment of
// that shard's snapshot on. Segments before that are leftovers of an
// interrupted compaction and are removed. Records are applied
// as they are, expiry included, and keys whose expiry has passed are removed
// once the whole history is loaded: a key that had expired by the restart
// may have lost its expiry, or had elements added, later in the log. Zeros
// from the end of a journal segment's records to the end of the file are
// the zeros written ahead, in any segment: its records end there, and they
// are cut off. A record cut short at the end of the journal's last segment
// that holds records, followed by nothing or by zeros only (a torn write:
// the process or machine died mid-write; a record zero from a 512-byte
// sector boundary inside it to its end is one too, as in etcd's WAL), is truncated away, with a warning that says how many bytes were
// dropped. Any other damage — a bad checksum, a bad length, a record that does
// not decode, a missing segment, a snapshot without its end record — stops the
// start with a CorruptError naming the file and offset. Repair then truncates
// the file at that offset, keeping the cut bytes in a .corrupt file beside it
// (and moving the journal's later segments aside the same way), so that what
// is loaded is always a whole prefix of the history of every shard.
package wal

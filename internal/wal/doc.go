// Package wal keeps a server's data on disk: every shard appends each change
// to its own write-ahead log before it answers, compacts that log into a
// snapshot in the background, and on start the data is loaded back from the
// newest snapshot plus the log written after it.
//
// # Directory
//
//	DIR/LOCK                      held (flock) by the running server
//	DIR/MANIFEST                  the current generation and its topology
//	DIR/gen-G/shard-I/N.snap      shard I's snapshot, taken from segment N on
//	DIR/gen-G/shard-I/N.log       shard I's log segment N
//	DIR/gen-G/shard-I/N.snap.tmp  a snapshot being written (removed on start)
//	DIR/gen-G/shard-I/*.corrupt   bytes cut off by repair
//
// N is a decimal segment number, zero-padded to 12 digits. MANIFEST is text:
//
//	data-cluster 1
//	generation 3
//	shards 4
//	vnodes 64
//	crc32c 1a2b3c4d
//
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
//	5 header    magic "dcluster", kind ('L' log, 'S' snapshot), version 1,
//	            shard, segment number
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
// Every file starts with a header record naming what it is. A snapshot holds
// set, elements and list records and ends with an end record; a collection is
// written as elements records of up to about 64 KiB of elements each, the
// first one fresh, all taken in one hold of the shard, so that no record
// nears the 4 GiB a length can frame. A log holds every record but header
// and end. Records describe resulting states, not commands (INCR and APPEND
// are logged as the set they result in, HINCRBY as the field's new value,
// ZADD and ZINCRBY as the members' resulting scores, never as increments,
// SPOP and ZPOPMIN as the members they removed), so replaying one twice, or on top of a
// state that already includes it, gives the same result; list records get
// that from the lists' versions (see above).
//
// # Writing
//
// A shard appends records to a buffer in memory as its commands run, and
// writes the buffer with one write per group of batches, before any reply
// of the group is sent (Log.Commit, Log.CommitAsync). The write goes
// through fsutil.Write: a write(2) while those are quick, and on Linux,
// for 100 ms after one that was slow (the disk is busy), a write handed
// to an io_uring while the shard waits on a channel, so that a write that
// waits for the disk holds no P and the other shards and the connections
// go on. With FsyncAlways
// the replies also wait for an fsync: a holder's Commit fsyncs at once, while
// a shard hands the group to a goroutine of its own that calls WaitDurable,
// so that one fsync covers every group written while the previous one ran.
// The fsync goes through fsutil.Datasync, which on Linux submits the
// fdatasync to an io_uring and waits on a channel: no goroutine holds a P
// while the disk works, and the shards' fsyncs, each on its own reply
// goroutine, run at the same time in the kernel.
// With FsyncEverySec a background goroutine fsyncs each log at least once a
// second; with FsyncNo the operating system decides. A write that has
// returned survives the process being killed in every mode; the modes differ
// in what survives the machine losing power.
//
// # Snapshots
//
// When a shard's log since its last snapshot reaches Config.SnapshotLogSize,
// and is at least as large as that snapshot, the shard starts a new log
// segment N and writes snapshot N in the background: it holds the shard for a
// moment at a time, copies a chunk of entries, and writes them while the
// shard goes on serving. The snapshot is fuzzy: each key is captured at some
// point after segment N began. Replaying segment N and later on top of it
// gives the exact state, because every change since the snapshot began is in
// those segments. The snapshot is written to N.snap.tmp, fsynced, renamed to
// N.snap, and the directory is fsynced; then the older snapshot and the
// segments before N are removed.
//
// # Recovery
//
// Recovery reads each shard's newest snapshot and then its segments in order,
// streaming record by record into the storage engines. Records are applied
// as they are, expiry included, and keys whose expiry has passed are removed
// once the whole history is loaded: a key that had expired by the restart
// may have lost its expiry, or had elements added, later in the log. A record cut short at the end of a shard's last
// segment that holds records (a torn write: the process or machine died
// mid-write) is truncated away, with a warning that says how many bytes were
// dropped. Any other damage — a bad checksum, a bad length, a record that does
// not decode, a missing segment, a snapshot without its end record — stops the
// start with a CorruptError naming the file and offset. Repair then truncates
// the file at that offset, keeping the cut bytes in a .corrupt file beside it
// (and moving the shard's later segments aside the same way), so that what is
// loaded is always a whole prefix of the history.
package wal

package keyspace

import (
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// Log receives every change made to a DB, for persistence: the DB calls it
// after each change to its keys, with the resulting state, so that replaying
// the calls in order rebuilds the keys. Keys removed because their time had
// come are not reported: whoever replays the log drops them by their expiry.
//
// A Log is used by the DB's owner only (see DB), never concurrently. The
// record methods only buffer; Commit makes what they buffered durable as the
// Log's policy says, and the owner calls it before answering the commands
// that made the changes.
type Log interface {
	// Set records that key holds value, with expiry expireAt
	// (storage.NoExpiry for none).
	Set(key, value []byte, expireAt int64)
	// Range records that key's string holds data from byte off, the
	// string being at least off+len(data) long (a write that lengthens a
	// string is recorded with Set).
	Range(key []byte, off int64, data []byte)
	// Delete records that key was removed.
	Delete(key []byte)
	// Expire records that key's expiry is now expireAt.
	Expire(key []byte, expireAt int64)
	// Elements records that key holds a collection of kind with expiry
	// expireAt in which elems are present: field and value pairs for a
	// hash, members for a set. fresh says the change created the
	// collection, replacing whatever key held before.
	Elements(kind storage.Kind, key []byte, expireAt int64, fresh bool, elems [][]byte)
	// RemoveElements records that elems (fields or members) are no longer
	// in key's collection of kind; the collection is not left empty (an
	// emptied collection is recorded as a Delete).
	RemoveElements(kind storage.Kind, key []byte, elems [][]byte)
	// List records that key's list changed by op, after which it has
	// version (object.List.Version). fresh says the change created the
	// list, replacing whatever key held before, and then expireAt is its
	// expiry; otherwise expireAt is 0 and means nothing. A list is never
	// left empty by op (an emptied list is recorded as a Delete).
	List(key []byte, expireAt int64, version uint64, fresh bool, op object.ListOp)
	// Stream records that key's stream changed by ops (object.Stream's
	// journal), after which it has version. fresh says the change created
	// the stream, replacing whatever key held before, and then expireAt is
	// its expiry. part says ops continue a stream logged whole by the
	// record before, at the same version.
	Stream(key []byte, expireAt int64, version uint64, fresh, part bool, ops []byte)
	// Flush records that every key was removed.
	Flush()
	// Commit writes out what was recorded since the last Commit.
	Commit()
}

// SetLog makes db report its changes to l (nil for none). Call it before the
// DB is used.
func (db *DB) SetLog(l Log) { db.log = l }

// Log returns the Log db reports its changes to (nil for none).
func (db *DB) Log() Log { return db.log }

// Logged reports whether db reports its changes to a Log.
func (db *DB) Logged() bool { return db.log != nil }

// Commit commits db's Log, if it has one. Owners call it after running
// commands and before sending their replies.
func (db *DB) Commit() {
	if db.log != nil {
		db.log.Commit()
	}
}

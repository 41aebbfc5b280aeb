package command

import (
	"bytes"
	"math"
	"runtime"
	"slices"

	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// Gather is how an AllShards command that only reads keys (KEYS, LIST) runs
// without holding every shard at once. The router reads the shards one after
// the other, each in bounded parts: for each part it holds that one shard,
// calls Part, and gives the shard back, so that other clients' commands run
// between parts. Once every shard is done it calls Reply with every key
// gathered. Such a command is not a point-in-time view: as with SCAN, a key
// present for the whole command is reported exactly once, a key added or
// removed meanwhile may or may not be.
//
// Gather.Run is the command's ordinary handler, for when every shard is
// already held (inside EXEC): it reads them all at once, atomically.
type Gather struct {
	// Part visits up to limit entries of db from cursor on (a cursor of
	// the engine's Scan; 0 starts the shard), appends to keys the live keys
	// the command reports, and returns the cursor to continue from, or 0
	// once the shard is done. It runs on the goroutine that holds db's
	// shard and must not modify db.
	Part func(keys *Keys, db *keyspace.DB, cursor uint64, limit int, args [][]byte) uint64
	// Reply writes the command's reply from the keys gathered from every
	// shard, in shard order and each shard's scan order.
	Reply func(w *resp.Writer, keys *Keys, args [][]byte)
}

// Run reads every keyspace c holds, whole, and replies: the handler of the
// command when all shards are held at once.
func (g *Gather) Run(c *Ctx, args [][]byte) {
	var keys Keys
	c.DBs(func(_ int, db *keyspace.DB) bool {
		for cursor := g.Part(&keys, db, 0, math.MaxInt, args); cursor != 0; {
			cursor = g.Part(&keys, db, cursor, math.MaxInt, args)
		}
		return true
	})
	g.Reply(c.W, &keys, args)
}

// Keys is a list of keys copied out of the keyspaces: their bytes one after
// the other in one buffer, and where each ends, rather than an allocation per
// key. The zero value is an empty list. A Keys is used by one goroutine at a
// time.
type Keys struct {
	buf  []byte
	ends []int
}

// Append adds a copy of key.
func (k *Keys) Append(key []byte) {
	k.buf = append(k.buf, key...)
	k.ends = append(k.ends, len(k.buf))
}

// Len returns the number of keys.
func (k *Keys) Len() int { return len(k.ends) }

// Size returns the bytes the keys hold.
func (k *Keys) Size() int { return len(k.buf) }

// At returns key i; it is valid until the next Append or Reset.
func (k *Keys) At(i int) []byte {
	start := 0
	if i > 0 {
		start = k.ends[i-1]
	}
	return k.buf[start:k.ends[i]:k.ends[i]]
}

// Reset empties k, keeping its buffers.
func (k *Keys) Reset() {
	k.buf = k.buf[:0]
	k.ends = k.ends[:0]
}

// Sorted returns the distinct keys sorted bytewise, as slices of k's buffer.
// A key is listed twice only when it was deleted and set again while the
// command ran (it may then have moved behind the scan); Sorted lists it once.
func (k *Keys) Sorted() [][]byte {
	out := make([][]byte, k.Len())
	for i := range out {
		out[i] = k.At(i)
	}
	slices.SortFunc(out, bytes.Compare)
	return slices.CompactFunc(out, bytes.Equal)
}

// scanPart visits up to limit entries of db from cursor on, passes each live
// key to keep, and returns the cursor to continue from, 0 once db is done.
// Expired entries count towards limit, so that a part stays bounded however
// many keys have expired, but are neither kept nor removed: the commands
// that use it only read. keep must copy what it keeps.
func scanPart(db *keyspace.DB, cursor uint64, limit int, keep func(key []byte)) uint64 {
	now := db.Now()
	visited := 0
	return db.Engine().Scan(cursor, func(key, _ []byte, _ storage.Object, at int64) bool {
		visited++
		// As keyspace.DB judges expiry: visible during its last millisecond.
		if at == storage.NoExpiry || now <= at {
			keep(key)
		}
		return visited < limit
	})
}

// allKeysPart is the Part of LIST on both protocols: every live key.
func allKeysPart(keys *Keys, db *keyspace.DB, cursor uint64, limit int, _ [][]byte) uint64 {
	return scanPart(db, cursor, limit, keys.Append)
}

// yieldEvery lets other goroutines run once every 16384 keys of a reply
// being made from gathered keys: a million keys take tens of milliseconds,
// which would otherwise keep every other client waiting on a server with
// one thread for Go code (see --procs).
func yieldEvery(i int) {
	if i&(1<<14-1) == 1<<14-1 {
		runtime.Gosched()
	}
}

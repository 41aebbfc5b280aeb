package command

import (
	"bytes"
	"encoding/binary"
	"sync"

	"github.com/data-cluster/data-cluster/internal/hll"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// hllCommands are Redis's HyperLogLog commands on strings in Redis's own
// format (package hll). PFCOUNT of several keys and PFMERGE reach each key
// through c.DB(key); they are atomic because the router holds every shard
// involved.
var hllCommands = []*Spec{
	{Name: "pfadd", Arity: -2, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: pfaddCommand},
	// PFCOUNT is flagged read-only, as in Redis, though it writes the
	// cardinality it computes into the string's cache.
	{Name: "pfcount", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: -1, Step: 1, Run: pfcountCommand},
	{Name: "pfmerge", Arity: -2, Flags: Write | DenyOOM, FirstKey: 1, LastKey: -1, Step: 1, Run: pfmergeCommand},
	{Name: "pfdebug", Arity: 3, Flags: Write | DenyOOM | Admin, FirstKey: 2, LastKey: 2, Step: 1, Run: pfdebugCommand},
}

// Error replies of the HyperLogLog commands, as Redis words them.
const (
	hllErrNotHLL  = "WRONGTYPE Key is not a valid HyperLogLog string value."
	hllErrCorrupt = "INVALIDOBJ Corrupted HLL object detected"
)

// sketches and maxes keep the buffers of HyperLogLogs being changed or
// merged (12 KiB and 16 KiB) for reuse across commands and shards.
var (
	sketches = sync.Pool{New: func() any { return new(hll.Sketch) }}
	maxes    = sync.Pool{New: func() any { return new(hll.Max) }}
)

// sparseMax returns hll-sparse-max-bytes.
func sparseMax() int64 { return object.CurrentLimits().HLLSparseMaxBytes }

// findHLL reads key for a write command as a HyperLogLog with its expiry:
// ok false when missing. For a key of another type, or a string that is
// not a HyperLogLog, it replies WRONGTYPE and reports wrong.
func findHLL(c *Ctx, db *keyspace.DB, key []byte) (v []byte, at int64, ok, wrong bool) {
	v, at, ok, wrong = findString(c, db, key)
	if ok && !hll.Valid(v) {
		c.W.AppendError(hllErrNotHLL)
		return nil, 0, false, true
	}
	return v, at, ok, wrong
}

// readHLL is findHLL for a read: it counts the hit or miss.
func readHLL(c *Ctx, db *keyspace.DB, key []byte) (v []byte, ok, wrong bool) {
	v, ok, wrong = readString(c, db, key)
	if ok && !hll.Valid(v) {
		c.W.AppendError(hllErrNotHLL)
		return nil, false, true
	}
	return v, ok, wrong
}

// pfaddCommand implements PFADD key [element…]: 1 when the key was created
// or a register changed, else 0. A string that PFADD would leave as it is
// is not copied.
func pfaddCommand(c *Ctx, args [][]byte) {
	key := args[1]
	db := c.DB(key)
	v, at, ok, wrong := findHLL(c, db, key)
	if wrong {
		return
	}
	if ok && !changesAny(v, args[2:]) {
		c.W.AppendInt(0)
		return
	}
	s := sketches.Get().(*hll.Sketch)
	defer sketches.Put(s)
	if ok {
		s.Load(v)
	} else {
		s.Load(hll.New())
		at = storage.NoExpiry
	}
	updated := !ok
	limit := sparseMax()
	for _, e := range args[2:] {
		changed, err := s.Add(e, limit)
		if err != nil {
			// Redis changes the string in place: what changed before the
			// damage was met stays, with the cache as it was.
			if !bytes.Equal(s.Bytes(), v) {
				db.Set(key, s.Bytes(), at)
			}
			c.W.AppendError(hllErrCorrupt)
			return
		}
		updated = updated || changed
	}
	if !updated {
		c.W.AppendInt(0)
		return
	}
	s.Invalidate()
	db.Set(key, s.Bytes(), at)
	c.Notify(notify.String, "pfadd", key)
	c.W.AppendInt(1)
}

// changesAny reports whether adding any of elems would change v.
func changesAny(v []byte, elems [][]byte) bool {
	for _, e := range elems {
		if hll.Changes(v, e) {
			return true
		}
	}
	return false
}

// pfcountCommand implements PFCOUNT key [key…]. Of one key it answers the
// cached cardinality, or computes it and caches it in the string as Redis
// does — except in a replicated keyspace, whose keys change only through
// its log. Of several keys it answers the cardinality of their union and
// changes nothing.
func pfcountCommand(c *Ctx, args [][]byte) {
	if len(args) > 2 {
		m := maxes.Get().(*hll.Max)
		defer maxes.Put(m)
		*m = hll.Max{}
		for _, key := range args[1:] {
			v, ok, wrong := readHLL(c, c.DB(key), key)
			if wrong {
				return
			}
			if !ok {
				continue
			}
			if err := m.Merge(v); err != nil {
				c.W.AppendError(hllErrCorrupt)
				return
			}
		}
		c.W.AppendInt(int64(m.Estimate()))
		return
	}
	key := args[1]
	db := c.DB(key)
	v, ok, wrong := readHLL(c, db, key)
	switch {
	case wrong:
		return
	case !ok:
		c.W.AppendInt(0)
		return
	}
	card, valid := hll.Cached(v)
	if !valid {
		var err error
		if card, err = hll.Count(v); err != nil {
			c.W.AppendError(hllErrCorrupt)
			return
		}
		if !db.Replica() {
			_, at, _ := db.Lookup(key)
			var cache [8]byte
			binary.LittleEndian.PutUint64(cache[:], card)
			b := newValueBuilder(c.W, len(v))
			b.add(v[:8])
			b.add(cache[:])
			b.add(v[hll.HeaderSize:])
			db.Set(key, b.bytes(), at)
			b.done()
		}
	}
	c.W.AppendInt(int64(card))
}

// pfmergeCommand implements PFMERGE dest [source…]: dest, which is a
// source too, gets the largest value of each register. It turns dense if
// any source is dense, and keeps its expiry.
func pfmergeCommand(c *Ctx, args [][]byte) {
	m := maxes.Get().(*hll.Max)
	defer maxes.Put(m)
	*m = hll.Max{}
	dense := false
	for _, key := range args[1:] {
		v, ok, wrong := readHLL(c, c.DB(key), key)
		if wrong {
			return
		}
		if !ok {
			continue
		}
		dense = dense || v[4] == hll.Dense
		if err := m.Merge(v); err != nil {
			c.W.AppendError(hllErrCorrupt)
			return
		}
	}
	dst := args[1]
	db := c.DB(dst)
	s := sketches.Get().(*hll.Sketch)
	defer sketches.Put(s)
	if v, _, at, ok := db.Find(dst); ok {
		s.Load(v)
		mergeInto(c, db, dst, s, m, dense, at)
		return
	}
	s.Load(hll.New())
	mergeInto(c, db, dst, s, m, dense, storage.NoExpiry)
}

// mergeInto raises the registers of s, dst's HyperLogLog, to m's, stores
// it with expiry at and replies.
func mergeInto(c *Ctx, db *keyspace.DB, dst []byte, s *hll.Sketch, m *hll.Max, dense bool, at int64) {
	if dense {
		if err := s.ToDense(); err != nil {
			// Not reached: dst was merged into m, so it is not damaged.
			c.W.AppendError(hllErrCorrupt)
			return
		}
	}
	s.Raise(m, sparseMax())
	db.Set(dst, s.Bytes(), at)
	c.Notify(notify.String, "pfadd", dst)
	c.W.AppendOK()
}

// pfdebugCommand implements PFDEBUG GETREG|DECODE|ENCODING|TODENSE key.
// GETREG and TODENSE turn a sparse string dense, as in Redis.
func pfdebugCommand(c *Ctx, args [][]byte) {
	sub, key := args[1], args[2]
	db := c.DB(key)
	v, at, ok, wrong := findHLL(c, db, key)
	if wrong {
		return
	}
	if !ok {
		c.W.AppendError("ERR The specified key does not exist")
		return
	}
	switch {
	case optionIs(sub, "getreg"), optionIs(sub, "todense"):
		converted := v[4] == hll.Sparse
		if converted {
			s := sketches.Get().(*hll.Sketch)
			defer sketches.Put(s)
			s.Load(v)
			if err := s.ToDense(); err != nil {
				c.W.AppendError(hllErrCorrupt)
				return
			}
			db.Set(key, s.Bytes(), at)
			v, _, _, _ = db.Find(key)
		}
		if optionIs(sub, "todense") {
			c.W.AppendInt(boolInt(converted))
			return
		}
		c.W.AppendArray(hll.Registers)
		for i := range hll.Registers {
			c.W.AppendInt(int64(hll.DenseRegister(v, i)))
		}
	case optionIs(sub, "decode"):
		if v[4] != hll.Sparse {
			c.W.AppendError("ERR HLL encoding is not sparse")
			return
		}
		var buf [256]byte
		c.W.AppendBulk(hll.Decode(buf[:0], v))
	case optionIs(sub, "encoding"):
		if v[4] == hll.Sparse {
			c.W.AppendSimple("sparse")
		} else {
			c.W.AppendSimple("dense")
		}
	default:
		if i := bytes.IndexByte(sub, 0); i >= 0 {
			sub = sub[:i] // Redis prints the name as a C string
		}
		c.W.AppendError("ERR Unknown PFDEBUG subcommand '" + string(sub) + "'")
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

package command

import (
	"bytes"
	"math"
	"slices"
	"strconv"

	"github.com/data-cluster/data-cluster/internal/ascii"
	"github.com/data-cluster/data-cluster/internal/glob"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// setCommands are the commands on set values. Multi-key ones (SMOVE,
// SINTER…, SUNION…, SDIFF…) reach each key through c.DB(key); they are
// atomic because the router holds every shard involved.
var setCommands = []*Spec{
	{Name: "sadd", Arity: -3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Elem: 2, Run: saddCommand},
	{Name: "srem", Arity: -3, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Elem: 2, Run: sremCommand},
	{Name: "scard", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: scardCommand},
	{Name: "sismember", Arity: 3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Elem: 2, Run: sismemberCommand},
	{Name: "smismember", Arity: -3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Elem: 2, Run: smismemberCommand},
	{Name: "smembers", Arity: 2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: smembersCommand},
	{Name: "spop", Arity: -2, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: spopCommand},
	{Name: "srandmember", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: srandmemberCommand},
	{Name: "smove", Arity: 4, Flags: Write | Fast, FirstKey: 1, LastKey: 2, Step: 1, Run: smoveCommand},
	{Name: "sinter", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: -1, Step: 1, Run: sinterCommand},
	{Name: "sintercard", Arity: -3, Flags: ReadOnly, FirstKey: 2, LastKey: -1, Step: 1, Run: sintercardCommand, KeyArgs: numkeysArgs},
	{Name: "sinterstore", Arity: -3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: -1, Step: 1, Run: sinterstoreCommand},
	{Name: "sunion", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: -1, Step: 1, Run: sunionCommand},
	{Name: "sunionstore", Arity: -3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: -1, Step: 1, Run: sunionstoreCommand},
	{Name: "sdiff", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: -1, Step: 1, Run: sdiffCommand},
	{Name: "sdiffstore", Arity: -3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: -1, Step: 1, Run: sdiffstoreCommand},
	{Name: "sscan", Arity: -3, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: sscanCommand},
}

// numkeysArgs is the KeyArgs of commands whose keys follow a count of
// them in args[1] (SINTERCARD numkeys key… [LIMIT n]). A count that does
// not parse or exceeds the arguments gives no keys: the command then
// replies with its error.
func numkeysArgs(args [][]byte, dst [][]byte) [][]byte {
	if len(args) < 2 {
		return dst
	}
	n, ok := resp.ParseInt(args[1])
	if !ok || n < 1 || n > int64(len(args)-2) {
		return dst
	}
	return append(dst, args[2:2+n]...)
}

// readSet returns key's set for a read command (readAs).
func readSet(c *Ctx, db *keyspace.DB, key []byte) (*object.Set, bool) {
	return readAs[*object.Set](c, db, key)
}

// findSet returns key's set for a write command (findAs).
func findSet(c *Ctx, db *keyspace.DB, key []byte) (*object.Set, int64, bool) {
	return findAs[*object.Set](c, db, key)
}

func saddCommand(c *Ctx, args [][]byte) {
	key := args[1]
	db := c.DB(key)
	s, at, wrong := findSet(c, db, key)
	if wrong {
		return
	}
	created := s == nil
	if created {
		s, at = object.NewSetFor(args[2], len(args)-2), storage.NoExpiry
	}
	before := s.MemoryUsage()
	added := args[:0:0]
	for _, m := range args[2:] {
		if s.Add(m) {
			added = append(added, m)
		}
	}
	db.Added(key, s, at, created, before, added)
	if len(added) > 0 {
		c.Notify(notify.Set, "sadd", key)
	}
	c.W.AppendInt(int64(len(added)))
}

func sremCommand(c *Ctx, args [][]byte) {
	key := args[1]
	db := c.DB(key)
	s, _, wrong := findSet(c, db, key)
	if wrong {
		return
	}
	if s == nil {
		c.W.AppendInt(0)
		return
	}
	removeElements(c, db, key, s, s.Remove, args[2:], notify.Set, "srem")
}

// removeElements removes elems from obj, the collection at key, with del,
// logs those it removed and answers their count: HDEL and SREM.
func removeElements(c *Ctx, db *keyspace.DB, key []byte, obj storage.Object, del func([]byte) bool, elems [][]byte, class notify.Class, event string) {
	before := obj.MemoryUsage()
	removed := elems[:0:0]
	for _, e := range elems {
		if del(e) {
			removed = append(removed, e)
		}
	}
	db.Removed(key, obj, before, removed)
	if len(removed) > 0 {
		notifyRemoved(c, key, obj, class, event)
	}
	c.W.AppendInt(int64(len(removed)))
}

func scardCommand(c *Ctx, args [][]byte) {
	s, wrong := readSet(c, c.DB(args[1]), args[1])
	switch {
	case wrong:
	case s == nil:
		c.W.AppendInt(0)
	default:
		c.W.AppendInt(int64(s.Len()))
	}
}

func sismemberCommand(c *Ctx, args [][]byte) {
	s, wrong := readSet(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	if s != nil && s.Has(args[2]) {
		c.W.AppendInt(1)
		return
	}
	c.W.AppendInt(0)
}

func smismemberCommand(c *Ctx, args [][]byte) {
	s, wrong := readSet(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	c.W.AppendArray(len(args) - 2)
	for _, m := range args[2:] {
		if s != nil && s.Has(m) {
			c.W.AppendInt(1)
		} else {
			c.W.AppendInt(0)
		}
	}
}

// appendMembers replies with the members of s (none when nil) as a set.
func appendMembers(c *Ctx, s *object.Set) {
	if s == nil {
		c.W.AppendSet(0)
		return
	}
	c.W.AppendSet(s.Len())
	s.Range(func(m []byte) bool {
		c.W.AppendBulk(m)
		return true
	})
}

func smembersCommand(c *Ctx, args [][]byte) {
	s, wrong := readSet(c, c.DB(args[1]), args[1])
	if !wrong {
		appendMembers(c, s)
	}
}

// spopCommand implements SPOP key [count]: one random member removed, or
// count distinct ones (the whole set when count reaches its size).
func spopCommand(c *Ctx, args [][]byte) {
	if len(args) > 3 {
		c.W.AppendError(strErrSyntax)
		return
	}
	count := int64(-1)
	if len(args) == 3 {
		// Redis reads the count with a range check whose message covers
		// a count that is no integer too.
		n, ok := resp.ParseInt(args[2])
		if !ok || n < 0 {
			c.W.AppendError("ERR value is out of range, must be positive")
			return
		}
		count = n
	}
	key := args[1]
	db := c.DB(key)
	s, _, wrong := findSet(c, db, key)
	switch {
	case wrong:
		return
	case s == nil && count < 0:
		c.W.AppendNull()
		return
	case s == nil || count == 0:
		c.W.AppendSet(0)
		return
	}
	if count < 0 {
		before := s.MemoryUsage()
		m := s.Pop(c.randN(s.Len()))
		c.W.AppendBulk(m)
		db.Removed(key, s, before, [][]byte{m})
		notifyRemoved(c, key, s, notify.Set, "spop")
		return
	}
	var members [][]byte
	if count >= int64(s.Len()) {
		s.Range(func(m []byte) bool {
			members = append(members, bytes.Clone(m))
			return true
		})
	} else {
		for _, i := range pickDistinct(c, s.Len(), int(count)) {
			members = append(members, s.At(nil, i))
		}
	}
	before := s.MemoryUsage()
	for _, m := range members {
		s.Remove(m)
	}
	c.W.AppendSet(len(members))
	for _, m := range members {
		c.W.AppendBulk(m)
	}
	db.Removed(key, s, before, members)
	notifyRemoved(c, key, s, notify.Set, "spop")
}

// notifyRemoved publishes event, of class, on key after a command removed
// elements of obj, its collection, and its deletion when obj is empty.
func notifyRemoved(c *Ctx, key []byte, obj storage.Object, class notify.Class, event string) {
	c.Notify(class, event, key)
	if obj.Len() == 0 {
		c.Notify(notify.Generic, "del", key)
	}
}

// srandmemberCommand implements SRANDMEMBER key [count] as Redis 7 does:
// without a count one member or nil; a positive count distinct members (all
// of them when it reaches the size), a negative one |count| members that
// may repeat.
func srandmemberCommand(c *Ctx, args [][]byte) {
	if len(args) > 3 {
		c.W.AppendError(strErrSyntax)
		return
	}
	if len(args) == 2 {
		s, wrong := readSet(c, c.DB(args[1]), args[1])
		switch {
		case wrong:
		case s == nil:
			c.W.AppendNull()
		default:
			c.W.AppendBulk(s.At(nil, c.randN(s.Len())))
		}
		return
	}
	n, ok := parseRandomCount(c, args[2])
	if !ok {
		return
	}
	if n < -maxRandomCount {
		c.W.AppendError("ERR value is out of range")
		return
	}
	s, wrong := readSet(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	if s == nil || n == 0 {
		c.W.AppendArray(0)
		return
	}
	size := s.Len()
	var buf []byte
	switch {
	case n < 0:
		c.W.AppendArray(int(-n))
		for range -n {
			buf = s.At(buf[:0], c.randN(size))
			c.W.AppendBulk(buf)
		}
	case n >= int64(size):
		c.W.AppendArray(size)
		s.Range(func(m []byte) bool { c.W.AppendBulk(m); return true })
	default:
		c.W.AppendArray(int(n))
		for _, i := range pickDistinct(c, size, int(n)) {
			buf = s.At(buf[:0], i)
			c.W.AppendBulk(buf)
		}
	}
}

// smoveCommand implements SMOVE src dst member with Redis's order of
// checks: a missing src answers 0 before any type is checked.
func smoveCommand(c *Ctx, args [][]byte) {
	src, dst, m := args[1], args[2], args[3]
	sdb, ddb := c.DB(src), c.DB(dst)
	// Settle the expiry of both keys before holding any handle.
	sdb.Exists(src)
	ddb.Exists(dst)
	s, _, wrong := findSet(c, sdb, src)
	if wrong {
		return
	}
	if s == nil {
		c.W.AppendInt(0)
		return
	}
	d, dat, wrong := findSet(c, ddb, dst)
	if wrong {
		return
	}
	if bytes.Equal(src, dst) {
		if s.Has(m) {
			c.W.AppendInt(1)
		} else {
			c.W.AppendInt(0)
		}
		return
	}
	before := s.MemoryUsage()
	if !s.Remove(m) {
		c.W.AppendInt(0)
		return
	}
	sdb.Removed(src, s, before, [][]byte{m})
	notifyRemoved(c, src, s, notify.Set, "srem")
	created := d == nil
	if created {
		d, dat = object.NewSetFor(m, 1), storage.NoExpiry
	}
	before = d.MemoryUsage()
	if d.Add(m) {
		ddb.Added(dst, d, dat, created, before, [][]byte{m})
		c.Notify(notify.Set, "sadd", dst)
	}
	c.W.AppendInt(1)
}

// readSets returns the sets of keys, nil for missing ones, checking every
// key's type first as Redis does. On a wrong type it has replied.
func readSets(c *Ctx, keys [][]byte) ([]*object.Set, bool) {
	// Settle expiry of every key first: a removal must not happen while
	// handles to the others are held.
	for _, k := range keys {
		c.DB(k).Exists(k)
	}
	sets := make([]*object.Set, len(keys))
	for i, k := range keys {
		s, wrong := readSet(c, c.DB(k), k)
		if wrong {
			return nil, false
		}
		sets[i] = s
	}
	return sets, true
}

// inter appends to dst the members common to every set, in the order of
// the smallest, stopping at limit members when limit > 0; nil when a set
// is missing.
func inter(sets []*object.Set, limit int) [][]byte {
	for _, s := range sets {
		if s == nil {
			return nil
		}
	}
	slices.SortStableFunc(sets, func(a, b *object.Set) int { return a.Len() - b.Len() })
	var out [][]byte
	sets[0].Range(func(m []byte) bool {
		for _, o := range sets[1:] {
			if !o.Has(m) {
				return true
			}
		}
		out = append(out, bytes.Clone(m))
		return limit <= 0 || len(out) < limit
	})
	return out
}

// union returns the members of every set, each once, in order of first
// appearance.
func union(sets []*object.Set) *object.Set {
	var u *object.Set
	for _, s := range sets {
		if s == nil {
			continue
		}
		s.Range(func(m []byte) bool {
			if u == nil {
				u = object.NewSetFor(m, 1)
			}
			u.Add(m)
			return true
		})
	}
	return u
}

// diff returns the members of the first set that are in none of the others.
func diff(sets []*object.Set) *object.Set {
	var d *object.Set
	if sets[0] == nil {
		return nil
	}
	sets[0].Range(func(m []byte) bool {
		for _, o := range sets[1:] {
			if o != nil && o.Has(m) {
				return true
			}
		}
		if d == nil {
			d = object.NewSetFor(m, 1)
		}
		d.Add(m)
		return true
	})
	return d
}

// setOf builds a set of members.
func setOf(members [][]byte) *object.Set {
	if len(members) == 0 {
		return nil
	}
	s := object.NewSetFor(members[0], len(members))
	for _, m := range members {
		s.Add(m)
	}
	return s
}

// storeSet stores s under dst (deleting dst when s is nil or empty),
// publishes event (or del), and replies with its size.
func storeSet(c *Ctx, dst []byte, s *object.Set, event string) {
	db := c.DB(dst)
	if s == nil || s.Len() == 0 {
		if db.Delete(dst) {
			c.Notify(notify.Generic, "del", dst)
		}
		c.W.AppendInt(0)
		return
	}
	db.SetObject(dst, s, storage.NoExpiry)
	c.Notify(notify.Set, event, dst)
	c.W.AppendInt(int64(s.Len()))
}

func sinterCommand(c *Ctx, args [][]byte) {
	sets, ok := readSets(c, args[1:])
	if !ok {
		return
	}
	members := inter(sets, 0)
	c.W.AppendSet(len(members))
	for _, m := range members {
		c.W.AppendBulk(m)
	}
}

func sinterstoreCommand(c *Ctx, args [][]byte) {
	sets, ok := readSets(c, args[2:])
	if !ok {
		return
	}
	storeSet(c, args[1], setOf(inter(sets, 0)), "sinterstore")
}

// sintercardCommand implements SINTERCARD numkeys key… [LIMIT limit] with
// Redis's errors: Redis reads numkeys and LIMIT with a range check that
// gives its own message for a value that is no integer too.
func sintercardCommand(c *Ctx, args [][]byte) {
	n, ok := resp.ParseInt(args[1])
	if !ok || n < 1 {
		c.W.AppendError("ERR numkeys should be greater than 0")
		return
	}
	if n > int64(len(args)-2) {
		c.W.AppendError("ERR Number of keys can't be greater than number of args")
		return
	}
	limit := int64(0)
	for j := 2 + int(n); j < len(args); j++ {
		if ascii.EqualFold(args[j], "limit") && j+1 < len(args) {
			l, ok := resp.ParseInt(args[j+1])
			if !ok || l < 0 {
				c.W.AppendError("ERR LIMIT can't be negative")
				return
			}
			limit = l
			j++
			continue
		}
		c.W.AppendError(strErrSyntax)
		return
	}
	sets, ok := readSets(c, args[2:2+n])
	if !ok {
		return
	}
	c.W.AppendInt(int64(len(inter(sets, int(min(limit, math.MaxInt32))))))
}

func sunionCommand(c *Ctx, args [][]byte) {
	sets, ok := readSets(c, args[1:])
	if ok {
		appendMembers(c, union(sets))
	}
}

func sunionstoreCommand(c *Ctx, args [][]byte) {
	sets, ok := readSets(c, args[2:])
	if ok {
		storeSet(c, args[1], union(sets), "sunionstore")
	}
}

func sdiffCommand(c *Ctx, args [][]byte) {
	sets, ok := readSets(c, args[1:])
	if ok {
		appendMembers(c, diff(sets))
	}
}

func sdiffstoreCommand(c *Ctx, args [][]byte) {
	sets, ok := readSets(c, args[2:])
	if ok {
		storeSet(c, args[1], diff(sets), "sdiffstore")
	}
}

func sscanCommand(c *Ctx, args [][]byte) {
	cursor, ok := scanCursor(c, args[2])
	if !ok {
		return
	}
	s, wrong := readSet(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	var members [][]byte
	var next uint64
	if s != nil {
		pattern, count, ok := scanOptions(c, args)
		if !ok {
			return
		}
		var from, to int
		from, to, next = scanPositions(s.Len(), s.Encoding() != object.EncHashtable, cursor, count)
		for i := from; i < to; i++ {
			m := s.At(nil, i)
			if pattern == nil || glob.Match(pattern, m) {
				members = append(members, m)
			}
		}
	}
	var buf [20]byte
	c.W.AppendArray(2)
	c.W.AppendBulk(strconv.AppendUint(buf[:0], next, 10))
	appendKeys(c, members)
}

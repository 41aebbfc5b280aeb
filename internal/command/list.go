package command

import (
	"bytes"
	"math"

	"github.com/data-cluster/data-cluster/internal/ascii"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// listCommands are the commands on list values. Each change goes through
// keyspace.DB.ListChanged, which logs it as one list record. The
// multi-key LMOVE, RPOPLPUSH and LMPOP reach each key through c.DB(key);
// they are atomic because the router holds every shard involved. The
// blocking BLPOP, BRPOP, BLMOVE, BRPOPLPUSH and BLMPOP are in
// listblock.go: they park a client until a key gets elements, and then
// pop and move as these do.
var listCommands = []*Spec{
	{Name: "lpush", Arity: -3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: lpushCommand},
	{Name: "rpush", Arity: -3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: rpushCommand},
	{Name: "lpushx", Arity: -3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: lpushxCommand},
	{Name: "rpushx", Arity: -3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: rpushxCommand},
	{Name: "lpop", Arity: -2, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: lpopCommand},
	{Name: "rpop", Arity: -2, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: rpopCommand},
	{Name: "llen", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: llenCommand},
	{Name: "lrange", Arity: 4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: lrangeCommand},
	{Name: "lindex", Arity: 3, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: lindexCommand},
	{Name: "lset", Arity: 4, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Run: lsetCommand},
	{Name: "linsert", Arity: 5, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Run: linsertCommand},
	{Name: "lrem", Arity: 4, Flags: Write, FirstKey: 1, LastKey: 1, Step: 1, Run: lremCommand},
	{Name: "ltrim", Arity: 4, Flags: Write, FirstKey: 1, LastKey: 1, Step: 1, Run: ltrimCommand},
	{Name: "lpos", Arity: -3, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: lposCommand},
	{Name: "lmove", Arity: 5, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 2, Step: 1, Run: lmoveCommand},
	{Name: "rpoplpush", Arity: 3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 2, Step: 1, Run: rpoplpushCommand},
	{Name: "lmpop", Arity: -4, Flags: Write, FirstKey: 2, LastKey: -1, Step: 1, Run: lmpopCommand, KeyArgs: numkeysArgs},
}

// Redis's error texts for lists.
const (
	listErrNoKey    = "ERR no such key"
	listErrRange    = "ERR index out of range"
	listErrPositive = "ERR value is out of range, must be positive"
	listErrRankZero = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
	listErrRankMin  = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
	listErrCount    = "ERR COUNT can't be negative"
	listErrMaxlen   = "ERR MAXLEN can't be negative"
)

// readList returns key's list for a read command (readAs).
func readList(c *Ctx, db *keyspace.DB, key []byte) (*object.List, bool) {
	return readAs[*object.List](c, db, key)
}

// findList returns key's list for a write command (findAs).
func findList(c *Ctx, db *keyspace.DB, key []byte) (*object.List, int64, bool) {
	return findAs[*object.List](c, db, key)
}

// writeList returns the list under key for a write command that needs
// one, with its keyspace: for a key of another type it replies WRONGTYPE,
// for a missing key it calls missing to reply, and ok is false.
func writeList(c *Ctx, key []byte, missing func()) (db *keyspace.DB, l *object.List, ok bool) {
	db = c.DB(key)
	l, _, wrong := findList(c, db, key)
	if !wrong && l == nil {
		missing()
	}
	return db, l, l != nil
}

// readListOr returns the list under key for a read command that needs
// one: for a key of another type it replies WRONGTYPE, for a missing key
// it calls missing to reply, and ok is false.
func readListOr(c *Ctx, key []byte, missing func()) (l *object.List, ok bool) {
	l, wrong := readList(c, c.DB(key), key)
	if !wrong && l == nil {
		missing()
	}
	return l, l != nil
}

func lpushCommand(c *Ctx, args [][]byte)  { pushGeneric(c, args, true, false) }
func rpushCommand(c *Ctx, args [][]byte)  { pushGeneric(c, args, false, false) }
func lpushxCommand(c *Ctx, args [][]byte) { pushGeneric(c, args, true, true) }
func rpushxCommand(c *Ctx, args [][]byte) { pushGeneric(c, args, false, true) }

// pushGeneric implements LPUSH, RPUSH and, with xx, LPUSHX and RPUSHX,
// which push only to a list that exists. They answer the list's length.
func pushGeneric(c *Ctx, args [][]byte, left, xx bool) {
	key := args[1]
	db := c.DB(key)
	l, at, wrong := findList(c, db, key)
	if wrong {
		return
	}
	if l == nil && xx {
		c.W.AppendInt(0)
		return
	}
	l = pushList(db, key, l, at, left, args[2:])
	c.Notify(notify.List, pushEvent(left), key)
	c.W.AppendInt(int64(l.Len()))
}

// pushList pushes elems at the head (left) or tail of l, the list under
// key in db with expiry at, or of a new list when l is nil, and logs the
// push as one record. It returns the list.
func pushList(db *keyspace.DB, key []byte, l *object.List, at int64, left bool, elems [][]byte) *object.List {
	created := l == nil
	if created {
		l, at = object.NewList(), storage.NoExpiry
	}
	before := l.MemoryUsage()
	l.Push(left, elems...)
	db.ListChanged(key, l, at, created, before, object.ListOp{Code: object.ListPush, Left: left, Elems: elems})
	return l
}

func lpopCommand(c *Ctx, args [][]byte) { popGeneric(c, args, true, "lpop") }
func rpopCommand(c *Ctx, args [][]byte) { popGeneric(c, args, false, "rpop") }

// popGeneric implements LPOP and RPOP key [count]: without a count one
// element or nil; with one, an array of up to count elements (nil for a
// missing key, empty for a count of 0).
func popGeneric(c *Ctx, args [][]byte, left bool, name string) {
	if len(args) > 3 {
		c.W.AppendError("ERR wrong number of arguments for '" + name + "' command")
		return
	}
	count := int64(-1)
	if len(args) == 3 {
		n, ok := resp.ParseInt(args[2])
		if !ok || n < 0 {
			c.W.AppendError(listErrPositive)
			return
		}
		count = n
	}
	key := args[1]
	missing := c.W.AppendNull
	if count >= 0 {
		missing = c.W.AppendNullArray
	}
	db, l, ok := writeList(c, key, missing)
	switch {
	case !ok:
		return
	case count == 0:
		c.W.AppendArray(0)
		return
	case count < 0:
		popList(c, db, key, l, left, 1, c.W.AppendBulk)
		return
	}
	c.W.AppendArray(int(min(count, int64(l.Len()))))
	popList(c, db, key, l, left, count, c.W.AppendBulk)
}

// popList removes up to count (≥ 1) elements from the head (left) or tail
// of l, the list under key in db, calling fn with each in the order
// popped, and logs them as one record; a list left empty is deleted. The
// elements passed to fn belong to the list: fn must copy what it keeps
// and must not change the list. It publishes the pop's events with c and
// returns how many it popped.
func popList(c *Ctx, db *keyspace.DB, key []byte, l *object.List, left bool, count int64, fn func(elem []byte)) int {
	n := int(min(count, int64(l.Len())))
	before := l.MemoryUsage()
	for range n {
		fn(l.Pop(left))
	}
	db.ListChanged(key, l, 0, false, before, object.ListOp{Code: object.ListPop, Left: left, N: int64(n)})
	notifyPop(c, key, left, l.Len() == 0)
	return n
}

// pushEvent names the event of a push at the head (left) or tail.
func pushEvent(left bool) string {
	if left {
		return "lpush"
	}
	return "rpush"
}

// notifyPop publishes the events of a pop from the head (left) or tail of
// key's list, and its deletion when the pop emptied it.
func notifyPop(c *Ctx, key []byte, left, emptied bool) {
	ev := "rpop"
	if left {
		ev = "lpop"
	}
	c.Notify(notify.List, ev, key)
	if emptied {
		c.Notify(notify.Generic, "del", key)
	}
}

func llenCommand(c *Ctx, args [][]byte) {
	if l, ok := readListOr(c, args[1], func() { c.W.AppendInt(0) }); ok {
		c.W.AppendInt(int64(l.Len()))
	}
}

// listIndex resolves a possibly negative index of a list of n elements,
// reporting false when it falls outside.
func listIndex(i int64, n int) (int, bool) {
	if i < 0 {
		i += int64(n)
	}
	if i < 0 || i >= int64(n) {
		return 0, false
	}
	return int(i), true
}

// listRange resolves LRANGE and LTRIM's start and stop for a list of n
// elements as Redis does: negative indexes count from the end, and the
// range is clipped to the list; ok is false when it is empty.
func listRange(start, stop int64, n int) (lo, hi int, ok bool) {
	ln := int64(n)
	if start < 0 {
		start += ln
	}
	if stop < 0 {
		stop += ln
	}
	start = max(start, 0)
	if start > stop || start >= ln {
		return 0, 0, false
	}
	return int(start), int(min(stop, ln-1)), true
}

// parseTwoInts parses two integer arguments, replying with Redis's error
// when either is not one.
func parseTwoInts(c *Ctx, a, b []byte) (x, y int64, ok bool) {
	x, okA := resp.ParseInt(a)
	y, okB := resp.ParseInt(b)
	if !okA || !okB {
		c.W.AppendError(strErrNotInt)
		return 0, 0, false
	}
	return x, y, true
}

func lrangeCommand(c *Ctx, args [][]byte) {
	start, stop, ok := parseTwoInts(c, args[2], args[3])
	if !ok {
		return
	}
	l, ok := readListOr(c, args[1], func() { c.W.AppendArray(0) })
	if !ok {
		return
	}
	lo, hi, ok := listRange(start, stop, l.Len())
	if !ok {
		c.W.AppendArray(0)
		return
	}
	c.W.AppendArray(hi - lo + 1)
	l.Ascend(lo, func(i int, e []byte) bool {
		c.W.AppendBulk(e)
		return i < hi
	})
}

func lindexCommand(c *Ctx, args [][]byte) {
	l, ok := readListOr(c, args[1], c.W.AppendNull)
	if !ok {
		return
	}
	switch j, in, ok := indexArg(c, args[2], l.Len()); {
	case !ok:
	case in:
		c.W.AppendBulk(l.Index(j))
	default:
		c.W.AppendNull()
	}
}

// indexArg parses an index of a list of n elements and resolves it as
// listIndex does, reporting whether it falls in the list; for an argument
// that is not an integer it replies with Redis's error and ok is false.
func indexArg(c *Ctx, arg []byte, n int) (j int, in, ok bool) {
	i, ok := resp.ParseInt(arg)
	if !ok {
		c.W.AppendError(strErrNotInt)
		return 0, false, false
	}
	j, in = listIndex(i, n)
	return j, in, true
}

func lsetCommand(c *Ctx, args [][]byte) {
	key := args[1]
	db, l, ok := writeList(c, key, func() { c.W.AppendError(listErrNoKey) })
	if !ok {
		return
	}
	j, in, ok := indexArg(c, args[2], l.Len())
	switch {
	case !ok:
		return
	case !in:
		c.W.AppendError(listErrRange)
		return
	}
	before := l.MemoryUsage()
	l.Set(j, args[3])
	db.ListChanged(key, l, 0, false, before, object.ListOp{Code: object.ListSet, N: int64(j), Elems: args[3:4]})
	c.Notify(notify.List, "lset", key)
	c.W.AppendOK()
}

func linsertCommand(c *Ctx, args [][]byte) {
	var after bool
	switch {
	case ascii.EqualFold(args[2], "after"):
		after = true
	case ascii.EqualFold(args[2], "before"):
	default:
		c.W.AppendError(strErrSyntax)
		return
	}
	key := args[1]
	db, l, ok := writeList(c, key, func() { c.W.AppendInt(0) })
	if !ok {
		return
	}
	at := -1
	l.Ascend(0, func(i int, e []byte) bool {
		if bytes.Equal(e, args[3]) {
			at = i
			return false
		}
		return true
	})
	if at < 0 {
		c.W.AppendInt(-1)
		return
	}
	if after {
		at++
	}
	before := l.MemoryUsage()
	l.Insert(at, args[4])
	db.ListChanged(key, l, 0, false, before, object.ListOp{Code: object.ListInsert, N: int64(at), Elems: args[4:5]})
	c.Notify(notify.List, "linsert", key)
	c.W.AppendInt(int64(l.Len()))
}

func lremCommand(c *Ctx, args [][]byte) {
	count, ok := resp.ParseInt(args[2])
	if !ok {
		c.W.AppendError(strErrNotInt)
		return
	}
	key := args[1]
	db, l, ok := writeList(c, key, func() { c.W.AppendInt(0) })
	if !ok {
		return
	}
	before := l.MemoryUsage()
	removed := l.Remove(count, args[3])
	if removed > 0 {
		db.ListChanged(key, l, 0, false, before, object.ListOp{Code: object.ListRem, N: count, Elems: args[3:4]})
		c.Notify(notify.List, "lrem", key)
		if l.Len() == 0 {
			c.Notify(notify.Generic, "del", key)
		}
	}
	c.W.AppendInt(int64(removed))
}

func ltrimCommand(c *Ctx, args [][]byte) {
	start, stop, ok := parseTwoInts(c, args[2], args[3])
	if !ok {
		return
	}
	key := args[1]
	db, l, ok := writeList(c, key, c.W.AppendOK)
	if !ok {
		return
	}
	lo, hi, ok := listRange(start, stop, l.Len())
	switch {
	case !ok:
		db.Delete(key)
		c.Notify(notify.List, "ltrim", key)
		c.Notify(notify.Generic, "del", key)
	case lo > 0 || hi < l.Len()-1:
		before := l.MemoryUsage()
		l.Trim(lo, hi)
		db.ListChanged(key, l, 0, false, before, object.ListOp{Code: object.ListTrim, N: int64(lo), M: int64(hi)})
		c.Notify(notify.List, "ltrim", key)
	default:
		c.Notify(notify.List, "ltrim", key)
	}
	c.W.AppendOK()
}

// lposCommand implements LPOS key element [RANK rank] [COUNT n] [MAXLEN
// len] with Redis 7.2's parsing: options first, then the key.
func lposCommand(c *Ctx, args [][]byte) {
	rank, count, maxlen := int64(1), int64(-1), int64(0)
	for j := 3; j < len(args); j++ {
		more := j+1 < len(args)
		switch {
		case more && ascii.EqualFold(args[j], "rank"):
			j++
			v, ok := resp.ParseInt(args[j])
			switch {
			case !ok:
				c.W.AppendError(strErrNotInt)
				return
			case v == math.MinInt64:
				c.W.AppendError(listErrRankMin)
				return
			case v == 0:
				c.W.AppendError(listErrRankZero)
				return
			}
			rank = v
		case more && (ascii.EqualFold(args[j], "count") || ascii.EqualFold(args[j], "maxlen")):
			opt, errText := &count, listErrCount
			if ascii.EqualFold(args[j], "maxlen") {
				opt, errText = &maxlen, listErrMaxlen
			}
			j++
			v, ok := resp.ParseInt(args[j])
			if !ok || v < 0 {
				c.W.AppendError(errText)
				return
			}
			*opt = v
		default:
			c.W.AppendError(strErrSyntax)
			return
		}
	}
	missing := c.W.AppendNull
	if count >= 0 {
		missing = func() { c.W.AppendArray(0) }
	}
	l, ok := readListOr(c, args[1], missing)
	if !ok {
		return
	}
	var found []int64
	matches, seen := int64(0), int64(0)
	visit := func(i int, e []byte) bool {
		if maxlen != 0 && seen >= maxlen {
			return false
		}
		seen++
		if !bytes.Equal(e, args[2]) {
			return true
		}
		matches++
		if matches < max(rank, -rank) {
			return true
		}
		found = append(found, int64(i))
		return count == 0 || int64(len(found)) < count
	}
	if rank > 0 {
		l.Ascend(0, visit)
	} else {
		l.Descend(l.Len()-1, visit)
	}
	if count < 0 {
		if len(found) == 0 {
			c.W.AppendNull()
		} else {
			c.W.AppendInt(found[0])
		}
		return
	}
	c.W.AppendArray(len(found))
	for _, i := range found {
		c.W.AppendInt(i)
	}
}

// parseWhere parses LEFT or RIGHT, reporting whether it is LEFT and
// whether it is either.
func parseWhere(b []byte) (left, ok bool) {
	switch {
	case ascii.EqualFold(b, "left"):
		return true, true
	case ascii.EqualFold(b, "right"):
		return false, true
	}
	return false, false
}

func rpoplpushCommand(c *Ctx, args [][]byte) { lmove(c, args[1], args[2], false, true) }

func lmoveCommand(c *Ctx, args [][]byte) {
	if from, to, ok := parseMoveEnds(c, args); ok {
		lmove(c, args[1], args[2], from, to)
	}
}

// lmove implements LMOVE and RPOPLPUSH with Redis's order of checks: a
// missing source answers nil before the destination's type is checked.
func lmove(c *Ctx, src, dst []byte, fromLeft, toLeft bool) {
	sdb, ddb := c.DB(src), c.DB(dst)
	// Settle the expiry of both keys before holding any handle.
	sdb.Exists(src)
	ddb.Exists(dst)
	l, _, wrong := findList(c, sdb, src)
	switch {
	case wrong:
		return
	case l == nil:
		c.W.AppendNull()
		return
	}
	d, dat, wrong := findList(c, ddb, dst)
	if wrong {
		return
	}
	c.W.AppendBulk(moveList(c, sdb, src, l, ddb, dst, d, dat, fromLeft, toLeft))
}

// moveList pops an element from the head (fromLeft) or tail of l, the
// list under src in sdb, pushes it at the head (toLeft) or tail of d, the
// list under dst in ddb with expiry dat (a new list when d is nil), logs
// both changes and returns the element. src and dst may be the same key,
// and then l and d the same list. Both keys' types must have been checked.
// It publishes the events with c as Redis does: the push, then the pop.
func moveList(c *Ctx, sdb *keyspace.DB, src []byte, l *object.List, ddb *keyspace.DB, dst []byte, d *object.List, dat int64, fromLeft, toLeft bool) []byte {
	before := l.MemoryUsage()
	e := bytes.Clone(l.Pop(fromLeft))
	pop := object.ListOp{Code: object.ListPop, Left: fromLeft, N: 1}
	if d == l {
		// A rotation, logged as the push and then the pop: logged the other
		// way, a list of one element would be empty between the records,
		// and a replay deletes an emptied list before the push could come.
		l.Push(toLeft, e)
		sdb.ListChanged(src, l, 0, false, before, object.ListOp{Code: object.ListPush, Left: toLeft, Elems: [][]byte{e}})
		ddb.ListChanged(dst, l, 0, false, l.MemoryUsage(), pop)
		c.Notify(notify.List, pushEvent(toLeft), dst)
		notifyPop(c, src, fromLeft, false)
		return e
	}
	sdb.ListChanged(src, l, 0, false, before, pop)
	pushList(ddb, dst, d, dat, toLeft, [][]byte{e})
	c.Notify(notify.List, pushEvent(toLeft), dst)
	notifyPop(c, src, fromLeft, l.Len() == 0)
	return e
}

// lmpopCommand implements LMPOP numkeys key… LEFT|RIGHT [COUNT n] with
// Redis's order of checks: it pops from the first of its keys that holds a
// list, checking the type of each key up to it.
func lmpopCommand(c *Ctx, args [][]byte) {
	keys, left, count, ok := parseMpop(c, args, 1, parseWhere)
	if ok && !lmpop(c, keys, left, count) {
		c.W.AppendNullArray()
	}
}

// lmpop pops up to count elements from the first of keys that holds a
// list, checking the type of each key up to it, and replies as LMPOP
// does. It reports false, replying nothing, when no key holds a list.
func lmpop(c *Ctx, keys [][]byte, left bool, count int64) bool {
	return popFirst(c, keys, func(key []byte, l *object.List) { appendMpop(c, key, l, left, count) })
}

// appendMpop pops up to count elements of key's list l and replies with
// the key and the elements.
func appendMpop(c *Ctx, key []byte, l *object.List, left bool, count int64) {
	c.W.AppendArray(2)
	c.W.AppendBulk(key)
	c.W.AppendArray(int(min(count, int64(l.Len()))))
	popList(c, c.DB(key), key, l, left, count, c.W.AppendBulk)
}

// parseMpop parses the arguments of LMPOP and ZMPOP from args[at] on:
// numkeys, the keys, the end to pop from (LEFT or RIGHT, MIN or MAX, as
// where parses it) and an optional COUNT, with Redis's errors and their
// order. count is 1 when not given.
func parseMpop(c *Ctx, args [][]byte, at int, where func([]byte) (bool, bool)) (keys [][]byte, first bool, count int64, ok bool) {
	numkeys, ok := resp.ParseInt(args[at])
	if !ok || numkeys < 1 {
		c.W.AppendError("ERR numkeys should be greater than 0")
		return nil, false, 0, false
	}
	if numkeys >= int64(len(args)-at-1) {
		c.W.AppendError(strErrSyntax)
		return nil, false, 0, false
	}
	wi := at + 1 + int(numkeys)
	first, ok = where(args[wi])
	if !ok {
		c.W.AppendError(strErrSyntax)
		return nil, false, 0, false
	}
	count = -1
	for j := wi + 1; j < len(args); j++ {
		if count == -1 && ascii.EqualFold(args[j], "count") && j+1 < len(args) {
			j++
			n, ok := resp.ParseInt(args[j])
			if !ok || n < 1 {
				c.W.AppendError("ERR count should be greater than 0")
				return nil, false, 0, false
			}
			count = n
			continue
		}
		c.W.AppendError(strErrSyntax)
		return nil, false, 0, false
	}
	return args[at+1 : wi], first, max(count, 1), true
}

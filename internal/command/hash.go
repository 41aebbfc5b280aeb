package command

import (
	"math"
	"strconv"

	"github.com/data-cluster/data-cluster/internal/ascii"
	"github.com/data-cluster/data-cluster/internal/glob"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// hashCommands are the commands on hash values. Each reaches its one key
// through c.DB(key) and changes the hash in place.
var hashCommands = []*Spec{
	{Name: "hset", Arity: -4, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Elem: 2, Run: hsetCommand},
	{Name: "hmset", Arity: -4, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Elem: 2, Run: hmsetCommand},
	{Name: "hsetnx", Arity: 4, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Elem: 2, Run: hsetnxCommand},
	{Name: "hget", Arity: 3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Elem: 2, Run: hgetCommand},
	{Name: "hmget", Arity: -3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Elem: 2, Run: hmgetCommand},
	{Name: "hgetall", Arity: 2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: hgetallCommand},
	{Name: "hkeys", Arity: 2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: hkeysCommand},
	{Name: "hvals", Arity: 2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: hvalsCommand},
	{Name: "hdel", Arity: -3, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Elem: 2, Run: hdelCommand},
	{Name: "hlen", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: hlenCommand},
	{Name: "hstrlen", Arity: 3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Elem: 2, Run: hstrlenCommand},
	{Name: "hexists", Arity: 3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Elem: 2, Run: hexistsCommand},
	{Name: "hincrby", Arity: 4, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Elem: 2, Run: hincrbyCommand},
	{Name: "hincrbyfloat", Arity: 4, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Elem: 2, Run: hincrbyfloatCommand},
	{Name: "hrandfield", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: hrandfieldCommand},
	{Name: "hscan", Arity: -3, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: hscanCommand},
}

// readAs returns key's value of type T for a read command, the zero T
// when absent. For a key of another type it replies WRONGTYPE and reports
// wrong.
func readAs[T storage.Object](c *Ctx, db *keyspace.DB, key []byte) (v T, wrong bool) {
	_, obj, ok := db.Read(key)
	if !ok {
		return v, false
	}
	if v, isT := obj.(T); isT {
		return v, false
	}
	c.W.AppendError(ErrWrongType)
	return v, true
}

// findAs returns key's value of type T for a write command with its
// expiry, the zero T when absent. For a key of another type it replies
// WRONGTYPE and reports wrong.
func findAs[T storage.Object](c *Ctx, db *keyspace.DB, key []byte) (v T, at int64, wrong bool) {
	_, obj, at, ok := db.Find(key)
	if !ok {
		return v, 0, false
	}
	if v, isT := obj.(T); isT {
		return v, at, false
	}
	c.W.AppendError(ErrWrongType)
	return v, 0, true
}

// readHash returns key's hash for a read command (readAs).
func readHash(c *Ctx, db *keyspace.DB, key []byte) (*object.Hash, bool) {
	return readAs[*object.Hash](c, db, key)
}

// writeHash returns key's hash for a write command with its expiry, or a
// new hash (created) that the command stores through db.Added. For a key
// of another type it replies WRONGTYPE and reports wrong.
func writeHash(c *Ctx, db *keyspace.DB, key []byte) (h *object.Hash, at int64, created, wrong bool) {
	_, obj, at, ok := db.Find(key)
	if !ok {
		return object.NewHash(), storage.NoExpiry, true, false
	}
	if h, isHash := obj.(*object.Hash); isHash {
		return h, at, false, false
	}
	c.W.AppendError(ErrWrongType)
	return nil, 0, false, true
}

// hashTryConversion turns h into a table before fields and values are set
// when Redis's hashTypeTryConversion would: more new pairs than the entry
// limit, or any of them longer than the value limit.
func hashTryConversion(h *object.Hash, pairs [][]byte) {
	if h.Encoding() != object.EncListpack {
		return
	}
	l := object.CurrentLimits()
	if int64(len(pairs)/2) > l.HashMaxListpackEntries {
		h.Convert()
		return
	}
	for _, a := range pairs {
		if int64(len(a)) > l.HashMaxListpackValue {
			h.Convert()
			return
		}
	}
}

func hsetCommand(c *Ctx, args [][]byte)  { hsetGeneric(c, args, "hset") }
func hmsetCommand(c *Ctx, args [][]byte) { hsetGeneric(c, args, "hmset") }

// hsetGeneric implements HSET, which replies with the number of new
// fields, and HMSET, which replies OK.
func hsetGeneric(c *Ctx, args [][]byte, name string) {
	if len(args)%2 != 0 {
		c.W.AppendError("ERR wrong number of arguments for '" + name + "' command")
		return
	}
	key := args[1]
	db := c.DB(key)
	h, at, created, wrong := writeHash(c, db, key)
	if wrong {
		return
	}
	before := h.MemoryUsage()
	hashTryConversion(h, args[2:])
	added := 0
	for i := 2; i < len(args); i += 2 {
		if h.Set(args[i], args[i+1]) {
			added++
		}
	}
	db.Added(key, h, at, created, before, args[2:])
	c.Notify(notify.Hash, "hset", key)
	if name == "hmset" {
		c.W.AppendOK()
		return
	}
	c.W.AppendInt(int64(added))
}

func hsetnxCommand(c *Ctx, args [][]byte) {
	key := args[1]
	db := c.DB(key)
	h, at, created, wrong := writeHash(c, db, key)
	if wrong {
		return
	}
	if h.Has(args[2]) {
		c.W.AppendInt(0)
		return
	}
	before := h.MemoryUsage()
	hashTryConversion(h, args[2:4])
	h.Set(args[2], args[3])
	db.Added(key, h, at, created, before, args[2:4])
	c.Notify(notify.Hash, "hset", key)
	c.W.AppendInt(1)
}

func hgetCommand(c *Ctx, args [][]byte) {
	h, wrong := readHash(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	if h != nil {
		if v, ok := h.Get(args[2]); ok {
			c.W.AppendBulk(v)
			return
		}
	}
	c.W.AppendNull()
}

func hmgetCommand(c *Ctx, args [][]byte) {
	h, wrong := readHash(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	c.W.AppendArray(len(args) - 2)
	for _, f := range args[2:] {
		if h != nil {
			if v, ok := h.Get(f); ok {
				c.W.AppendBulk(v)
				continue
			}
		}
		c.W.AppendNull()
	}
}

func hgetallCommand(c *Ctx, args [][]byte) {
	h, wrong := readHash(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	if h == nil {
		c.W.AppendMap(0)
		return
	}
	c.W.AppendMap(h.Len())
	h.Range(func(f, v []byte) bool {
		c.W.AppendBulk(f)
		c.W.AppendBulk(v)
		return true
	})
}

func hkeysCommand(c *Ctx, args [][]byte) { hkeysVals(c, args, true) }
func hvalsCommand(c *Ctx, args [][]byte) { hkeysVals(c, args, false) }

// hkeysVals implements HKEYS (keys) and HVALS.
func hkeysVals(c *Ctx, args [][]byte, keys bool) {
	h, wrong := readHash(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	if h == nil {
		c.W.AppendArray(0)
		return
	}
	c.W.AppendArray(h.Len())
	h.Range(func(f, v []byte) bool {
		if keys {
			c.W.AppendBulk(f)
		} else {
			c.W.AppendBulk(v)
		}
		return true
	})
}

func hdelCommand(c *Ctx, args [][]byte) {
	key := args[1]
	db := c.DB(key)
	h, wrong := readHash(c, db, key)
	if wrong {
		return
	}
	if h == nil {
		c.W.AppendInt(0)
		return
	}
	removeElements(c, db, key, h, h.Delete, args[2:], notify.Hash, "hdel")
}

func hlenCommand(c *Ctx, args [][]byte) {
	h, wrong := readHash(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	if h == nil {
		c.W.AppendInt(0)
		return
	}
	c.W.AppendInt(int64(h.Len()))
}

func hstrlenCommand(c *Ctx, args [][]byte) {
	h, wrong := readHash(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	var v []byte
	if h != nil {
		v, _ = h.Get(args[2])
	}
	c.W.AppendInt(int64(len(v)))
}

func hexistsCommand(c *Ctx, args [][]byte) {
	h, wrong := readHash(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	if h != nil && h.Has(args[2]) {
		c.W.AppendInt(1)
		return
	}
	c.W.AppendInt(0)
}

// hincrbyCommand adds an integer to a field, as Redis checks it: the
// increment, then the type, then the field's value.
func hincrbyCommand(c *Ctx, args [][]byte) {
	incr, ok := resp.ParseInt(args[3])
	if !ok {
		c.W.AppendError(strErrNotInt)
		return
	}
	key := args[1]
	db := c.DB(key)
	h, at, created, wrong := writeHash(c, db, key)
	if wrong {
		return
	}
	var v int64
	if old, found := h.Get(args[2]); found {
		if v, ok = parseStrictInt(old); !ok {
			c.W.AppendError("ERR hash value is not an integer")
			return
		}
	}
	if incr < 0 && v < 0 && incr < math.MinInt64-v || incr > 0 && v > 0 && incr > math.MaxInt64-v {
		c.W.AppendError(strErrOverflow)
		return
	}
	v += incr
	var buf [20]byte
	text := strconv.AppendInt(buf[:0], v, 10)
	before := h.MemoryUsage()
	h.Set(args[2], text)
	db.Added(key, h, at, created, before, [][]byte{args[2], text})
	c.Notify(notify.Hash, "hincrby", key)
	c.W.AppendInt(v)
}

// parseStrictInt parses b as Redis's string2ll: a canonical decimal integer
// within int64, nothing else.
func parseStrictInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 || b[0] == '+' || len(b) > 1 && (b[0] == '0' || b[0] == '-' && b[1] == '0') {
		return 0, false
	}
	return resp.ParseInt(b)
}

// hincrbyfloatCommand adds a float to a field in extended precision and
// stores and replies with the result in Redis's human-friendly form.
func hincrbyfloatCommand(c *Ctx, args [][]byte) {
	incr, ok := parseExtFloat(args[3])
	if !ok {
		c.W.AppendError(strErrNotFloat)
		return
	}
	if incr.inf {
		c.W.AppendError("ERR value is NaN or Infinity")
		return
	}
	key := args[1]
	db := c.DB(key)
	h, at, created, wrong := writeHash(c, db, key)
	if wrong {
		return
	}
	var value extFloat
	if old, found := h.Get(args[2]); found {
		if value, ok = parseExtFloat(old); !ok {
			c.W.AppendError("ERR hash value is not a float")
			return
		}
	}
	sum, ok := value.add(incr)
	if !ok {
		c.W.AppendError(strErrNaN)
		return
	}
	var tmp [64]byte
	text := sum.appendHuman(tmp[:0])
	before := h.MemoryUsage()
	h.Set(args[2], text)
	db.Added(key, h, at, created, before, [][]byte{args[2], text})
	c.Notify(notify.Hash, "hincrbyfloat", key)
	c.W.AppendBulk(text)
}

// maxRandomCount bounds the replies of HRANDFIELD and SRANDMEMBER with a
// negative count, which may repeat elements: Redis builds whatever was
// asked for until memory runs out; here a larger count is refused.
const maxRandomCount = 1 << 24

// parseRandomCount parses the count of HRANDFIELD, SRANDMEMBER or
// ZRANDMEMBER as Redis does: an integer from -LONG_MAX to LONG_MAX, with
// the text of Redis's range check word for word ("value must between").
func parseRandomCount(c *Ctx, arg []byte) (int64, bool) {
	n, ok := resp.ParseInt(arg)
	if !ok {
		c.W.AppendError(strErrNotInt)
		return 0, false
	}
	if n == math.MinInt64 {
		c.W.AppendError("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
		return 0, false
	}
	return n, true
}

// hrandfieldCommand implements HRANDFIELD key [count [WITHVALUES]] as Redis
// 7 does: without a count one field or nil; a positive count gives distinct
// fields (all of them when it reaches the size), a negative one |count|
// fields that may repeat.
func hrandfieldCommand(c *Ctx, args [][]byte) {
	if len(args) == 2 {
		h, wrong := readHash(c, c.DB(args[1]), args[1])
		switch {
		case wrong:
		case h == nil:
			c.W.AppendNull()
		default:
			f, _ := h.At(c.randN(h.Len()))
			c.W.AppendBulk(f)
		}
		return
	}
	n, ok := parseRandomCount(c, args[2])
	if !ok {
		return
	}
	withValues := false
	if len(args) > 4 || len(args) == 4 && !ascii.EqualFold(args[3], "withvalues") {
		c.W.AppendError(strErrSyntax)
		return
	}
	if len(args) == 4 {
		withValues = true
		if n < -math.MaxInt64/2 || n > math.MaxInt64/2 {
			c.W.AppendError("ERR value is out of range")
			return
		}
	}
	if n < -maxRandomCount {
		c.W.AppendError("ERR value is out of range")
		return
	}
	h, wrong := readHash(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	if h == nil || n == 0 {
		c.W.AppendArray(0)
		return
	}
	reply := func(f, v []byte) {
		if withValues && c.W.Proto() > 2 {
			c.W.AppendArray(2)
		}
		c.W.AppendBulk(f)
		if withValues {
			c.W.AppendBulk(v)
		}
	}
	header := func(n int) {
		if withValues && c.W.Proto() == 2 {
			n *= 2
		}
		c.W.AppendArray(n)
	}
	size := h.Len()
	switch {
	case n < 0:
		header(int(-n))
		for range -n {
			reply(h.At(c.randN(size)))
		}
	case n >= int64(size):
		header(size)
		h.Range(func(f, v []byte) bool { reply(f, v); return true })
	default:
		header(int(n))
		for _, i := range pickDistinct(c, size, int(n)) {
			reply(h.At(i))
		}
	}
}

// pickDistinct returns k distinct positions of [0, n) in random order, for
// 0 < k < n: a partial Fisher-Yates shuffle over a map of the positions it
// moved, so that it costs O(k) whatever n is.
func pickDistinct(c *Ctx, n, k int) []int {
	moved := make(map[int]int, k)
	at := func(i int) int {
		if v, ok := moved[i]; ok {
			return v
		}
		return i
	}
	out := make([]int, k)
	for i := range k {
		j := i + c.randN(n-i)
		out[i] = at(j)
		moved[j] = at(i)
	}
	return out
}

// scanCursor parses the cursor of HSCAN, SSCAN and ZSCAN. It replies with
// the error and reports false on a bad one. Redis reads the cursor before
// it looks the key up, and the options only after (see scanOptions).
func scanCursor(c *Ctx, arg []byte) (uint64, bool) {
	cursor, ok := parseCursor(arg)
	if !ok {
		c.W.AppendError("ERR invalid cursor")
	}
	return cursor, ok
}

// scanOptions parses the options of HSCAN, SSCAN and ZSCAN, args[3:]:
// MATCH pattern and COUNT count, as Redis does. It replies with the error
// and reports false on a bad one. Redis reads them only once the key is
// found and of the command's type, so a missing key answers an empty scan
// and a key of another type WRONGTYPE, whatever the options say.
func scanOptions(c *Ctx, args [][]byte) (pattern []byte, count int, ok bool) {
	count = 10
	for i := 3; i < len(args); i += 2 {
		more := i+1 < len(args)
		switch {
		case ascii.EqualFold(args[i], "count") && more:
			n, ok := resp.ParseInt(args[i+1])
			if !ok {
				c.W.AppendError(strErrNotInt)
				return nil, 0, false
			}
			if n < 1 {
				c.W.AppendError(strErrSyntax)
				return nil, 0, false
			}
			count = int(min(n, math.MaxInt32))
		case ascii.EqualFold(args[i], "match") && more:
			pattern = args[i+1]
			if len(pattern) == 1 && pattern[0] == '*' {
				pattern = nil
			}
		default:
			c.W.AppendError(strErrSyntax)
			return nil, 0, false
		}
	}
	return pattern, count, true
}

// scanPositions returns the positions of a collection of n elements that
// one HSCAN or SSCAN call visits from cursor, and the next cursor. A
// compact collection is visited whole in one call, as Redis does. A table
// is visited from its last position down: a removal moves the last element
// into the hole, so an element moved during an iteration either was
// visited already or lands where the iteration has yet to go, and every
// element present throughout is returned at least once. The cursor is the
// next position to visit plus one, 0 when done.
func scanPositions(n int, compact bool, cursor uint64, count int) (from, to int, next uint64) {
	if compact || n == 0 {
		return 0, n, 0
	}
	start := n
	if cursor != 0 && cursor <= uint64(n) {
		start = int(cursor)
	}
	end := max(start-count, 0)
	if end > 0 {
		next = uint64(end)
	}
	return end, start, next
}

func hscanCommand(c *Ctx, args [][]byte) {
	cursor, ok := scanCursor(c, args[2])
	if !ok {
		return
	}
	h, wrong := readHash(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	var buf [20]byte
	if h == nil {
		c.W.AppendArray(2)
		c.W.AppendBulkString("0")
		c.W.AppendArray(0)
		return
	}
	pattern, count, ok := scanOptions(c, args)
	if !ok {
		return
	}
	from, to, next := scanPositions(h.Len(), h.Encoding() == object.EncListpack, cursor, count)
	c.W.AppendArray(2)
	c.W.AppendBulk(strconv.AppendUint(buf[:0], next, 10))
	// The count of pairs is known only once they are matched: build the
	// array after a placeholder-free pass.
	var pairs [][]byte
	for i := to - 1; i >= from; i-- {
		f, v := h.At(i)
		if pattern == nil || glob.Match(pattern, f) {
			pairs = append(pairs, f, v)
		}
	}
	if h.Encoding() == object.EncListpack {
		// A listpack's pairs in their order, as Redis returns them.
		for i, j := 0, len(pairs)-2; i < j; i, j = i+2, j-2 {
			pairs[i], pairs[i+1], pairs[j], pairs[j+1] = pairs[j], pairs[j+1], pairs[i], pairs[i+1]
		}
	}
	appendKeys(c, pairs)
}

package command

import (
	"bytes"
	"math"
	"math/big"

	"github.com/data-cluster/data-cluster/internal/ascii"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// stringCommands are the commands on string values: reads, writes with
// their expiry options, multi-key reads and writes, ranges, counters and
// LCS. Multi-key commands (MGET, MSET, MSETNX, LCS) reach each key through
// c.DB(key); they are atomic because the router holds every shard involved.
var stringCommands = []*Spec{
	{Name: "get", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: getCommand},
	{Name: "set", Arity: -3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Run: setCommand},
	{Name: "setnx", Arity: 3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: setnxCommand},
	{Name: "setex", Arity: 4, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Run: setexCommand},
	{Name: "psetex", Arity: 4, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Run: psetexCommand},
	{Name: "getset", Arity: 3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: getsetCommand},
	{Name: "getdel", Arity: 2, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: getdelCommand},
	{Name: "getex", Arity: -2, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: getexCommand},
	{Name: "mget", Arity: -2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: -1, Step: 1, Run: mgetCommand},
	{Name: "mset", Arity: -3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: -1, Step: 2, Run: msetCommand},
	{Name: "msetnx", Arity: -3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: -1, Step: 2, Run: msetnxCommand},
	{Name: "append", Arity: 3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: appendCommand},
	{Name: "strlen", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: strlenCommand},
	{Name: "getrange", Arity: 4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: getrangeCommand},
	{Name: "substr", Arity: 4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: getrangeCommand},
	{Name: "setrange", Arity: 4, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Run: setrangeCommand},
	{Name: "incr", Arity: 2, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: incrCommand},
	{Name: "decr", Arity: 2, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: decrCommand},
	{Name: "incrby", Arity: 3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: incrbyCommand},
	{Name: "decrby", Arity: 3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: decrbyCommand},
	{Name: "incrbyfloat", Arity: 3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: incrbyfloatCommand},
	{Name: "lcs", Arity: -3, Flags: ReadOnly, FirstKey: 1, LastKey: 2, Step: 1, Run: lcsCommand},
}

// maxStringLen is the longest string a command may build: Redis's default
// proto-max-bulk-len, 512 MiB.
const maxStringLen = 512 << 20

// Error replies of the string commands, as Redis words them.
const (
	strErrSyntax   = "ERR syntax error"
	strErrNotInt   = "ERR value is not an integer or out of range"
	strErrNotFloat = "ERR value is not a valid float"
	strErrOverflow = "ERR increment or decrement would overflow"
	strErrNaN      = "ERR increment would produce NaN or Infinity"
	strErrTooLong  = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
	strErrOffset   = "ERR offset is out of range"
)

// ErrWrongType is Redis's reply to a command run on a key of another type.
const ErrWrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"

// readString reads key as a string for a read command, counting the hit or
// miss. For a key of another type it replies WRONGTYPE and reports wrong.
func readString(c *Ctx, db *keyspace.DB, key []byte) (v []byte, ok, wrong bool) {
	v, obj, ok := db.Read(key)
	if obj != nil {
		c.W.AppendError(ErrWrongType)
		return nil, false, true
	}
	return v, ok, false
}

// findString reads key as a string for a write command, with its expiry.
// For a key of another type it replies WRONGTYPE and reports wrong.
func findString(c *Ctx, db *keyspace.DB, key []byte) (v []byte, at int64, ok, wrong bool) {
	v, obj, at, ok := db.Find(key)
	if obj != nil {
		c.W.AppendError(ErrWrongType)
		return nil, 0, false, true
	}
	return v, at, ok, false
}

func getCommand(c *Ctx, args [][]byte) {
	v, ok, wrong := readString(c, c.DB(args[1]), args[1])
	switch {
	case wrong:
	case ok:
		c.W.AppendBulk(v)
	default:
		c.W.AppendNull()
	}
}

// Options of SET and GETEX, as bits.
const (
	optNX = 1 << iota
	optXX
	optGet
	optKeepTTL
	optPersist
	optEX
	optPX
	optEXAT
	optPXAT

	optExpiry = optEX | optPX | optEXAT | optPXAT
)

// parseSetOptions parses the options of SET (after the value) or of GETEX
// (after the key) as Redis does: NX, XX, GET and KEEPTTL for SET only,
// PERSIST for GETEX only, and one of EX, PX, EXAT or PXAT followed by its
// argument. Repeating an option is allowed (the last expiry wins); options
// that conflict are a syntax error. It returns the options and the expiry
// argument, or replies with the error and reports false.
func parseSetOptions(c *Ctx, args [][]byte, set bool) (opts int, expire []byte, ok bool) {
	j := 2
	if set {
		j = 3
	}
	for ; j < len(args); j++ {
		opt := args[j]
		next := j+1 < len(args)
		var bit int
		switch {
		case set && optionIs(opt, "nx") && opts&optXX == 0:
			bit = optNX
		case set && optionIs(opt, "xx") && opts&optNX == 0:
			bit = optXX
		case set && optionIs(opt, "get"):
			bit = optGet
		case set && optionIs(opt, "keepttl") && opts&(optPersist|optExpiry) == 0:
			bit = optKeepTTL
		case !set && optionIs(opt, "persist") && opts&(optKeepTTL|optExpiry) == 0:
			bit = optPersist
		case optionIs(opt, "ex") && next && opts&(optKeepTTL|optPersist|optExpiry&^optEX) == 0:
			bit = optEX
		case optionIs(opt, "px") && next && opts&(optKeepTTL|optPersist|optExpiry&^optPX) == 0:
			bit = optPX
		case optionIs(opt, "exat") && next && opts&(optKeepTTL|optPersist|optExpiry&^optEXAT) == 0:
			bit = optEXAT
		case optionIs(opt, "pxat") && next && opts&(optKeepTTL|optPersist|optExpiry&^optPXAT) == 0:
			bit = optPXAT
		default:
			c.W.AppendError(strErrSyntax)
			return 0, nil, false
		}
		opts |= bit
		if bit&optExpiry != 0 {
			j++
			expire = args[j]
		}
	}
	return opts, expire, true
}

// optionIs reports whether the option argument b is the lower-case word w in
// any letter case. Like Redis, which compares options as C strings, it
// ignores anything from a NUL byte on.
func optionIs(b []byte, w string) bool {
	if len(b) > len(w) && b[len(w)] == 0 {
		b = b[:len(w)]
	}
	return ascii.EqualFold(b, w)
}

// expireTime turns the expiry argument of the option in opts into an
// absolute time in Unix milliseconds, as Redis's
// getExpireMillisecondsOrReply does: the value must be a positive integer
// whose time in milliseconds fits in 64 bits. On error it replies and
// reports false; name is the command named in the error.
func expireTime(c *Ctx, name string, arg []byte, opts int, now int64) (int64, bool) {
	ms, ok := resp.ParseInt(arg)
	if !ok {
		c.W.AppendError(strErrNotInt)
		return 0, false
	}
	seconds := opts&(optEX|optEXAT) != 0
	if ms <= 0 || seconds && ms > math.MaxInt64/1000 {
		c.W.AppendError("ERR invalid expire time in '" + name + "' command")
		return 0, false
	}
	if seconds {
		ms *= 1000
	}
	if opts&(optEX|optPX) != 0 {
		ms += now // wraps round on overflow, caught below as in Redis
	}
	if ms <= 0 {
		c.W.AppendError("ERR invalid expire time in '" + name + "' command")
		return 0, false
	}
	return ms, true
}

// setCommand implements SET key value [NX|XX] [GET]
// [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL].
func setCommand(c *Ctx, args [][]byte) {
	opts, expire, ok := parseSetOptions(c, args, true)
	if !ok {
		return
	}
	setGeneric(c, "set", args[1], args[2], opts, expire, false)
}

func setnxCommand(c *Ctx, args [][]byte) {
	setGeneric(c, "setnx", args[1], args[2], optNX, nil, true)
}

func setexCommand(c *Ctx, args [][]byte) {
	setGeneric(c, "setex", args[1], args[3], optEX, args[2], false)
}

func psetexCommand(c *Ctx, args [][]byte) {
	setGeneric(c, "psetex", args[1], args[3], optPX, args[2], false)
}

// setGeneric stores value under key as SET does with the options opts and
// the expiry argument expire (nil for none). Without KEEPTTL the key loses
// any previous expiry. setnx selects SETNX's replies, 1 and 0, over OK and
// null.
func setGeneric(c *Ctx, name string, key, value []byte, opts int, expire []byte, setnx bool) {
	db := c.DB(key)
	at := storage.NoExpiry
	if expire != nil {
		var ok bool
		if at, ok = expireTime(c, name, expire, opts, db.Now()); !ok {
			return
		}
	}
	if opts&optGet != 0 {
		old, ok, wrong := readString(c, db, key)
		switch {
		case wrong:
			return
		case ok:
			c.W.AppendBulk(old)
		default:
			c.W.AppendNull()
		}
	}
	_, oldAt, found := db.Lookup(key)
	if opts&optNX != 0 && found || opts&optXX != 0 && !found {
		switch {
		case opts&optGet != 0:
		case setnx:
			c.W.AppendInt(0)
		default:
			c.W.AppendNull()
		}
		return
	}
	if opts&optKeepTTL != 0 {
		at = oldAt
	}
	db.Set(key, value, at)
	switch {
	case opts&optGet != 0:
	case setnx:
		c.W.AppendInt(1)
	default:
		c.W.AppendOK()
	}
}

// getsetCommand replies with the old value and stores the new one without
// an expiry.
func getsetCommand(c *Ctx, args [][]byte) {
	db := c.DB(args[1])
	old, ok, wrong := readString(c, db, args[1])
	switch {
	case wrong:
		return
	case ok:
		c.W.AppendBulk(old)
	default:
		c.W.AppendNull()
	}
	db.Set(args[1], args[2], storage.NoExpiry)
}

func getdelCommand(c *Ctx, args [][]byte) {
	db := c.DB(args[1])
	v, ok, wrong := readString(c, db, args[1])
	if wrong {
		return
	}
	if !ok {
		c.W.AppendNull()
		return
	}
	c.W.AppendBulk(v)
	db.Delete(args[1])
}

// getexCommand implements GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST]. As
// in Redis the expiry argument is only checked when the key exists, and an
// absolute time that has already come deletes the key.
func getexCommand(c *Ctx, args [][]byte) {
	opts, expire, ok := parseSetOptions(c, args, false)
	if !ok {
		return
	}
	key := args[1]
	db := c.DB(key)
	v, ok, wrong := readString(c, db, key)
	if wrong {
		return
	}
	if !ok {
		c.W.AppendNull()
		return
	}
	var at int64
	if expire != nil {
		if at, ok = expireTime(c, "getex", expire, opts, db.Now()); !ok {
			return
		}
	}
	c.W.AppendBulk(v)
	switch {
	case opts&(optEXAT|optPXAT) != 0 && at <= db.Now():
		db.Delete(key)
	case expire != nil:
		db.SetExpire(key, at)
	case opts&optPersist != 0:
		if _, old, _ := db.Lookup(key); old != storage.NoExpiry {
			db.SetExpire(key, storage.NoExpiry)
		}
	}
}

func mgetCommand(c *Ctx, args [][]byte) {
	c.W.AppendArray(len(args) - 1)
	for _, key := range args[1:] {
		// A key of another type reads as nil, as in Redis.
		if v, obj, ok := c.DB(key).Read(key); ok && obj == nil {
			c.W.AppendBulk(v)
		} else {
			c.W.AppendNull()
		}
	}
}

func msetCommand(c *Ctx, args [][]byte) {
	if len(args)%2 == 0 {
		c.W.AppendError("ERR wrong number of arguments for 'mset' command")
		return
	}
	for i := 1; i < len(args); i += 2 {
		c.DB(args[i]).Set(args[i], args[i+1], storage.NoExpiry)
	}
	c.W.AppendOK()
}

// msetnxCommand sets every pair, or none when any of the keys exists.
func msetnxCommand(c *Ctx, args [][]byte) {
	if len(args)%2 == 0 {
		c.W.AppendError("ERR wrong number of arguments for 'msetnx' command")
		return
	}
	for i := 1; i < len(args); i += 2 {
		if c.DB(args[i]).Exists(args[i]) {
			c.W.AppendInt(0)
			return
		}
	}
	for i := 1; i < len(args); i += 2 {
		c.DB(args[i]).Set(args[i], args[i+1], storage.NoExpiry)
	}
	c.W.AppendInt(1)
}

// appendCommand appends to the value, keeping the key's expiry.
func appendCommand(c *Ctx, args [][]byte) {
	key, tail := args[1], args[2]
	db := c.DB(key)
	old, at, ok, wrong := findString(c, db, key)
	if wrong {
		return
	}
	if !ok {
		db.Set(key, tail, storage.NoExpiry)
		c.W.AppendInt(int64(len(tail)))
		return
	}
	n := len(old) + len(tail)
	if n > maxStringLen {
		c.W.AppendError(strErrTooLong)
		return
	}
	b := newValueBuilder(c.W, n)
	b.add(old)
	b.add(tail)
	db.Set(key, b.bytes(), at)
	b.done()
	c.W.AppendInt(int64(n))
}

func strlenCommand(c *Ctx, args [][]byte) {
	v, _, wrong := readString(c, c.DB(args[1]), args[1])
	if !wrong {
		c.W.AppendInt(int64(len(v)))
	}
}

// getrangeCommand implements GETRANGE and SUBSTR with Redis 7's index
// rules: negative indexes count from the end, both are clamped to the
// string, and two negative indexes in the wrong order give "".
func getrangeCommand(c *Ctx, args [][]byte) {
	start, ok1 := resp.ParseInt(args[2])
	end, ok2 := resp.ParseInt(args[3])
	if !ok1 || !ok2 {
		c.W.AppendError(strErrNotInt)
		return
	}
	v, _, wrong := readString(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	n := int64(len(v))
	if start < 0 && end < 0 && start > end {
		c.W.AppendBulk(nil)
		return
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(start, 0), max(end, 0)
	end = min(end, n-1)
	if start > end || n == 0 {
		c.W.AppendBulk(nil)
		return
	}
	c.W.AppendBulk(v[start : end+1])
}

// setrangeCommand overwrites part of the value from an offset, padding with
// zero bytes, and keeps the key's expiry.
func setrangeCommand(c *Ctx, args [][]byte) {
	key, patch := args[1], args[3]
	off64, ok := resp.ParseInt(args[2])
	if !ok {
		c.W.AppendError(strErrNotInt)
		return
	}
	if off64 < 0 {
		c.W.AppendError(strErrOffset)
		return
	}
	db := c.DB(key)
	old, at, _, wrong := findString(c, db, key)
	if wrong {
		return
	}
	if len(patch) == 0 {
		c.W.AppendInt(int64(len(old)))
		return
	}
	if off64 > int64(maxStringLen-len(patch)) {
		c.W.AppendError(strErrTooLong)
		return
	}
	off := int(off64)
	end := off + len(patch)
	if end <= len(old) && db.WriteAt(key, off, patch) {
		// Within the string: only the patch is written and logged.
		c.W.AppendInt(int64(len(old)))
		return
	}
	n := max(len(old), end)
	b := newValueBuilder(c.W, n)
	b.add(old[:min(off, len(old))])
	b.zeros(off - len(old))
	b.add(patch)
	if end < len(old) {
		b.add(old[end:])
	}
	db.Set(key, b.bytes(), at)
	b.done()
	c.W.AppendInt(int64(n))
}

// scratchMax is the longest value built at the end of the reply buffer;
// longer ones get their own allocation so that the reply buffer, which is
// kept for reuse, does not grow to their size.
const scratchMax = 64 << 10

// valueBuilder builds a new value from parts before it is stored. Short
// values are built at the end of the reply buffer, so that they cost no
// allocation, and removed again by done once Set has copied them.
type valueBuilder struct {
	w    *resp.Writer // nil when building in buf
	mark int
	buf  []byte
}

var zeroBlock [512]byte

func newValueBuilder(w *resp.Writer, n int) valueBuilder {
	if n <= scratchMax {
		return valueBuilder{w: w, mark: w.Len()}
	}
	return valueBuilder{buf: make([]byte, 0, n)}
}

func (b *valueBuilder) add(p []byte) {
	if b.w != nil {
		b.w.AppendRaw(p)
		return
	}
	b.buf = append(b.buf, p...)
}

// zeros adds n zero bytes; n <= 0 adds nothing.
func (b *valueBuilder) zeros(n int) {
	if b.w == nil && n > 0 {
		// buf's spare capacity is fresh, zeroed memory.
		b.buf = b.buf[:len(b.buf)+n]
		return
	}
	for n > 0 {
		k := min(n, len(zeroBlock))
		b.add(zeroBlock[:k])
		n -= k
	}
}

// bytes returns the value built so far. It is valid until done.
func (b *valueBuilder) bytes() []byte {
	if b.w != nil {
		return b.w.Bytes()[b.mark:]
	}
	return b.buf
}

// done drops the value from the reply buffer.
func (b *valueBuilder) done() {
	if b.w != nil {
		b.w.Truncate(b.mark)
	}
}

func incrCommand(c *Ctx, args [][]byte) { incrDecr(c, args[1], 1) }
func decrCommand(c *Ctx, args [][]byte) { incrDecr(c, args[1], -1) }

func incrbyCommand(c *Ctx, args [][]byte) {
	incr, ok := resp.ParseInt(args[2])
	if !ok {
		c.W.AppendError(strErrNotInt)
		return
	}
	incrDecr(c, args[1], incr)
}

func decrbyCommand(c *Ctx, args [][]byte) {
	decr, ok := resp.ParseInt(args[2])
	if !ok {
		c.W.AppendError(strErrNotInt)
		return
	}
	if decr == math.MinInt64 {
		c.W.AppendError("ERR decrement would overflow")
		return
	}
	incrDecr(c, args[1], -decr)
}

// incrDecr adds incr to the integer stored at key (0 when missing), keeping
// the key's expiry, and replies with the result.
func incrDecr(c *Ctx, key []byte, incr int64) {
	db := c.DB(key)
	old, at, found, wrong := findString(c, db, key)
	if wrong {
		return
	}
	var v int64
	if found {
		var ok bool
		if v, ok = resp.ParseInt(old); !ok {
			c.W.AppendError(strErrNotInt)
			return
		}
	}
	if incr < 0 && v < 0 && incr < math.MinInt64-v || incr > 0 && v > 0 && incr > math.MaxInt64-v {
		c.W.AppendError(strErrOverflow)
		return
	}
	v += incr
	// The reply ":<digits>\r\n" holds the new value's text: store that.
	start := c.W.Len()
	c.W.AppendInt(v)
	reply := c.W.Bytes()
	db.Set(key, reply[start+1:len(reply)-2], at)
}

// incrbyfloatCommand adds a float to the number stored at key in x87
// extended precision, as Redis does with long double, keeping the key's
// expiry, and replies with the result in Redis's human-friendly form.
func incrbyfloatCommand(c *Ctx, args [][]byte) {
	key := args[1]
	db := c.DB(key)
	old, at, found, wrong := findString(c, db, key)
	if wrong {
		return
	}
	var value extFloat
	if found {
		var ok bool
		if value, ok = parseExtFloat(old); !ok {
			c.W.AppendError(strErrNotFloat)
			return
		}
	}
	incr, ok := parseExtFloat(args[2])
	if !ok {
		c.W.AppendError(strErrNotFloat)
		return
	}
	sum, ok := value.add(incr)
	if !ok {
		c.W.AppendError(strErrNaN)
		return
	}
	var tmp [64]byte
	text := sum.appendHuman(tmp[:0])
	c.W.AppendBulk(text)
	db.Set(key, text, at)
}

// lcsMaxCells bounds the table LCS builds, (len(a)+1)*(len(b)+1) cells of 4
// bytes. Redis allocates whatever the strings need and fails only when
// memory runs out; here a larger table is refused with Redis's error for
// that case rather than risking the process.
const lcsMaxCells = 1 << 27

// lcsRange is one matching stretch found by LCS IDX: a[a0..a1] equals
// b[b0..b1].
type lcsRange struct{ a0, a1, b0, b1 int }

// lcsCommand implements LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n]
// [WITHMATCHLEN] with Redis's dynamic-programming table and its walk back
// through it, so that ties resolve as in Redis and IDX lists the same
// ranges in the same order (from the end of the strings).
func lcsCommand(c *Ctx, args [][]byte) {
	// Settle expiry of both keys first: reading one must not be followed by
	// a removal that could move the other's bytes.
	dba, dbb := c.DB(args[1]), c.DB(args[2])
	dba.Exists(args[1])
	dbb.Exists(args[2])
	a, obja, _ := dba.Read(args[1])
	b, objb, _ := dbb.Read(args[2])
	if obja != nil || objb != nil {
		c.W.AppendError("ERR The specified keys must contain string values")
		return
	}

	var getLen, getIdx, withMatchLen bool
	var minMatchLen int64
	for j := 3; j < len(args); j++ {
		opt := args[j]
		switch {
		case optionIs(opt, "idx"):
			getIdx = true
		case optionIs(opt, "len"):
			getLen = true
		case optionIs(opt, "withmatchlen"):
			withMatchLen = true
		case optionIs(opt, "minmatchlen") && j+1 < len(args):
			var ok bool
			if minMatchLen, ok = resp.ParseInt(args[j+1]); !ok {
				c.W.AppendError(strErrNotInt)
				return
			}
			minMatchLen = max(minMatchLen, 0)
			j++
		default:
			c.W.AppendError(strErrSyntax)
			return
		}
	}
	if getIdx && getLen {
		c.W.AppendError("ERR If you want both the length and indexes, please just use IDX.")
		return
	}
	if int64(len(a)) >= math.MaxUint32-1 || int64(len(b)) >= math.MaxUint32-1 {
		c.W.AppendError("ERR String too long for LCS")
		return
	}
	cells := (int64(len(a)) + 1) * (int64(len(b)) + 1)
	if cells > lcsMaxCells {
		c.W.AppendError("ERR Insufficient memory, failed allocating transient memory for LCS")
		return
	}

	// dp[i*w+j] is the LCS length of a[:i] and b[:j].
	w := len(b) + 1
	dp := make([]uint32, cells)
	for i := 1; i <= len(a); i++ {
		row, prev := dp[i*w:(i+1)*w], dp[(i-1)*w:i*w]
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				row[j] = prev[j-1] + 1
			} else {
				row[j] = max(prev[j], row[j-1])
			}
		}
	}
	total := int(dp[len(a)*w+len(b)])
	if getLen {
		c.W.AppendInt(int64(total))
		return
	}

	// Walk back from the end, collecting the common subsequence and the
	// ranges of consecutive matches.
	result := make([]byte, total)
	var ranges []lcsRange
	idx := total
	const unset = -1
	cur := lcsRange{a0: unset}
	for i, j := len(a), len(b); i > 0 && j > 0; {
		emit := false
		if a[i-1] == b[j-1] {
			result[idx-1] = a[i-1]
			switch {
			case cur.a0 == unset:
				cur = lcsRange{a0: i - 1, a1: i - 1, b0: j - 1, b1: j - 1}
			case cur.a0 == i && cur.b0 == j:
				cur.a0--
				cur.b0--
			default:
				emit = true
			}
			if cur.a0 == 0 || cur.b0 == 0 {
				emit = true
			}
			idx--
			i--
			j--
		} else {
			if dp[(i-1)*w+j] > dp[i*w+j-1] {
				i--
			} else {
				j--
			}
			if cur.a0 != unset {
				emit = true
			}
		}
		if emit {
			if getIdx && int64(cur.a1-cur.a0+1) >= minMatchLen {
				ranges = append(ranges, cur)
			}
			cur.a0 = unset
		}
	}
	if !getIdx {
		c.W.AppendBulk(result)
		return
	}
	c.W.AppendMap(2)
	c.W.AppendBulkString("matches")
	c.W.AppendArray(len(ranges))
	for _, r := range ranges {
		if withMatchLen {
			c.W.AppendArray(3)
		} else {
			c.W.AppendArray(2)
		}
		c.W.AppendArray(2)
		c.W.AppendInt(int64(r.a0))
		c.W.AppendInt(int64(r.a1))
		c.W.AppendArray(2)
		c.W.AppendInt(int64(r.b0))
		c.W.AppendInt(int64(r.b1))
		if withMatchLen {
			c.W.AppendInt(int64(r.a1 - r.a0 + 1))
		}
	}
	c.W.AppendBulkString("len")
	c.W.AppendInt(int64(total))
}

// extFloat is a number in x87 extended precision, the long double that
// Redis's INCRBYFLOAT computes in on x86-64: a 64-bit significand, binary
// exponents down to -16382 with subnormals below, and a largest finite value
// near 1.19e4932. The zero value is 0.
type extFloat struct {
	f   *big.Float // the finite value; nil for 0
	inf bool       // an infinity of either sign (f is then nil)
}

// Limits of the extended format in the terms of big.Float.MantExp, which
// writes x as mant × 2**exp with 0.5 <= |mant| < 1.
const (
	extMantBits = 64
	extMaxExp   = 16384  // largest exp of a finite value
	extMinExp   = -16381 // smallest exp of a normal value
	extTinyExp  = -16445 // exp of the unit of the least subnormal, 2**-16445
)

// extMaxChars bounds the text of a float, as Redis's MAX_LONG_DOUBLE_CHARS.
const extMaxChars = 5 * 1024

// parseExtFloat parses b as Redis's string2ld does with strtold: the whole
// of b must be a decimal or hexadecimal ("0x1.8p3") floating-point number,
// or inf or infinity, with an optional sign; no spaces, no NaN. A value
// too large for the format, or so small that it rounds to zero, is refused.
func parseExtFloat(b []byte) (extFloat, bool) {
	if len(b) == 0 || len(b) >= extMaxChars {
		return extFloat{}, false
	}
	neg := b[0] == '-'
	if b[0] == '-' || b[0] == '+' {
		b = b[1:]
	}
	if ascii.EqualFold(b, "inf") || ascii.EqualFold(b, "infinity") {
		return extFloat{inf: true}, true
	}
	if len(b) > 2 && b[0] == '0' && (b[1] == 'x' || b[1] == 'X') {
		return parseExtHex(b[2:], neg)
	}
	return parseExtDecimal(b, neg)
}

// floatDigits returns how many leading bytes of b are digits of the base,
// 10 or 16.
func floatDigits(b []byte, base int) int {
	for i, ch := range b {
		switch {
		case '0' <= ch && ch <= '9':
		case base == 16 && ('a' <= ch|0x20 && ch|0x20 <= 'f'):
		default:
			return i
		}
	}
	return len(b)
}

// floatExponent parses the exponent that must make up all of b, after its
// marker: an optional sign and decimal digits, saturated far beyond any
// exponent that matters.
func floatExponent(b []byte) (int, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		b = b[1:]
	}
	if len(b) == 0 || floatDigits(b, 10) != len(b) {
		return 0, false
	}
	e := 0
	for _, ch := range b {
		e = min(e*10+int(ch-'0'), 1<<30)
	}
	if neg {
		e = -e
	}
	return e, true
}

// floatMantissa splits b into its digits before and after an optional
// point, and the rest, which starts at the exponent marker if any. It
// reports false when there is no digit at all.
func floatMantissa(b []byte, base int) (whole, frac, rest []byte, ok bool) {
	n := floatDigits(b, base)
	whole, b = b[:n], b[n:]
	if len(b) > 0 && b[0] == '.' {
		n = floatDigits(b[1:], base)
		frac, b = b[1:1+n], b[1+n:]
	}
	return whole, frac, b, len(whole)+len(frac) > 0
}

// floatMantissaInt returns the integer written by the digits of whole and frac
// together, in the base.
func floatMantissaInt(whole, frac []byte, base int) *big.Int {
	digits := make([]byte, 0, len(whole)+len(frac))
	digits = append(append(digits, whole...), frac...)
	m, _ := new(big.Int).SetString(string(digits), base)
	return m
}

func parseExtDecimal(b []byte, neg bool) (extFloat, bool) {
	whole, frac, rest, ok := floatMantissa(b, 10)
	if !ok {
		return extFloat{}, false
	}
	e := 0
	if len(rest) > 0 {
		if rest[0] != 'e' && rest[0] != 'E' {
			return extFloat{}, false
		}
		if e, ok = floatExponent(rest[1:]); !ok {
			return extFloat{}, false
		}
	}
	m := floatMantissaInt(whole, frac, 10)
	if m.Sign() == 0 {
		return extFloat{}, true
	}
	e -= len(frac)
	// The value lies in [10**(nd-1+e), 10**(nd+e)): refuse at once what is
	// far out of range rather than compute huge powers of ten.
	nd := len(m.String())
	if nd-1+e > 4932 || nd+e < -4951 {
		return extFloat{}, false
	}
	if neg {
		m.Neg(m)
	}
	pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(max(e, -e))), nil)
	if e >= 0 {
		return roundExt(new(big.Float).SetInt(m.Mul(m, pow)), nil)
	}
	return roundExt(new(big.Float).SetInt(m), new(big.Float).SetInt(pow))
}

func parseExtHex(b []byte, neg bool) (extFloat, bool) {
	whole, frac, rest, ok := floatMantissa(b, 16)
	if !ok {
		return extFloat{}, false
	}
	e := 0
	if len(rest) > 0 {
		if rest[0] != 'p' && rest[0] != 'P' {
			return extFloat{}, false
		}
		if e, ok = floatExponent(rest[1:]); !ok {
			return extFloat{}, false
		}
	}
	m := floatMantissaInt(whole, frac, 16)
	if m.Sign() == 0 {
		return extFloat{}, true
	}
	e -= 4 * len(frac)
	// The value lies in [2**(bits-1+e), 2**(bits+e)).
	bits := m.BitLen()
	if bits+e > extMaxExp+1 || bits+e < extTinyExp {
		return extFloat{}, false
	}
	if neg {
		m.Neg(m)
	}
	x := new(big.Float).SetInt(m)
	return roundExt(x.SetMantExp(x, e), nil)
}

// roundExt rounds num/den (num alone when den is nil), both exact, to the
// nearest extended value, ties to even, and reports false when that
// overflows or underflows to zero.
func roundExt(num, den *big.Float) (extFloat, bool) {
	round := func(prec uint) *big.Float {
		z := new(big.Float).SetPrec(prec).SetMode(big.ToNearestEven)
		if den == nil {
			return z.Set(num)
		}
		return z.Quo(num, den)
	}
	z := round(extMantBits)
	exp := z.MantExp(nil)
	if exp > extMaxExp {
		return extFloat{}, false
	}
	if exp < extMinExp {
		// A subnormal keeps only the bits down to 2**extTinyExp.
		p := exp - extTinyExp
		switch {
		case p > 0:
			z = round(uint(p))
		case p == 0 && aboveHalfTiny(num, den):
			// In [2**(tiny-1), 2**tiny): the least subnormal, or 0 at or
			// below the halfway point.
			z.SetMantExp(big.NewFloat(0.5), extTinyExp+1)
			if num.Sign() < 0 {
				z.Neg(z)
			}
		default:
			return extFloat{}, false
		}
	}
	return extFloat{f: z}, true
}

// aboveHalfTiny reports whether |num/den| exceeds 2**(extTinyExp-1), half
// the least subnormal.
func aboveHalfTiny(num, den *big.Float) bool {
	limit := new(big.Float).SetMantExp(big.NewFloat(0.5), extTinyExp)
	if den != nil {
		limit.SetMantExp(den, extTinyExp-1)
	}
	return new(big.Float).Abs(num).Cmp(new(big.Float).Abs(limit)) > 0
}

// add returns x+y rounded to the extended format, or false when the sum is
// infinite or not a number.
func (x extFloat) add(y extFloat) (extFloat, bool) {
	if x.inf || y.inf {
		return extFloat{}, false
	}
	if x.f == nil {
		return y, true
	}
	if y.f == nil {
		return x, true
	}
	// Both lie on the grid of 2**extTinyExp, so a sum too small to be normal
	// is exact and needs no special rounding.
	z := new(big.Float).SetPrec(extMantBits).SetMode(big.ToNearestEven).Add(x.f, y.f)
	if z.MantExp(nil) > extMaxExp {
		return extFloat{}, false
	}
	return extFloat{f: z}, true
}

// appendHuman appends x as Redis's ld2string does in its human-friendly
// mode: printf's "%.17Lf" (the exact value rounded to 17 decimals, ties to
// even), then without trailing zeros or a trailing point, and "-0" as "0".
func (x extFloat) appendHuman(dst []byte) []byte {
	f := x.f
	if f == nil {
		return append(dst, '0')
	}
	start := len(dst)
	dst = f.Append(dst, 'f', 17)
	if bytes.IndexByte(dst[start:], '.') >= 0 {
		dst = bytes.TrimRight(dst, "0")
		dst = bytes.TrimSuffix(dst, []byte("."))
	}
	if string(dst[start:]) == "-0" {
		dst = append(dst[:start], '0')
	}
	return dst
}

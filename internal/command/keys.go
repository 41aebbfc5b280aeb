package command

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/data-cluster/data-cluster/internal/ascii"
	"github.com/data-cluster/data-cluster/internal/glob"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// keyCommands are the commands on the keyspace: deletion, existence,
// renaming, expiry and iteration.
//
// Commands whose keys span shards (DEL, EXISTS, RENAME, COPY...) run while
// the router holds every shard involved, so they reach each key through
// c.DB(key) and stay atomic. KEYS, RANDOMKEY and LIST need every shard; KEYS
// and LIST read them one at a time (see Gather). SCAN runs on the one shard
// its cursor names (see scanShard).
var keyCommands = []*Spec{
	{Name: "del", Arity: -2, Flags: Write, FirstKey: 1, LastKey: -1, Step: 1, Run: del},
	{Name: "unlink", Arity: -2, Flags: Write | Fast, FirstKey: 1, LastKey: -1, Step: 1, Run: del},
	{Name: "exists", Arity: -2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: -1, Step: 1, Run: exists},
	// TOUCH counts the keys that exist, as EXISTS does; there is no access
	// time to update (see OBJECT IDLETIME).
	{Name: "touch", Arity: -2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: -1, Step: 1, Run: exists},
	{Name: "type", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: keyType},
	{Name: "rename", Arity: 3, Flags: Write, FirstKey: 1, LastKey: 2, Step: 1, Run: rename},
	{Name: "renamenx", Arity: 3, Flags: Write | Fast, FirstKey: 1, LastKey: 2, Step: 1, Run: renamenx},
	{Name: "copy", Arity: -3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 2, Step: 1, Run: copyKey},

	// DELETE and LIST are the line protocol's commands, offered over RESP
	// too: DELETE replies +OK whether or not the key existed, LIST with
	// every key sorted bytewise.
	{Name: "delete", Arity: 2, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: deleteKey},
	{Name: "list", Arity: 1, Flags: ReadOnly, Kind: AllShards, Run: listGather.Run, Gather: listGather},

	{Name: "expire", Arity: -3, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: expireFunc("expire", true, true)},
	{Name: "pexpire", Arity: -3, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: expireFunc("pexpire", true, false)},
	{Name: "expireat", Arity: -3, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: expireFunc("expireat", false, true)},
	{Name: "pexpireat", Arity: -3, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: expireFunc("pexpireat", false, false)},
	{Name: "ttl", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: ttlFunc(false, false)},
	{Name: "pttl", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: ttlFunc(true, false)},
	{Name: "expiretime", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: ttlFunc(false, true)},
	{Name: "pexpiretime", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: ttlFunc(true, true)},
	{Name: "persist", Arity: 2, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: persist},

	{Name: "keys", Arity: 2, Flags: ReadOnly, Kind: AllShards, Run: keysGather.Run, Gather: keysGather},
	{Name: "scan", Arity: -2, Flags: ReadOnly, Kind: Cursor, Run: scan, Shard: scanShard},
	{Name: "randomkey", Arity: 1, Flags: ReadOnly, Kind: AllShards, Run: randomKey},

	// OBJECT ENCODING, FREQ, IDLETIME, REFCOUNT and HELP. IDLETIME always
	// answers 0: no access time is kept per key, which Redis's documentation
	// allows for ("approximated"). FREQ answers Redis's error for a
	// maxmemory policy that is not LFU, the only kind this server has.
	{Name: "object", Arity: -2, Flags: ReadOnly, FirstKey: 2, LastKey: 2, Step: 1, Run: objectCommand},
}

// del implements DEL and UNLINK: both free the memory at once.
func del(c *Ctx, args [][]byte) {
	var n int64
	for _, k := range args[1:] {
		if c.DB(k).Delete(k) {
			c.Notify(notify.Generic, "del", k)
			n++
		}
	}
	c.W.AppendInt(n)
}

// exists implements EXISTS and TOUCH, which count a key named twice twice.
func exists(c *Ctx, args [][]byte) {
	var n int64
	for _, k := range args[1:] {
		if _, ok := c.DB(k).Get(k); ok {
			n++
		}
	}
	c.W.AppendInt(n)
}

// keyType implements TYPE key: the type of a live key, else "none".
func keyType(c *Ctx, args [][]byte) {
	_, obj, ok := c.DB(args[1]).Read(args[1])
	switch {
	case !ok:
		c.W.AppendSimple("none")
	case obj != nil:
		c.W.AppendSimple(obj.Kind().String())
	default:
		c.W.AppendSimple("string")
	}
}

// deleteKey implements DELETE key, which replies +OK whether or not the key
// existed, as the line protocol's DELETE does.
func deleteKey(c *Ctx, args [][]byte) {
	c.DB(args[1]).Delete(args[1])
	c.W.AppendOK()
}

// listGather is LIST over RESP: every live key, sorted bytewise.
var listGather = &Gather{Part: allKeysPart, Reply: listReply}

func listReply(w *resp.Writer, keys *Keys, _ [][]byte) {
	sorted := keys.Sorted()
	w.AppendArray(len(sorted))
	for i, k := range sorted {
		w.AppendBulk(k)
		yieldEvery(i)
	}
}

// keysGather is KEYS pattern. As in Redis, the pattern "*" matches every key,
// the empty key included, without calling the matcher.
var keysGather = &Gather{Part: keysPart, Reply: keysReply}

func keysPart(keys *Keys, db *keyspace.DB, cursor uint64, limit int, args [][]byte) uint64 {
	pattern := args[1]
	if len(pattern) == 1 && pattern[0] == '*' {
		return scanPart(db, cursor, limit, keys.Append)
	}
	return scanPart(db, cursor, limit, func(k []byte) {
		if glob.Match(pattern, k) {
			keys.Append(k)
		}
	})
}

func keysReply(w *resp.Writer, keys *Keys, _ [][]byte) {
	w.AppendArray(keys.Len())
	for i := range keys.Len() {
		w.AppendBulk(keys.At(i))
		yieldEvery(i)
	}
}

// appendKeys replies with keys as an array of bulk strings.
func appendKeys(c *Ctx, keys [][]byte) {
	c.W.AppendArray(len(keys))
	for _, k := range keys {
		c.W.AppendBulk(k)
	}
}

// rename implements RENAME src dst: the value and the expiry move to dst,
// replacing whatever dst held. src and dst may live on different shards.
func rename(c *Ctx, args [][]byte) { renameGeneric(c, args, false) }

// renamenx implements RENAMENX src dst, which renames only if dst does not
// exist.
func renamenx(c *Ctx, args [][]byte) { renameGeneric(c, args, true) }

// renameGeneric implements RENAME and, with nx, RENAMENX. Renaming a key to
// itself is allowed: RENAME replies +OK and RENAMENX 0, as in Redis.
func renameGeneric(c *Ctx, args [][]byte, nx bool) {
	src, dst := args[1], args[2]
	sdb := c.DB(src)
	v, obj, at, ok := sdb.Find(src)
	if !ok {
		c.W.AppendError("ERR no such key")
		return
	}
	if bytes.Equal(src, dst) {
		if nx {
			c.W.AppendInt(0)
		} else {
			c.W.AppendOK()
		}
		return
	}
	// v belongs to the engine and dies with the next write: copy it first.
	// An object moves as it is: dst holds it before src lets it go.
	val := bytes.Clone(v)
	ddb := c.DB(dst)
	if nx && ddb.Exists(dst) {
		c.W.AppendInt(0)
		return
	}
	if obj != nil {
		ddb.SetObject(dst, obj, at)
	} else {
		ddb.Set(dst, val, at)
	}
	sdb.Delete(src)
	c.Notify(notify.Generic, "rename_from", src)
	c.Notify(notify.Generic, "rename_to", dst)
	if nx {
		c.W.AppendInt(1)
	} else {
		c.W.AppendOK()
	}
}

// clusterDBs is the number of databases of a Redis Cluster node, Redis's
// default: COPY refuses an index below it as cluster mode's (Ctx.Cluster),
// one past it as out of range.
const clusterDBs = 16

// copyKey implements COPY src dst [DB index] [REPLACE]. There is one
// database, so DB accepts only 0.
func copyKey(c *Ctx, args [][]byte) {
	replace, other := false, false
	for j := 3; j < len(args); j++ {
		switch {
		case ascii.EqualFold(args[j], "replace"):
			replace = true
		case ascii.EqualFold(args[j], "db") && j+1 < len(args):
			n, ok := resp.ParseInt(args[j+1])
			if !ok || n < math.MinInt32 || n > math.MaxInt32 {
				c.W.AppendError("ERR value is not an integer or out of range")
				return
			}
			if n != 0 && !(c.Cluster && n > 0 && n < clusterDBs) {
				c.W.AppendError("ERR DB index is out of range")
				return
			}
			other = n != 0
			j++
		default:
			c.W.AppendError("ERR syntax error")
			return
		}
	}
	if other {
		// Redis Cluster checks this once the options are read.
		c.W.AppendError("ERR Copying to another database is not allowed in cluster mode")
		return
	}
	src, dst := args[1], args[2]
	if bytes.Equal(src, dst) {
		c.W.AppendError("ERR source and destination objects are the same")
		return
	}
	// Look at dst first: removing it if it has expired is a write, which
	// would end the life of the value slice read from src.
	ddb := c.DB(dst)
	taken := ddb.Exists(dst)
	v, obj, at, ok := c.DB(src).Find(src)
	if !ok || taken && !replace {
		c.W.AppendInt(0)
		return
	}
	if obj != nil {
		ddb.SetObject(dst, obj.Clone(), at)
	} else {
		ddb.Set(dst, bytes.Clone(v), at)
	}
	c.Notify(notify.Generic, "copy_to", dst)
	c.W.AppendInt(1)
}

// expireFunc returns the handler of EXPIRE (relative, seconds), PEXPIRE
// (relative), EXPIREAT (seconds) or PEXPIREAT, named name.
func expireFunc(name string, relative, seconds bool) func(*Ctx, [][]byte) {
	errTime := "ERR invalid expire time in '" + name + "' command"
	return func(c *Ctx, args [][]byte) {
		expireGeneric(c, args, relative, seconds, errTime)
	}
}

// expireGeneric implements key time [NX | XX | GT | LT] for the four expire
// commands, checking the options, then the time, then the key, as Redis does.
// A time not after now deletes the key and replies 1.
func expireGeneric(c *Ctx, args [][]byte, relative, seconds bool, errTime string) {
	var nx, xx, gt, lt bool
	for _, opt := range args[3:] {
		switch {
		case ascii.EqualFold(opt, "nx"):
			nx = true
		case ascii.EqualFold(opt, "xx"):
			xx = true
		case ascii.EqualFold(opt, "gt"):
			gt = true
		case ascii.EqualFold(opt, "lt"):
			lt = true
		default:
			c.W.AppendError("ERR Unsupported option " + cString(opt))
			return
		}
	}
	if nx && (xx || gt || lt) {
		c.W.AppendError("ERR NX and XX, GT or LT options at the same time are not compatible")
		return
	}
	if gt && lt {
		c.W.AppendError("ERR GT and LT options at the same time are not compatible")
		return
	}
	when, ok := resp.ParseInt(args[2])
	if !ok {
		c.W.AppendError("ERR value is not an integer or out of range")
		return
	}
	if seconds {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			c.W.AppendError(errTime)
			return
		}
		when *= 1000
	}
	key := args[1]
	db := c.DB(key)
	now := db.Now()
	var base int64
	if relative {
		base = now
	}
	if when > math.MaxInt64-base {
		c.W.AppendError(errTime)
		return
	}
	when += base

	_, cur, ok := db.Lookup(key)
	if !ok {
		c.W.AppendInt(0)
		return
	}
	has := cur != storage.NoExpiry
	if nx && has || xx && !has || gt && (!has || when <= cur) || lt && has && when >= cur {
		c.W.AppendInt(0)
		return
	}
	if when <= now {
		db.Delete(key)
		c.Notify(notify.Generic, "del", key)
	} else {
		db.SetExpire(key, when)
		c.Notify(notify.Generic, "expire", key)
	}
	c.W.AppendInt(1)
}

// ttlFunc returns the handler of TTL, PTTL (ms), EXPIRETIME (abs) or
// PEXPIRETIME (ms, abs): -2 for a missing key, -1 for a key without expiry,
// else the time left or the expiry time, rounded to the nearest second unless
// in milliseconds.
func ttlFunc(ms, abs bool) func(*Ctx, [][]byte) {
	return func(c *Ctx, args [][]byte) {
		db := c.DB(args[1])
		_, at, ok := db.Lookup(args[1])
		switch {
		case !ok:
			c.Notify(notify.KeyMiss, "keymiss", args[1])
			c.W.AppendInt(-2)
			return
		case at == storage.NoExpiry:
			c.W.AppendInt(-1)
			return
		}
		t := at
		if !abs {
			t = max(at-db.Now(), 0)
		}
		if !ms {
			t = t/1000 + (t%1000+500)/1000 // (t+500)/1000 without overflow
		}
		c.W.AppendInt(t)
	}
}

// persist implements PERSIST key: 1 if it removed an expiry, else 0.
func persist(c *Ctx, args [][]byte) {
	db := c.DB(args[1])
	_, at, ok := db.Lookup(args[1])
	if !ok || at == storage.NoExpiry {
		c.W.AppendInt(0)
		return
	}
	db.SetExpire(args[1], storage.NoExpiry)
	c.Notify(notify.Generic, "persist", args[1])
	c.W.AppendInt(1)
}

// randomKey implements RANDOMKEY: a shard chosen at random with a weight of
// its number of keys, then a key chosen at random there. A shard whose keys
// have all expired is left out and the choice made again among the others.
func randomKey(c *Ctx, _ [][]byte) {
	var dbs []*keyspace.DB
	var weights []int
	total := 0
	c.DBs(func(_ int, db *keyspace.DB) bool {
		if n := db.Len(); n > 0 {
			dbs = append(dbs, db)
			weights = append(weights, n)
			total += n
		}
		return true
	})
	for total > 0 {
		r := rand.IntN(total)
		i := 0
		for r >= weights[i] {
			r -= weights[i]
			i++
		}
		if k, ok := dbs[i].RandomKey(); ok {
			c.W.AppendBulk(k)
			return
		}
		total -= weights[i]
		weights[i] = 0
	}
	c.W.AppendNull()
}

// SCAN cursors. A cursor names a shard and a position in that shard's
// engine: cursor = position*shards + shard, where position is the engine's own
// Scan cursor (0 to start the shard). Cursor 0 therefore starts shard 0 at its
// beginning, and when a shard is done the next cursor is simply the index of
// the next shard, or 0 after the last one. Cursors stay small (a memory
// engine's position is a slot number) and every value names a valid shard,
// so only a cursor that does not parse is refused. Cursors are meaningful
// only to a server with the same number of shards.

// scanShard is the Shard function of SCAN: the shard its cursor names, or -1
// when the cursor does not parse.
func scanShard(args [][]byte, shards int) int {
	if len(args) < 2 || shards < 1 {
		return -1
	}
	cursor, ok := parseCursor(args[1])
	if !ok {
		return -1
	}
	return int(cursor % uint64(shards))
}

// scan implements SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] on
// the one shard the cursor names. It visits about COUNT entries (10 by
// default) of that shard, as Redis visits about COUNT entries of its table,
// filters them by pattern and type, and replies with the next cursor and the
// keys that passed. When the shard is done it replies with the cursor that
// starts the next shard, even if fewer than COUNT keys were returned. Expired
// entries it meets are removed, as Redis's SCAN does.
func scan(c *Ctx, args [][]byte) {
	cursor, ok := parseCursor(args[1])
	if !ok {
		c.W.AppendError("ERR invalid cursor")
		return
	}
	count := int64(10)
	var pattern []byte
	matchAll := true
	var typeName []byte
	filterType := false
	for i := 2; i < len(args); i += 2 {
		more := i+1 < len(args)
		switch {
		case ascii.EqualFold(args[i], "count") && more:
			n, ok := resp.ParseInt(args[i+1])
			if !ok {
				c.W.AppendError("ERR value is not an integer or out of range")
				return
			}
			if n < 1 {
				c.W.AppendError("ERR syntax error")
				return
			}
			count = n
		case ascii.EqualFold(args[i], "match") && more:
			pattern = args[i+1]
			matchAll = len(pattern) == 1 && pattern[0] == '*'
		case ascii.EqualFold(args[i], "type") && more:
			// Any name is accepted, as Redis 7 does not check it: a
			// name no type has keeps no key.
			typeName, filterType = args[i+1], true
		default:
			c.W.AppendError("ERR syntax error")
			return
		}
	}
	shards := uint64(c.NumShards())
	shard := cursor % shards
	db := c.ShardDB(int(shard))
	if db == nil {
		c.W.AppendError("ERR invalid cursor")
		return
	}
	now := db.Now()
	var keys, dead [][]byte
	visited := int64(0)
	pos := db.Engine().Scan(cursor/shards, func(k, _ []byte, obj storage.Object, at int64) bool {
		visited++
		switch {
		case at != storage.NoExpiry && now > at:
			dead = append(dead, bytes.Clone(k))
		case filterType && !ascii.EqualFold(typeName, kindOf(obj).String()):
		case matchAll || glob.Match(pattern, k):
			keys = append(keys, k)
		}
		return visited < count
	})
	next := pos*shards + shard
	if pos == 0 {
		next = c.nextShardWithKeys(int(shard))
	}

	var buf [20]byte
	c.W.AppendArray(2)
	c.W.AppendBulk(strconv.AppendUint(buf[:0], next, 10))
	appendKeys(c, keys)
	// The reply holds copies of the keys now: expired entries may go.
	for _, k := range dead {
		db.Exists(k)
	}
}

// nextShardWithKeys returns the SCAN cursor that starts the first shard
// after shard that may hold keys, or 0 when none does, so that a scan of an
// empty keyspace, or of one whose keys are in the first shards, ends
// without a call for each empty shard (Redis answers cursor 0 at once on
// an empty keyspace). A shard's count is the one it published after its
// last batch, which covers every key written before the scan began; a shard
// whose count is not known is visited.
func (c *Ctx) nextShardWithKeys(shard int) uint64 {
	for i := shard + 1; i < c.NumShards(); i++ {
		switch db := c.ShardDB(i); {
		case db != nil && db.Len() == 0:
		case db == nil && c.ShardKeys != nil && c.ShardKeys(i) == 0:
		default:
			return uint64(i)
		}
	}
	return 0
}

// objectHelp is the body of OBJECT HELP, between Redis's usual first line and
// its HELP entry.
var objectHelp = []string{
	"ENCODING <key>",
	"    Return the kind of internal representation used in order to store the value",
	"    associated with a <key>.",
	"FREQ <key>",
	"    Return the access frequency index of the <key>. The returned integer is",
	"    proportional to the logarithm of the recent access frequency of the key.",
	"IDLETIME <key>",
	"    Return the idle time of the <key>, that is the approximated number of",
	"    seconds elapsed since the last access to the key.",
	"REFCOUNT <key>",
	"    Return the number of references of the value associated with the specified",
	"    <key>.",
}

// sharedRefcount is what Redis reports as the reference count of a shared
// object: the integers 0 to 9999, which SET stores as shared objects.
const sharedRefcount = math.MaxInt32

// objectCommand implements OBJECT, with the errors Redis gives for its subcommands.
func objectCommand(c *Ctx, args [][]byte) {
	sub := args[1]
	var name string
	switch {
	case ascii.EqualFold(sub, "help"):
		if len(args) != 2 {
			c.W.AppendError("ERR wrong number of arguments for 'object|help' command")
			return
		}
		c.W.AppendArray(len(objectHelp) + 3)
		c.W.AppendSimple("OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
		for _, l := range objectHelp {
			c.W.AppendSimple(l)
		}
		c.W.AppendSimple("HELP")
		c.W.AppendSimple("    Prints this help.")
		return
	case ascii.EqualFold(sub, "encoding"):
		name = "encoding"
	case ascii.EqualFold(sub, "freq"):
		name = "freq"
	case ascii.EqualFold(sub, "idletime"):
		name = "idletime"
	case ascii.EqualFold(sub, "refcount"):
		name = "refcount"
	default:
		c.W.AppendError("ERR unknown subcommand '" + cString(sub[:min(len(sub), 128)]) + "'. Try OBJECT HELP.")
		return
	}
	if len(args) != 3 {
		c.W.AppendError("ERR wrong number of arguments for 'object|" + name + "' command")
		return
	}
	if db := c.DB(args[2]); name == "freq" && db.Eviction().Policy.LFU() {
		// Read before any lookup, which would count as an access.
		if f, ok := db.Freq(args[2]); ok {
			c.W.AppendInt(int64(f))
		} else {
			c.W.AppendNull()
		}
		return
	}
	v, obj, _, ok := c.DB(args[2]).Find(args[2])
	if !ok {
		c.W.AppendNull()
		return
	}
	switch name {
	case "encoding":
		if obj != nil {
			c.W.AppendBulkString(object.Encoding(obj))
			return
		}
		c.W.AppendBulkString(stringEncoding(v))
	case "freq": // the policy is not LFU
		c.W.AppendError("ERR An LFU maxmemory policy is not selected, access frequency not tracked. " +
			"Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
	case "idletime":
		if c.DB(args[2]).Eviction().Policy.LFU() {
			c.W.AppendError("ERR An LFU maxmemory policy is selected, idle time not tracked. " +
				"Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
			return
		}
		c.W.AppendInt(0)
	case "refcount":
		if n, ok := resp.ParseInt(v); ok && obj == nil && n >= 0 && n < 10000 {
			c.W.AppendInt(sharedRefcount)
			return
		}
		c.W.AppendInt(1)
	}
}

// stringEncoding returns the encoding Redis gives a string value stored by
// SET: "int" for an integer within int64, "embstr" up to 44 bytes, "raw" above.
func stringEncoding(v []byte) string {
	switch _, isInt := resp.ParseInt(v); {
	case isInt:
		return "int"
	case len(v) <= 44:
		return "embstr"
	default:
		return "raw"
	}
}

// kindOf returns the kind of a value: obj's, or a string's when obj is nil.
func kindOf(obj storage.Object) storage.Kind {
	if obj == nil {
		return storage.KindString
	}
	return obj.Kind()
}

// parseCursor parses a SCAN cursor as Redis does with strtoul: decimal
// digits with an optional sign ("-1" wraps round to the largest cursor), the
// empty string as 0, and no overflow.
func parseCursor(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	neg := b[0] == '-'
	if neg || b[0] == '+' {
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var v uint64
	for _, ch := range b {
		if ch < '0' || ch > '9' || v > (math.MaxUint64-uint64(ch-'0'))/10 {
			return 0, false
		}
		v = v*10 + uint64(ch-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// cString returns b up to its first NUL byte as a string, as Redis's "%s"
// prints an argument in an error message.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

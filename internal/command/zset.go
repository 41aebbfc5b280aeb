package command

import (
	"bytes"
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

// zsetCommands are the commands on sorted set values. Multi-key ones
// (ZRANGESTORE, ZUNION…, ZINTER…, ZDIFF…, ZMPOP) reach each key through
// c.DB(key); they are atomic because the router holds every shard
// involved. The blocking BZPOPMIN, BZPOPMAX and BZMPOP are in
// zsetblock.go.
var zsetCommands = []*Spec{
	{Name: "zadd", Arity: -4, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: zaddCommand},
	{Name: "zincrby", Arity: 4, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: zincrbyCommand},
	{Name: "zrem", Arity: -3, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: zremCommand},
	{Name: "zcard", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: zcardCommand},
	{Name: "zcount", Arity: 4, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: zcountCommand},
	{Name: "zlexcount", Arity: 4, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: zlexcountCommand},
	{Name: "zscore", Arity: 3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: zscoreCommand},
	{Name: "zmscore", Arity: -3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: zmscoreCommand},
	{Name: "zrank", Arity: -3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: zrankCommand},
	{Name: "zrevrank", Arity: -3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: zrevrankCommand},
	{Name: "zrange", Arity: -4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: zrangeCommand},
	{Name: "zrangestore", Arity: -5, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 2, Step: 1, Run: zrangestoreCommand},
	{Name: "zrevrange", Arity: -4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: zrevrangeCommand},
	{Name: "zrangebyscore", Arity: -4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: zrangebyscoreCommand},
	{Name: "zrevrangebyscore", Arity: -4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: zrevrangebyscoreCommand},
	{Name: "zrangebylex", Arity: -4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: zrangebylexCommand},
	{Name: "zrevrangebylex", Arity: -4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: zrevrangebylexCommand},
	{Name: "zremrangebyrank", Arity: 4, Flags: Write, FirstKey: 1, LastKey: 1, Step: 1, Run: zremrangebyrankCommand},
	{Name: "zremrangebyscore", Arity: 4, Flags: Write, FirstKey: 1, LastKey: 1, Step: 1, Run: zremrangebyscoreCommand},
	{Name: "zremrangebylex", Arity: 4, Flags: Write, FirstKey: 1, LastKey: 1, Step: 1, Run: zremrangebylexCommand},
	{Name: "zpopmin", Arity: -2, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: zpopminCommand},
	{Name: "zpopmax", Arity: -2, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: zpopmaxCommand},
	{Name: "zmpop", Arity: -4, Flags: Write, FirstKey: 2, LastKey: -1, Step: 1, Run: zmpopCommand, KeyArgs: numkeysArgs},
	{Name: "zrandmember", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: zrandmemberCommand},
	{Name: "zunion", Arity: -3, Flags: ReadOnly, FirstKey: 2, LastKey: -1, Step: 1, Run: zunionCommand, KeyArgs: numkeysArgs},
	{Name: "zinter", Arity: -3, Flags: ReadOnly, FirstKey: 2, LastKey: -1, Step: 1, Run: zinterCommand, KeyArgs: numkeysArgs},
	{Name: "zdiff", Arity: -3, Flags: ReadOnly, FirstKey: 2, LastKey: -1, Step: 1, Run: zdiffCommand, KeyArgs: numkeysArgs},
	{Name: "zunionstore", Arity: -4, Flags: Write | DenyOOM, FirstKey: 1, LastKey: -1, Step: 1, Run: zunionstoreCommand, KeyArgs: destNumkeysArgs},
	{Name: "zinterstore", Arity: -4, Flags: Write | DenyOOM, FirstKey: 1, LastKey: -1, Step: 1, Run: zinterstoreCommand, KeyArgs: destNumkeysArgs},
	{Name: "zdiffstore", Arity: -4, Flags: Write | DenyOOM, FirstKey: 1, LastKey: -1, Step: 1, Run: zdiffstoreCommand, KeyArgs: destNumkeysArgs},
	{Name: "zintercard", Arity: -3, Flags: ReadOnly, FirstKey: 2, LastKey: -1, Step: 1, Run: zintercardCommand, KeyArgs: numkeysArgs},
	{Name: "zscan", Arity: -3, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: zscanCommand},
}

// destNumkeysArgs is the KeyArgs of commands with a destination key
// followed by a count of source keys (ZUNIONSTORE dst numkeys key…). A
// count that does not parse or exceeds the arguments gives no keys: the
// command then replies with its error.
func destNumkeysArgs(args [][]byte, dst [][]byte) [][]byte {
	if len(args) < 3 {
		return dst
	}
	n, ok := resp.ParseInt(args[2])
	if !ok || n < 1 || n > int64(len(args)-3) {
		return dst
	}
	dst = append(dst, args[1])
	return append(dst, args[3:3+n]...)
}

// Redis's error texts for sorted sets.
const (
	zErrRange    = "ERR min or max is not a float"
	zErrLexRange = "ERR min or max not valid string range item"
	zErrNaN      = "ERR resulting score is not a number (NaN)"
)

// readZSet returns key's sorted set for a read command (readAs).
func readZSet(c *Ctx, db *keyspace.DB, key []byte) (*object.ZSet, bool) {
	return readAs[*object.ZSet](c, db, key)
}

// findZSet returns key's sorted set for a write command (findAs).
func findZSet(c *Ctx, db *keyspace.DB, key []byte) (*object.ZSet, int64, bool) {
	return findAs[*object.ZSet](c, db, key)
}

// appendPair replies with a member and its score as an element of a
// WITHSCORES reply: a pair of its own in RESP3, two elements in RESP2.
func appendPair(c *Ctx, m []byte, score float64) {
	if c.W.Proto() > 2 {
		c.W.AppendArray(2)
	}
	c.W.AppendBulk(m)
	c.W.AppendDouble(score)
}

// appendPairsHeader starts a reply of n members, with their scores when
// withScores: n elements, or 2n in RESP2 with scores.
func appendPairsHeader(c *Ctx, n int, withScores bool) {
	if withScores && c.W.Proto() == 2 {
		n *= 2
	}
	c.W.AppendArray(n)
}

// ZADD flags, as Redis's zsetAdd takes them.
const (
	zaddNX = 1 << iota
	zaddXX
	zaddGT
	zaddLT
	zaddIncr
)

// zadd applies one score and member to z as Redis's zsetAdd does. It
// returns the member's resulting score, whether it was added, updated or
// left alone (nop), and nan when an increment gave NaN.
func zadd(z *object.ZSet, member []byte, score float64, flags int) (newScore float64, added, updated, nop, nan bool) {
	cur, ok := z.Score(member)
	if ok {
		if flags&zaddNX != 0 {
			return cur, false, false, true, false
		}
		if flags&zaddIncr != 0 {
			score += cur
			if math.IsNaN(score) {
				return 0, false, false, true, true
			}
		}
		if flags&zaddLT != 0 && score >= cur || flags&zaddGT != 0 && score <= cur {
			return cur, false, false, true, false
		}
		if score != cur {
			z.Set(member, score)
			return score, false, true, false, false
		}
		return score, false, false, false, false
	}
	if flags&zaddXX != 0 {
		return 0, false, false, true, false
	}
	z.Set(member, score)
	return score, true, false, false, false
}

// zaddCommand implements ZADD key [NX|XX] [GT|LT] [CH] [INCR] score
// member… with Redis's order of checks: options, pairs, conflicts, every
// score, then the key's type.
func zaddCommand(c *Ctx, args [][]byte) {
	flags, ch := 0, false
	i := 2
options:
	for ; i < len(args); i++ {
		switch a := args[i]; {
		case ascii.EqualFold(a, "nx"):
			flags |= zaddNX
		case ascii.EqualFold(a, "xx"):
			flags |= zaddXX
		case ascii.EqualFold(a, "gt"):
			flags |= zaddGT
		case ascii.EqualFold(a, "lt"):
			flags |= zaddLT
		case ascii.EqualFold(a, "ch"):
			ch = true
		case ascii.EqualFold(a, "incr"):
			flags |= zaddIncr
		default:
			break options
		}
	}
	pairs := args[i:]
	if len(pairs) == 0 || len(pairs)%2 != 0 {
		c.W.AppendError(strErrSyntax)
		return
	}
	if flags&zaddNX != 0 && flags&zaddXX != 0 {
		c.W.AppendError("ERR XX and NX options at the same time are not compatible")
		return
	}
	if flags&zaddGT != 0 && flags&(zaddNX|zaddLT) != 0 || flags&zaddLT != 0 && flags&zaddNX != 0 {
		c.W.AppendError("ERR GT, LT, and/or NX options at the same time are not compatible")
		return
	}
	if flags&zaddIncr != 0 && len(pairs) > 2 {
		c.W.AppendError("ERR INCR option supports a single increment-element pair")
		return
	}
	scores := make([]float64, len(pairs)/2)
	maxLen := 0
	for j := range scores {
		s, ok := parseScore(pairs[2*j])
		if !ok {
			c.W.AppendError(strErrNotFloat)
			return
		}
		scores[j] = s
		maxLen = max(maxLen, len(pairs[2*j+1]))
	}
	key := args[1]
	db := c.DB(key)
	z, at, wrong := findZSet(c, db, key)
	if wrong {
		return
	}
	created := z == nil
	if created && flags&zaddXX != 0 {
		if flags&zaddIncr != 0 {
			c.W.AppendNull()
		} else {
			c.W.AppendInt(0)
		}
		return
	}
	if created {
		z, at = object.NewZSetFor(len(scores), maxLen), storage.NoExpiry
	}
	before := z.MemoryUsage()
	// The members changed, with their new scores, for the log.
	var changed [][]byte
	logged := db.Logged()
	added, updated, processed := 0, 0, 0
	var score float64
	for j, s := range scores {
		m := pairs[2*j+1]
		var a, u, nop, nan bool
		score, a, u, nop, nan = zadd(z, m, s, flags)
		if nan {
			// Only INCR of a present member gets here, with one pair:
			// nothing has changed.
			c.W.AppendError(zErrNaN)
			return
		}
		if a {
			added++
		}
		if u {
			updated++
		}
		if !nop {
			processed++
		}
		if (a || u) && logged {
			changed = append(changed, m, object.ZScoreBytes(score))
		}
	}
	db.Added(key, z, at, created, before, changed)
	if added+updated > 0 {
		ev := "zadd"
		if flags&zaddIncr != 0 {
			ev = "zincr"
		}
		c.Notify(notify.ZSet, ev, key)
	}
	switch {
	case flags&zaddIncr != 0 && processed == 0:
		c.W.AppendNull()
	case flags&zaddIncr != 0:
		c.W.AppendDouble(score)
	case ch:
		c.W.AppendInt(int64(added + updated))
	default:
		c.W.AppendInt(int64(added))
	}
}

// zincrbyCommand implements ZINCRBY key increment member.
func zincrbyCommand(c *Ctx, args [][]byte) {
	incr, ok := parseScore(args[2])
	if !ok {
		c.W.AppendError(strErrNotFloat)
		return
	}
	key := args[1]
	db := c.DB(key)
	z, at, wrong := findZSet(c, db, key)
	if wrong {
		return
	}
	created := z == nil
	if created {
		z, at = object.NewZSetFor(1, len(args[3])), storage.NoExpiry
	}
	before := z.MemoryUsage()
	score, _, _, _, nan := zadd(z, args[3], incr, zaddIncr)
	if nan {
		c.W.AppendError(zErrNaN)
		return
	}
	db.Added(key, z, at, created, before, [][]byte{args[3], object.ZScoreBytes(score)})
	c.Notify(notify.ZSet, "zincr", key)
	c.W.AppendDouble(score)
}

func zremCommand(c *Ctx, args [][]byte) {
	key := args[1]
	db := c.DB(key)
	z, _, wrong := findZSet(c, db, key)
	if wrong {
		return
	}
	if z == nil {
		c.W.AppendInt(0)
		return
	}
	removeElements(c, db, key, z, z.Remove, args[2:], notify.ZSet, "zrem")
}

func zcardCommand(c *Ctx, args [][]byte) {
	z, wrong := readZSet(c, c.DB(args[1]), args[1])
	switch {
	case wrong:
	case z == nil:
		c.W.AppendInt(0)
	default:
		c.W.AppendInt(int64(z.Len()))
	}
}

func zscoreCommand(c *Ctx, args [][]byte)  { zscores(c, args[1], args[2:], false) }
func zmscoreCommand(c *Ctx, args [][]byte) { zscores(c, args[1], args[2:], true) }

// zscores replies with the score of each member of key's sorted set, nil
// for one it lacks, as an array for ZMSCORE.
func zscores(c *Ctx, key []byte, members [][]byte, array bool) {
	z, wrong := readZSet(c, c.DB(key), key)
	if wrong {
		return
	}
	if array {
		c.W.AppendArray(len(members))
	}
	for _, m := range members {
		if z != nil {
			if s, ok := z.Score(m); ok {
				c.W.AppendDouble(s)
				continue
			}
		}
		c.W.AppendNull()
	}
}

func zrankCommand(c *Ctx, args [][]byte)    { zrankGeneric(c, args, false) }
func zrevrankCommand(c *Ctx, args [][]byte) { zrankGeneric(c, args, true) }

// zrankGeneric implements ZRANK and ZREVRANK key member [WITHSCORE] as
// Redis 7.2 does.
func zrankGeneric(c *Ctx, args [][]byte, rev bool) {
	if len(args) > 4 || len(args) == 4 && !ascii.EqualFold(args[3], "withscore") {
		c.W.AppendError(strErrSyntax)
		return
	}
	withScore := len(args) == 4
	z, wrong := readZSet(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	var rank int
	found := false
	if z != nil {
		rank, found = z.Rank(args[2])
	}
	switch {
	case !found && withScore:
		c.W.AppendNullArray()
		return
	case !found:
		c.W.AppendNull()
		return
	}
	if rev {
		rank = z.Len() - 1 - rank
	}
	if !withScore {
		c.W.AppendInt(int64(rank))
		return
	}
	s, _ := z.Score(args[2])
	c.W.AppendArray(2)
	c.W.AppendInt(int64(rank))
	c.W.AppendDouble(s)
}

// scoreRange is a range of scores, each end inclusive or exclusive.
type scoreRange struct {
	min, max     float64
	minEx, maxEx bool
}

// parseScoreRange parses min and max as Redis's zslParseRange does.
func parseScoreRange(lo, hi []byte) (r scoreRange, ok bool) {
	parse := func(b []byte) (float64, bool, bool) {
		ex := len(b) > 0 && b[0] == '('
		if ex {
			b = b[1:]
		}
		f, ok := parseRangeScore(b)
		return f, ex, ok
	}
	var ok1, ok2 bool
	r.min, r.minEx, ok1 = parse(lo)
	r.max, r.maxEx, ok2 = parse(hi)
	return r, ok1 && ok2
}

// empty reports whether no score can be in the range.
func (r scoreRange) empty() bool {
	return r.min > r.max || r.min == r.max && (r.minEx || r.maxEx)
}

// ranks returns the ranks [lo, hi) of z's members whose score is in r.
func (r scoreRange) ranks(z *object.ZSet) (lo, hi int) {
	if r.empty() {
		return 0, 0
	}
	lo = z.Count(func(_ []byte, s float64) bool { return s > r.min || !r.minEx && s == r.min })
	hi = z.Count(func(_ []byte, s float64) bool { return s > r.max || r.maxEx && s == r.max })
	return lo, max(lo, hi)
}

// lexBound is one end of a lexicographic range: "-" (before every member),
// "+" (after every member), or a member, inclusive or exclusive.
type lexBound struct {
	inf int // -1 for "-", 1 for "+", 0 for a member
	v   []byte
	ex  bool
}

// parseLexBound parses an end of a lex range as Redis's
// zslParseLexRangeItem does.
func parseLexBound(b []byte) (lexBound, bool) {
	if len(b) == 0 {
		return lexBound{}, false
	}
	switch b[0] {
	case '+':
		return lexBound{inf: 1}, len(b) == 1
	case '-':
		return lexBound{inf: -1}, len(b) == 1
	case '(':
		return lexBound{v: b[1:], ex: true}, true
	case '[':
		return lexBound{v: b[1:]}, true
	}
	return lexBound{}, false
}

// lexRange is a range of members among members of equal score.
type lexRange struct{ min, max lexBound }

func parseLexRange(lo, hi []byte) (lexRange, bool) {
	a, ok1 := parseLexBound(lo)
	b, ok2 := parseLexBound(hi)
	return lexRange{a, b}, ok1 && ok2
}

// aboveMin reports whether m is past the range's min.
func (r lexRange) aboveMin(m []byte) bool {
	switch r.min.inf {
	case -1:
		return true
	case 1:
		return false
	}
	c := bytes.Compare(m, r.min.v)
	return c > 0 || c == 0 && !r.min.ex
}

// aboveMax reports whether m is past the range's max.
func (r lexRange) aboveMax(m []byte) bool {
	switch r.max.inf {
	case -1:
		return true
	case 1:
		return false
	}
	c := bytes.Compare(m, r.max.v)
	return c > 0 || c == 0 && r.max.ex
}

// ranks returns the ranks [lo, hi) of z's members in r, assuming, as
// Redis does, that they all have the same score.
func (r lexRange) ranks(z *object.ZSet) (lo, hi int) {
	lo = z.Count(func(m []byte, _ float64) bool { return r.aboveMin(m) })
	hi = z.Count(func(m []byte, _ float64) bool { return r.aboveMax(m) })
	return lo, max(lo, hi)
}

// Kinds of range of ZRANGE.
const (
	byRank = iota
	byScore
	byLex
)

// zrangeSpec is a parsed ZRANGE request.
type zrangeSpec struct {
	by              int
	rev, withScores bool
	offset, limit   int64 // limit < 0: no limit
	start, stop     int64 // by rank
	scores          scoreRange
	lex             lexRange
}

// parseZrange parses the arguments of ZRANGE and its older forms from
// args[first] (the key) on, as Redis's zrangeGenericCommand does: by and
// rev are preset for the older forms (preset), which then refuse the
// options that would set them again.
func parseZrange(c *Ctx, args [][]byte, first, by int, rev, preset, store bool) (sp zrangeSpec, ok bool) {
	sp = zrangeSpec{by: -1, limit: -1}
	if preset {
		sp.by, sp.rev = by, rev
	}
	revSet := preset
	for j := first + 3; j < len(args); j++ {
		left := len(args) - j - 1
		switch a := args[j]; {
		case !store && ascii.EqualFold(a, "withscores"):
			sp.withScores = true
		case ascii.EqualFold(a, "limit") && left >= 2:
			o, ok1 := resp.ParseInt(args[j+1])
			l, ok2 := resp.ParseInt(args[j+2])
			if !ok1 || !ok2 {
				c.W.AppendError(strErrNotInt)
				return sp, false
			}
			sp.offset, sp.limit = o, l
			j += 2
		case !revSet && ascii.EqualFold(a, "rev"):
			sp.rev, revSet = true, true
		case sp.by < 0 && ascii.EqualFold(a, "bylex"):
			sp.by = byLex
		case sp.by < 0 && ascii.EqualFold(a, "byscore"):
			sp.by = byScore
		default:
			c.W.AppendError(strErrSyntax)
			return sp, false
		}
	}
	if sp.by < 0 {
		sp.by = byRank
	}
	if sp.limit != -1 && sp.by == byRank {
		// Redis compares the limit with -1, its default, alone.
		c.W.AppendError("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
		return sp, false
	}
	if sp.withScores && sp.by == byLex {
		c.W.AppendError("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
		return sp, false
	}
	lo, hi := args[first+1], args[first+2]
	if sp.rev && sp.by != byRank {
		lo, hi = hi, lo
	}
	switch sp.by {
	case byRank:
		s, ok1 := resp.ParseInt(lo)
		e, ok2 := resp.ParseInt(hi)
		if !ok1 || !ok2 {
			c.W.AppendError(strErrNotInt)
			return sp, false
		}
		sp.start, sp.stop = s, e
	case byScore:
		if sp.scores, ok = parseScoreRange(lo, hi); !ok {
			c.W.AppendError(zErrRange)
			return sp, false
		}
	case byLex:
		if sp.lex, ok = parseLexRange(lo, hi); !ok {
			c.W.AppendError(zErrLexRange)
			return sp, false
		}
	}
	return sp, true
}

// rankRange returns the ranks [lo, hi) that start and stop name in a
// sorted set of n members, as Redis reads them (negative from the end).
func rankRange(start, stop int64, n int) (lo, hi int) {
	size := int64(n)
	if start < 0 {
		start += size
	}
	if stop < 0 {
		stop += size
	}
	start = max(start, 0)
	if start > stop || start >= size {
		return 0, 0
	}
	stop = min(stop, size-1)
	return int(start), int(stop + 1)
}

// selection returns the members sp selects from z: from rank first, n of
// them, going down when rev.
func (sp *zrangeSpec) selection(z *object.ZSet) (first, n int) {
	var lo, hi int
	switch sp.by {
	case byRank:
		lo, hi = rankRange(sp.start, sp.stop, z.Len())
		if sp.rev {
			return z.Len() - 1 - lo, hi - lo
		}
		return lo, hi - lo
	case byScore:
		lo, hi = sp.scores.ranks(z)
	default:
		lo, hi = sp.lex.ranks(z)
	}
	// A negative offset selects nothing, a negative limit no limit.
	if sp.offset < 0 || sp.offset >= int64(hi-lo) {
		return 0, 0
	}
	n = hi - lo - int(sp.offset)
	if sp.limit >= 0 {
		n = int(min(int64(n), sp.limit))
	}
	if sp.rev {
		return hi - 1 - int(sp.offset), n
	}
	return lo + int(sp.offset), n
}

// each calls fn with the n members from rank first, going down when rev.
func each(z *object.ZSet, first, n int, rev bool, fn func(m []byte, s float64)) {
	if n <= 0 {
		return
	}
	visit := func(m []byte, s float64) bool {
		fn(m, s)
		n--
		return n > 0
	}
	if rev {
		z.Descend(first, visit)
	} else {
		z.Ascend(first, visit)
	}
}

func zrangeCommand(c *Ctx, args [][]byte)    { zrangeGeneric(c, args, -1, false) }
func zrevrangeCommand(c *Ctx, args [][]byte) { zrangeGeneric(c, args, byRank, true) }
func zrangebyscoreCommand(c *Ctx, args [][]byte) {
	zrangeGeneric(c, args, byScore, false)
}
func zrevrangebyscoreCommand(c *Ctx, args [][]byte) {
	zrangeGeneric(c, args, byScore, true)
}
func zrangebylexCommand(c *Ctx, args [][]byte)    { zrangeGeneric(c, args, byLex, false) }
func zrevrangebylexCommand(c *Ctx, args [][]byte) { zrangeGeneric(c, args, byLex, true) }

// zrangeGeneric implements ZRANGE (by -1) and its older forms, whose kind
// of range and direction are given.
func zrangeGeneric(c *Ctx, args [][]byte, by int, rev bool) {
	sp, ok := parseZrange(c, args, 1, by, rev, by >= 0, false)
	if !ok {
		return
	}
	z, wrong := readZSet(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	if z == nil {
		c.W.AppendArray(0)
		return
	}
	first, n := sp.selection(z)
	appendPairsHeader(c, n, sp.withScores)
	each(z, first, n, sp.rev, func(m []byte, s float64) {
		if sp.withScores {
			appendPair(c, m, s)
		} else {
			c.W.AppendBulk(m)
		}
	})
}

// zrangestoreCommand implements ZRANGESTORE dst src min max [BYSCORE|BYLEX]
// [REV] [LIMIT offset count].
func zrangestoreCommand(c *Ctx, args [][]byte) {
	sp, ok := parseZrange(c, args, 2, byRank, false, false, true)
	if !ok {
		return
	}
	dst, src := args[1], args[2]
	c.DB(src).Exists(src)
	c.DB(dst).Exists(dst)
	z, wrong := readZSet(c, c.DB(src), src)
	if wrong {
		return
	}
	var out *object.ZSet
	if z != nil {
		first, n := sp.selection(z)
		maxLen := 0
		each(z, first, n, sp.rev, func(m []byte, _ float64) { maxLen = max(maxLen, len(m)) })
		out = object.NewZSetFor(n, maxLen)
		each(z, first, n, sp.rev, func(m []byte, s float64) { out.Set(m, s) })
	}
	storeZSet(c, dst, out, "zrangestore")
}

// storeZSet stores z under dst, deleting dst when z is nil or empty,
// publishes event (or del), and replies with its size.
func storeZSet(c *Ctx, dst []byte, z *object.ZSet, event string) {
	db := c.DB(dst)
	if z == nil || z.Len() == 0 {
		if db.Delete(dst) {
			c.Notify(notify.Generic, "del", dst)
		}
		c.W.AppendInt(0)
		return
	}
	db.SetObject(dst, z, storage.NoExpiry)
	c.Notify(notify.ZSet, event, dst)
	c.W.AppendInt(int64(z.Len()))
}

func zcountCommand(c *Ctx, args [][]byte) {
	if ranks, ok := argRanks(c, args, false); ok {
		zcountRange(c, args[1], ranks)
	}
}

func zlexcountCommand(c *Ctx, args [][]byte) {
	if ranks, ok := argRanks(c, args, true); ok {
		zcountRange(c, args[1], ranks)
	}
}

// argRanks parses args[2] and args[3] as a range of scores, or with lex of
// members, and returns the ranks it covers in a sorted set; it replies with
// Redis's error and reports false for one that is not a range.
func argRanks(c *Ctx, args [][]byte, lex bool) (func(*object.ZSet) (int, int), bool) {
	if lex {
		r, ok := parseLexRange(args[2], args[3])
		if !ok {
			c.W.AppendError(zErrLexRange)
		}
		return r.ranks, ok
	}
	r, ok := parseScoreRange(args[2], args[3])
	if !ok {
		c.W.AppendError(zErrRange)
	}
	return r.ranks, ok
}

// zcountRange replies with the number of members of key's sorted set in
// the ranks [lo, hi) that ranks gives.
func zcountRange(c *Ctx, key []byte, ranks func(*object.ZSet) (int, int)) {
	z, wrong := readZSet(c, c.DB(key), key)
	switch {
	case wrong:
	case z == nil:
		c.W.AppendInt(0)
	default:
		lo, hi := ranks(z)
		c.W.AppendInt(int64(hi - lo))
	}
}

func zremrangebyrankCommand(c *Ctx, args [][]byte) {
	start, ok1 := resp.ParseInt(args[2])
	stop, ok2 := resp.ParseInt(args[3])
	if !ok1 || !ok2 {
		c.W.AppendError(strErrNotInt)
		return
	}
	zremRange(c, args[1], "zremrangebyrank", func(z *object.ZSet) (int, int) { return rankRange(start, stop, z.Len()) })
}

func zremrangebyscoreCommand(c *Ctx, args [][]byte) {
	if ranks, ok := argRanks(c, args, false); ok {
		zremRange(c, args[1], "zremrangebyscore", ranks)
	}
}

func zremrangebylexCommand(c *Ctx, args [][]byte) {
	if ranks, ok := argRanks(c, args, true); ok {
		zremRange(c, args[1], "zremrangebylex", ranks)
	}
}

// zremRange removes the members of key's sorted set in the ranks [lo, hi)
// that ranks gives, logs them, publishes event, and replies with their
// count.
func zremRange(c *Ctx, key []byte, event string, ranks func(*object.ZSet) (int, int)) {
	db := c.DB(key)
	z, _, wrong := findZSet(c, db, key)
	if wrong {
		return
	}
	if z == nil {
		c.W.AppendInt(0)
		return
	}
	lo, hi := ranks(z)
	var members [][]byte
	each(z, lo, hi-lo, false, func(m []byte, _ float64) { members = append(members, bytes.Clone(m)) })
	removeElements(c, db, key, z, z.Remove, members, notify.ZSet, event)
}

func zpopminCommand(c *Ctx, args [][]byte) { zpopCommand(c, args, false) }
func zpopmaxCommand(c *Ctx, args [][]byte) { zpopCommand(c, args, true) }

// zpopCommand implements ZPOPMIN and ZPOPMAX key [count]: without a count
// one member and its score as a flat pair; with one, up to count members,
// as pairs of their own in RESP3.
func zpopCommand(c *Ctx, args [][]byte, fromMax bool) {
	if len(args) > 3 {
		c.W.AppendError(strErrSyntax)
		return
	}
	count := int64(-1)
	if len(args) == 3 {
		n, ok := resp.ParseInt(args[2])
		if !ok || n < 0 {
			c.W.AppendError("ERR value is out of range, must be positive")
			return
		}
		count = n
	}
	key := args[1]
	db := c.DB(key)
	z, _, wrong := findZSet(c, db, key)
	switch {
	case wrong:
		return
	case z == nil || count == 0:
		c.W.AppendArray(0)
		return
	}
	nested := count >= 0 && c.W.Proto() > 2
	members, scores := zpop(c, db, key, z, max(count, 1), fromMax)
	if nested {
		c.W.AppendArray(len(members))
	} else {
		c.W.AppendArray(2 * len(members))
	}
	for i, m := range members {
		if nested {
			c.W.AppendArray(2)
		}
		c.W.AppendBulk(m)
		c.W.AppendDouble(scores[i])
	}
}

// zpop removes up to count members from the low or high end of z, key's
// sorted set in db, logs them, publishes the events with c, and returns
// them with their scores.
func zpop(c *Ctx, db *keyspace.DB, key []byte, z *object.ZSet, count int64, fromMax bool) ([][]byte, []float64) {
	n := int(min(count, int64(z.Len())))
	members := make([][]byte, n)
	scores := make([]float64, n)
	before := z.MemoryUsage()
	for i := range n {
		members[i], scores[i] = z.Pop(fromMax)
	}
	db.Removed(key, z, before, members)
	ev := "zpopmin"
	if fromMax {
		ev = "zpopmax"
	}
	notifyRemoved(c, key, z, notify.ZSet, ev)
	return members, scores
}

// zmpopCommand implements ZMPOP numkeys key… MIN|MAX [COUNT count] with
// Redis's order of checks: it pops from the first key that holds members.
func zmpopCommand(c *Ctx, args [][]byte) {
	req, ok := parseZMPop(c, args, 1)
	if !ok {
		return
	}
	if !req.pop(c) {
		c.W.AppendNullArray()
	}
}

// zmpopRequest is a parsed ZMPOP or BZMPOP.
type zmpopRequest struct {
	keys    [][]byte
	fromMax bool
	count   int64
}

// parseZMPop parses the arguments of ZMPOP (numkeys at args[1]) or BZMPOP
// (at args[2]) in Redis's order, replying with the first error.
func parseZMPop(c *Ctx, args [][]byte, numkeysAt int) (zmpopRequest, bool) {
	keys, fromMin, count, ok := parseMpop(c, args, numkeysAt, func(b []byte) (bool, bool) {
		switch {
		case ascii.EqualFold(b, "min"):
			return true, true
		case ascii.EqualFold(b, "max"):
			return false, true
		}
		return false, false
	})
	return zmpopRequest{keys: keys, fromMax: !fromMin, count: count}, ok
}

// pop pops from the first of the request's keys that holds members and
// replies; it writes nothing and reports false when none does. A key of
// another type met first is answered with WRONGTYPE.
func (r zmpopRequest) pop(c *Ctx) bool {
	for _, k := range r.keys {
		c.DB(k).Exists(k)
	}
	for _, key := range r.keys {
		db := c.DB(key)
		z, _, wrong := findZSet(c, db, key)
		if wrong {
			return true
		}
		if z == nil {
			continue
		}
		r.popFrom(c, db, key, z)
		return true
	}
	return false
}

// popFrom pops from key's sorted set z and replies as ZMPOP does: the key,
// then the members with their scores.
func (r zmpopRequest) popFrom(c *Ctx, db *keyspace.DB, key []byte, z *object.ZSet) {
	members, scores := zpop(c, db, key, z, r.count, r.fromMax)
	c.W.AppendArray(2)
	c.W.AppendBulk(key)
	c.W.AppendArray(len(members))
	for i, m := range members {
		c.W.AppendArray(2)
		c.W.AppendBulk(m)
		c.W.AppendDouble(scores[i])
	}
}

// zrandmemberCommand implements ZRANDMEMBER key [count [WITHSCORES]] as
// Redis 7 does: without a count one member or nil; a positive count gives
// distinct members (all of them when it reaches the size), a negative one
// |count| members that may repeat.
func zrandmemberCommand(c *Ctx, args [][]byte) {
	if len(args) == 2 {
		z, wrong := readZSet(c, c.DB(args[1]), args[1])
		switch {
		case wrong:
		case z == nil:
			c.W.AppendNull()
		default:
			m, _ := z.At(c.randN(z.Len()))
			c.W.AppendBulk(m)
		}
		return
	}
	n, ok := parseRandomCount(c, args[2])
	if !ok {
		return
	}
	if len(args) > 4 || len(args) == 4 && !ascii.EqualFold(args[3], "withscores") {
		c.W.AppendError(strErrSyntax)
		return
	}
	withScores := len(args) == 4
	if withScores && (n < -math.MaxInt64/2 || n > math.MaxInt64/2) || n < -maxRandomCount {
		c.W.AppendError("ERR value is out of range")
		return
	}
	z, wrong := readZSet(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	if z == nil || n == 0 {
		c.W.AppendArray(0)
		return
	}
	reply := func(m []byte, s float64) {
		if withScores {
			appendPair(c, m, s)
		} else {
			c.W.AppendBulk(m)
		}
	}
	size := z.Len()
	switch {
	case n < 0:
		appendPairsHeader(c, int(-n), withScores)
		for range -n {
			reply(z.At(c.randN(size)))
		}
	case n >= int64(size):
		// The whole set, from the highest member down, as Redis's
		// iterator of sorted sets walks it.
		appendPairsHeader(c, size, withScores)
		z.Descend(size-1, func(m []byte, s float64) bool { reply(m, s); return true })
	default:
		appendPairsHeader(c, int(n), withScores)
		for _, i := range pickDistinct(c, size, int(n)) {
			reply(z.At(i))
		}
	}
}

// zscanCommand implements ZSCAN key cursor [MATCH pattern] [COUNT count]
// [NOSCORES]: members and their scores as strings, a listpack whole in
// one call, a larger sorted set in the hash order of its index with
// Redis's cursor (see object.ZSet.Scan).
func zscanCommand(c *Ctx, args [][]byte) {
	// NOSCORES (Redis 7.4) stands alone among the options, which
	// otherwise come in pairs: take it out before they are parsed.
	noScores := false
	for i := 3; i < len(args); i += 2 {
		if ascii.EqualFold(args[i], "noscores") {
			noScores = true
			args = append(args[:i:i], args[i+1:]...)
			i -= 2
		}
	}
	cursor, ok := scanCursor(c, args[2])
	if !ok {
		return
	}
	z, wrong := readZSet(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	var out [][]byte
	var next uint64
	if z != nil {
		pattern, count, ok := scanOptions(c, args)
		if !ok {
			return
		}
		next = z.Scan(cursor, count, func(m []byte, s float64) {
			if pattern == nil || glob.Match(pattern, m) {
				out = append(out, bytes.Clone(m))
				if !noScores {
					out = append(out, resp.AppendDoubleText(nil, s))
				}
			}
		})
	}
	var buf [20]byte
	c.W.AppendArray(2)
	c.W.AppendBulk(strconv.AppendUint(buf[:0], next, 10))
	appendKeys(c, out)
}

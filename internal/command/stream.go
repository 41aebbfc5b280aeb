package command

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/data-cluster/data-cluster/internal/ascii"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// streamCommands are the commands on stream values, as Redis 7.0 has
// them. XREAD and XREADGROUP block (see Blocking) when given BLOCK.
var streamCommands = []*Spec{
	{Name: "xadd", Arity: -5, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: xaddCommand},
	{Name: "xrange", Arity: -4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: xrangeCommand},
	{Name: "xrevrange", Arity: -4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: xrevrangeCommand},
	{Name: "xlen", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: xlenCommand},
	{Name: "xdel", Arity: -3, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: xdelCommand},
	{Name: "xtrim", Arity: -4, Flags: Write, FirstKey: 1, LastKey: 1, Step: 1, Run: xtrimCommand},
	{Name: "xsetid", Arity: -3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: xsetidCommand},
	{Name: "xgroup", Arity: -2, Flags: Write | DenyOOM, FirstKey: 2, LastKey: 2, Step: 1, Run: xgroupCommand},
	{Name: "xinfo", Arity: -2, Flags: ReadOnly, FirstKey: 2, LastKey: 2, Step: 1, Run: xinfoCommand},
	{Name: "xack", Arity: -4, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: xackCommand},
	{Name: "xpending", Arity: -3, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: xpendingCommand},
	{Name: "xclaim", Arity: -6, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: xclaimCommand},
	{Name: "xautoclaim", Arity: -6, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: xautoclaimCommand},
	{Name: "xread", Arity: -4, Flags: ReadOnly | Blocks, KeyArgs: xreadKeys,
		Run: blockingRun(xreadTry), Block: &Blocking{TimeoutAt: xreadTimeoutAt, Millis: true, Try: xreadTry, Serve: xreadServe}},
	{Name: "xreadgroup", Arity: -7, Flags: Write | Blocks, KeyArgs: xreadKeys,
		Run: blockingRun(xreadTry), Block: &Blocking{TimeoutAt: xreadTimeoutAt, Millis: true, Try: xreadTry, Serve: xreadServe}},
}

// Redis's error texts for streams.
const (
	xErrID          = "ERR Invalid stream ID specified as stream command argument"
	xErrZeroID      = "ERR The ID specified in XADD must be greater than 0-0"
	xErrSmallID     = "ERR The ID specified in XADD is equal or smaller than the target stream top item"
	xErrExhausted   = "ERR The stream has exhausted the last possible ID, unable to add more items"
	xErrStartID     = "ERR invalid start ID for the interval"
	xErrEndID       = "ERR invalid end ID for the interval"
	xErrNeedKey     = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."
	xErrBusyGroup   = "BUSYGROUP Consumer Group name already exists"
	xErrEntriesRead = "ERR value for ENTRIESREAD must be positive or -1"
	xErrUnbalanced  = "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified."
	xErrNoKey       = "ERR no such key"
)

// xErrNoGroup is NOGROUP for a key and group, with the tail each command
// words its own way.
func xErrNoGroup(key, group []byte, tail string) string {
	return "NOGROUP No such key '" + cString(key) + "' or consumer group '" + cString(group) + "'" + tail
}

// parseU64 parses a part of a stream id as Redis's string2ull: what
// strtoull takes whole, that is leading white space, a sign and decimal
// digits, so that " 1" and "+1" are 1. strtoull negates what follows a
// "-" (" -1" is 2^64-1, "-0" is 0), but string2ull first tries
// string2ll, which refuses "-0" and leading zeros: the negative numbers
// string2ll takes are refused.
func parseU64(b []byte) (uint64, bool) {
	i := 0
	for i < len(b) && isCSpace(b[i]) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	digits := b[i:]
	if len(digits) == 0 {
		return 0, false
	}
	for _, ch := range digits {
		if ch < '0' || ch > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(string(digits), 10, 64)
	if err != nil {
		return 0, false
	}
	if !neg {
		return v, true
	}
	if i == 1 && digits[0] != '0' && v <= 1<<63 {
		return 0, false // string2ll's, down to -2^63
	}
	return -v, true
}

// isCSpace reports whether ch is white space to C's isspace.
func isCSpace(ch byte) bool {
	return ch == ' ' || ch >= '\t' && ch <= '\r'
}

// parseStreamID parses an id as Redis's streamGenericParseIDOrReply:
// "ms-seq", or "ms" with missingSeq, and "-" and "+" for the smallest and
// largest ids unless strict. With seqAny, "ms-*" is accepted and reported
// by any.
func parseStreamID(b []byte, missingSeq uint64, strict, seqAny bool) (id object.StreamID, any, ok bool) {
	if len(b) > 127 {
		return id, false, false
	}
	if !strict && len(b) == 1 {
		switch b[0] {
		case '-':
			return object.StreamID{}, false, true
		case '+':
			return object.MaxStreamID, false, true
		}
	}
	for i, ch := range b {
		if ch != '-' {
			continue
		}
		ms, okMs := parseU64(b[:i])
		if !okMs {
			return id, false, false
		}
		rest := b[i+1:]
		if seqAny && len(rest) == 1 && rest[0] == '*' {
			return object.StreamID{Ms: ms}, true, true
		}
		seq, okSeq := parseU64(rest)
		if !okSeq {
			return id, false, false
		}
		return object.StreamID{Ms: ms, Seq: seq}, false, true
	}
	ms, okMs := parseU64(b)
	return object.StreamID{Ms: ms, Seq: missingSeq}, false, okMs
}

// strictID parses an id that may not be "-" or "+", replying with the
// error when it does not parse.
func strictID(c *Ctx, b []byte) (object.StreamID, bool) {
	id, _, ok := parseStreamID(b, 0, true, false)
	if !ok {
		c.W.AppendError(xErrID)
	}
	return id, ok
}

// strictIDs parses ids with strictID, replying with the error at the
// first that does not parse.
func strictIDs(c *Ctx, args [][]byte) ([]object.StreamID, bool) {
	ids := make([]object.StreamID, 0, len(args))
	for _, a := range args {
		id, ok := strictID(c, a)
		if !ok {
			return nil, false
		}
		ids = append(ids, id)
	}
	return ids, true
}

// groupOf returns s's group name, or nil when there is none or no s.
func groupOf(s *object.Stream, name []byte) *object.StreamGroup {
	if s == nil {
		return nil
	}
	return s.Group(name)
}

// intervalID parses a range bound of XRANGE, XPENDING and XAUTOCLAIM:
// an id, "-", "+", or "(" and an id for an exclusive bound, which it moves
// to the next (start) or previous (end) id.
func intervalID(c *Ctx, b []byte, end bool) (object.StreamID, bool) {
	missing := uint64(0)
	if end {
		missing = math.MaxUint64
	}
	if len(b) > 1 && b[0] == '(' {
		id, _, ok := parseStreamID(b[1:], missing, true, false)
		if !ok {
			c.W.AppendError(xErrID)
			return id, false
		}
		if end {
			id, ok = id.Prev()
			if !ok {
				c.W.AppendError(xErrEndID)
			}
		} else {
			id, ok = id.Next()
			if !ok {
				c.W.AppendError(xErrStartID)
			}
		}
		return id, ok
	}
	id, _, ok := parseStreamID(b, missing, false, false)
	if !ok {
		c.W.AppendError(xErrID)
	}
	return id, ok
}

// appendStreamID replies with id as a bulk string.
func appendStreamID(c *Ctx, id object.StreamID) {
	var buf [48]byte
	c.W.AppendBulk(id.Append(buf[:0]))
}

// appendStreamEntry replies with an entry: its id and its field and value
// pairs.
func appendStreamEntry(c *Ctx, id object.StreamID, fv [][]byte) {
	c.W.AppendArray(2)
	appendStreamID(c, id)
	c.W.AppendArray(len(fv))
	for _, b := range fv {
		c.W.AppendBulk(b)
	}
}

// readStream returns key's stream for a read command (readAs).
func readStream(c *Ctx, db *keyspace.DB, key []byte) (*object.Stream, bool) {
	return readAs[*object.Stream](c, db, key)
}

// findStream returns key's stream for a write command (findAs).
func findStream(c *Ctx, db *keyspace.DB, key []byte) (*object.Stream, int64, bool) {
	return findAs[*object.Stream](c, db, key)
}

// trimArgs are the trimming options of XADD and XTRIM.
type trimArgs struct {
	strategy   byte // 0, 'M' (MAXLEN) or 'I' (MINID)
	maxLen     int64
	minID      object.StreamID
	approx     bool
	limit      int64
	noMkStream bool
}

// parseTrimArgs parses the options of XADD (xadd) or XTRIM from args[i]
// on, as Redis's streamParseAddOrTrimArgsOrReply: for XADD it stops at the
// id, whose position it returns. It replies with the error and returns -1
// for bad options.
func parseTrimArgs(c *Ctx, args [][]byte, i int, xadd bool, t *trimArgs) int {
	limitGiven := false
	for ; i < len(args); i++ {
		more := len(args) - 1 - i
		opt := args[i]
		switch {
		case xadd && len(opt) == 1 && opt[0] == '*':
			goto done
		case (ascii.EqualFold(opt, "maxlen") || ascii.EqualFold(opt, "minid")) && more > 0:
			if t.strategy != 0 {
				c.W.AppendError("ERR syntax error, MAXLEN and MINID options at the same time are not compatible")
				return -1
			}
			t.approx = false
			next := args[i+1]
			if more >= 2 && len(next) == 1 && (next[0] == '~' || next[0] == '=') {
				t.approx = next[0] == '~'
				i++
			}
			if ascii.EqualFold(opt, "maxlen") {
				n, ok := resp.ParseInt(args[i+1])
				if !ok {
					c.W.AppendError(strErrNotInt)
					return -1
				}
				if n < 0 {
					c.W.AppendError("ERR The MAXLEN argument must be >= 0.")
					return -1
				}
				t.maxLen, t.strategy = n, 'M'
			} else {
				id, ok := strictID(c, args[i+1])
				if !ok {
					return -1
				}
				t.minID, t.strategy = id, 'I'
			}
			i++
		case ascii.EqualFold(opt, "limit") && more > 0:
			n, ok := resp.ParseInt(args[i+1])
			if !ok {
				c.W.AppendError(strErrNotInt)
				return -1
			}
			if n < 0 {
				c.W.AppendError("ERR The LIMIT argument must be >= 0.")
				return -1
			}
			t.limit, limitGiven = n, true
			i++
		case xadd && ascii.EqualFold(opt, "nomkstream"):
			t.noMkStream = true
		case xadd:
			goto done
		default:
			c.W.AppendError(strErrSyntax)
			return -1
		}
	}
done:
	if t.limit != 0 && t.strategy == 0 {
		c.W.AppendError("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy")
		return -1
	}
	if !xadd && t.strategy == 0 {
		c.W.AppendError("ERR syntax error, XTRIM must be called with a trimming strategy")
		return -1
	}
	switch {
	case limitGiven && !t.approx:
		c.W.AppendError("ERR syntax error, LIMIT cannot be used without the special ~ option")
		return -1
	case !limitGiven && t.approx:
		t.limit = 100 * object.CurrentLimits().StreamNodeMaxEntries
		if t.limit <= 0 || t.limit > 1_000_000 {
			t.limit = 10_000
		}
	case !limitGiven:
		t.limit = 0
	}
	return i
}

// trim applies t to s and returns the number of entries removed.
func (t *trimArgs) trim(s *object.Stream) int64 {
	switch t.strategy {
	case 'M':
		return s.Trim(t.maxLen, nil, t.approx, t.limit)
	case 'I':
		return s.Trim(0, &t.minID, t.approx, t.limit)
	}
	return 0
}

// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value …]
func xaddCommand(c *Ctx, args [][]byte) {
	key := args[1]
	var t trimArgs
	i := parseTrimArgs(c, args, 2, true, &t)
	if i < 0 {
		return
	}
	if i >= len(args) || (len(args)-i-1) < 2 || (len(args)-i-1)%2 != 0 {
		c.W.AppendError("ERR wrong number of arguments for 'xadd' command")
		return
	}
	auto := len(args[i]) == 1 && args[i][0] == '*'
	var id object.StreamID
	var seqAny bool
	if !auto {
		var ok bool
		id, seqAny, ok = parseStreamID(args[i], 0, true, true)
		if !ok {
			c.W.AppendError(xErrID)
			return
		}
		if !seqAny && id.IsZero() {
			c.W.AppendError(xErrZeroID)
			return
		}
	}
	db := c.DB(key)
	s, at, wrong := findStream(c, db, key)
	if wrong {
		return
	}
	created := s == nil
	if created {
		if t.noMkStream {
			c.W.AppendNull()
			return
		}
		s = object.NewStream()
	}
	before := s.MemoryUsage()
	if s.LastID == object.MaxStreamID {
		c.W.AppendError(xErrExhausted)
		return
	}
	last := s.LastID
	switch {
	case auto:
		now := uint64(max(c.Now(), 0))
		if now > last.Ms {
			id = object.StreamID{Ms: now}
		} else {
			id, _ = last.Next()
		}
	case seqAny:
		if id.Ms == last.Ms {
			if last.Seq == math.MaxUint64 {
				c.W.AppendError(xErrSmallID)
				return
			}
			id.Seq = last.Seq + 1
		}
		if id.Compare(last) <= 0 {
			c.W.AppendError(xErrSmallID)
			return
		}
	default:
		if id.Compare(last) <= 0 {
			c.W.AppendError(xErrSmallID)
			return
		}
	}
	s.Add(id, args[i+1:])
	trimmed := t.trim(s)
	db.StreamChanged(key, s, at, created, before)
	c.Notify(notify.Stream, "xadd", key)
	if trimmed > 0 {
		c.Notify(notify.Stream, "xtrim", key)
	}
	appendStreamID(c, id)
}

// XRANGE key start end [COUNT count]
func xrangeCommand(c *Ctx, args [][]byte) { xrange(c, args, false) }

// XREVRANGE key end start [COUNT count]
func xrevrangeCommand(c *Ctx, args [][]byte) { xrange(c, args, true) }

func xrange(c *Ctx, args [][]byte, rev bool) {
	startArg, endArg := args[2], args[3]
	if rev {
		startArg, endArg = endArg, startArg
	}
	start, ok := intervalID(c, startArg, false)
	if !ok {
		return
	}
	end, ok := intervalID(c, endArg, true)
	if !ok {
		return
	}
	count := int64(-1)
	for i := 4; i < len(args); i++ {
		if ascii.EqualFold(args[i], "count") && i+1 < len(args) {
			n, ok := resp.ParseInt(args[i+1])
			if !ok {
				c.W.AppendError(strErrNotInt)
				return
			}
			count = max(n, 0)
			i++
			continue
		}
		c.W.AppendError(strErrSyntax)
		return
	}
	key := args[1]
	s, wrong := readStream(c, c.DB(key), key)
	if wrong {
		return
	}
	if s == nil {
		c.W.AppendArray(0)
		return
	}
	if count == 0 {
		c.W.AppendNullArray()
		return
	}
	appendRange(c, s, start, end, count, rev)
}

// appendRange replies with the entries from start to end, at most count of
// them (all for a negative count), in reverse with rev.
func appendRange(c *Ctx, s *object.Stream, start, end object.StreamID, count int64, rev bool) {
	mark := c.W.Len()
	c.W.AppendArray(0)
	n := int64(0)
	fn := func(id object.StreamID, fv [][]byte) bool {
		if count >= 0 && n == count {
			return false
		}
		appendStreamEntry(c, id, fv)
		n++
		return true
	}
	if start.Compare(end) <= 0 {
		if rev {
			s.Descend(end, start, fn)
		} else {
			s.Ascend(start, end, fn)
		}
	}
	patchArray(c, mark, int(n))
}

// patchArray rewrites the array header written at mark with n elements.
func patchArray(c *Ctx, mark, n int) {
	tail := append([]byte(nil), c.W.Bytes()[mark+4:]...)
	c.W.Truncate(mark)
	c.W.AppendArray(n)
	c.W.AppendRaw(tail)
}

// XLEN key
func xlenCommand(c *Ctx, args [][]byte) {
	s, wrong := readStream(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	if s == nil {
		c.W.AppendInt(0)
		return
	}
	c.W.AppendInt(int64(s.Len()))
}

// XDEL key id [id …]
func xdelCommand(c *Ctx, args [][]byte) {
	key := args[1]
	db := c.DB(key)
	s, at, wrong := findStream(c, db, key)
	if wrong {
		return
	}
	if s == nil {
		c.W.AppendInt(0)
		return
	}
	ids, ok := strictIDs(c, args[2:])
	if !ok {
		return
	}
	before := s.MemoryUsage()
	n := 0
	for _, id := range ids {
		if s.Delete(id) {
			n++
		}
	}
	db.StreamChanged(key, s, at, false, before)
	if n > 0 {
		c.Notify(notify.Stream, "xdel", key)
	}
	c.W.AppendInt(int64(n))
}

// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
func xtrimCommand(c *Ctx, args [][]byte) {
	var t trimArgs
	if parseTrimArgs(c, args, 2, false, &t) < 0 {
		return
	}
	key := args[1]
	db := c.DB(key)
	s, at, wrong := findStream(c, db, key)
	if wrong {
		return
	}
	if s == nil {
		c.W.AppendInt(0)
		return
	}
	before := s.MemoryUsage()
	n := t.trim(s)
	db.StreamChanged(key, s, at, false, before)
	if n > 0 {
		c.Notify(notify.Stream, "xtrim", key)
	}
	c.W.AppendInt(n)
}

// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]
func xsetidCommand(c *Ctx, args [][]byte) {
	id, ok := strictID(c, args[2])
	if !ok {
		return
	}
	added, maxDel := int64(-1), object.StreamID{}
	for i := 3; i < len(args); i += 2 {
		more := len(args) - 1 - i
		switch {
		case ascii.EqualFold(args[i], "entriesadded") && more > 0:
			n, ok := resp.ParseInt(args[i+1])
			if !ok {
				c.W.AppendError(strErrNotInt)
				return
			}
			if n < 0 {
				c.W.AppendError("ERR entries_added must be positive")
				return
			}
			added = n
		case ascii.EqualFold(args[i], "maxdeletedid") && more > 0:
			if maxDel, ok = strictID(c, args[i+1]); !ok {
				return
			}
			if id.Less(maxDel) {
				c.W.AppendError("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
				return
			}
		default:
			c.W.AppendError(strErrSyntax)
			return
		}
	}
	key := args[1]
	db := c.DB(key)
	s, at, wrong := findStream(c, db, key)
	if wrong {
		return
	}
	if s == nil {
		c.W.AppendError(xErrNoKey)
		return
	}
	if s.Len() > 0 {
		if id.Less(s.LastEntryID()) {
			c.W.AppendError("ERR The ID specified in XSETID is smaller than the target stream top item")
			return
		}
		if added != -1 && int64(s.Len()) > added {
			c.W.AppendError("ERR The entries_added specified in XSETID is smaller than the target stream length")
			return
		}
	}
	if id.Less(s.MaxDeleted) {
		c.W.AppendError("ERR The ID specified in XSETID is smaller than current max_deleted_entry_id")
		return
	}
	newAdded := s.EntriesAdded
	if added != -1 {
		newAdded = uint64(added)
	}
	if maxDel.IsZero() {
		maxDel = s.MaxDeleted
	}
	before := s.MemoryUsage()
	s.SetMeta(id, newAdded, maxDel)
	db.StreamChanged(key, s, at, false, before)
	c.Notify(notify.Stream, "xsetid", key)
	c.W.AppendOK()
}

var xgroupHelp = []string{
	"XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"CREATE <key> <groupname> <id|$> [option]",
	"    Create a new consumer group. Options are:",
	"    * MKSTREAM",
	"      Create the empty stream if it does not exist.",
	"    * ENTRIESREAD entries_read",
	"      Set the group's entries_read counter (internal use).",
	"CREATECONSUMER <key> <groupname> <consumer>",
	"    Create a new consumer in the specified group.",
	"DELCONSUMER <key> <groupname> <consumer>",
	"    Remove the specified consumer.",
	"DESTROY <key> <groupname>",
	"    Remove the specified group.",
	"SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
	"    Set the current group ID and entries_read counter.",
	"HELP",
	"    Prints this help.",
}

// subcommand finds args[1] among subs (name and arity, Redis's
// convention), replying with Redis's error for an unknown one or a wrong
// number of arguments.
func subcommand(c *Ctx, args [][]byte, cmd string, subs []subSpec) (string, bool) {
	for _, s := range subs {
		if !ascii.EqualFold(args[1], s.name) {
			continue
		}
		if s.arity >= 0 && len(args) != s.arity || s.arity < 0 && len(args) < -s.arity {
			c.W.AppendError("ERR wrong number of arguments for '" + cmd + "|" + s.name + "' command")
			return "", false
		}
		return s.name, true
	}
	sub := args[1]
	c.W.AppendError("ERR unknown subcommand '" + cString(sub[:min(len(sub), 128)]) + "'. Try " + strings.ToUpper(cmd) + " HELP.")
	return "", false
}

type subSpec struct {
	name  string
	arity int
}

var xgroupSubs = []subSpec{{"create", -5}, {"createconsumer", 5}, {"delconsumer", 5}, {"destroy", 4}, {"setid", -5}, {"help", 2}}

// xgroupSyntax replies with Redis's addReplySubcommandSyntaxError.
func xgroupSyntax(c *Ctx, args [][]byte) { subSyntax(c, args, "XGROUP") }

// subSyntax replies with Redis's addReplySubcommandSyntaxError.
func subSyntax(c *Ctx, args [][]byte, cmd string) {
	sub := args[1]
	c.W.AppendError("ERR unknown subcommand or wrong number of arguments for '" + cString(sub[:min(len(sub), 128)]) + "'. Try " + cmd + " HELP.")
}

// parseEntriesRead parses the ENTRIESREAD option's value.
func parseEntriesRead(c *Ctx, b []byte) (int64, bool) {
	n, ok := resp.ParseInt(b)
	if !ok {
		c.W.AppendError(strErrNotInt)
		return 0, false
	}
	if n < 0 && n != -1 {
		c.W.AppendError(xErrEntriesRead)
		return 0, false
	}
	return n, true
}

// XGROUP CREATE|CREATECONSUMER|DELCONSUMER|DESTROY|SETID|HELP …
func xgroupCommand(c *Ctx, args [][]byte) {
	sub, ok := subcommand(c, args, "xgroup", xgroupSubs)
	if !ok {
		return
	}
	if sub == "help" {
		c.W.AppendArray(len(xgroupHelp))
		for _, l := range xgroupHelp {
			c.W.AppendSimple(l)
		}
		return
	}
	mkstream, entriesRead := false, int64(-1)
	switch sub {
	case "create":
		for i := 5; i < len(args); {
			switch {
			case ascii.EqualFold(args[i], "mkstream"):
				mkstream = true
				i++
			case ascii.EqualFold(args[i], "entriesread") && i+1 < len(args):
				if entriesRead, ok = parseEntriesRead(c, args[i+1]); !ok {
					return
				}
				i += 2
			default:
				xgroupSyntax(c, args)
				return
			}
		}
	case "setid":
		for i := 5; i < len(args); {
			if ascii.EqualFold(args[i], "entriesread") && i+1 < len(args) {
				if entriesRead, ok = parseEntriesRead(c, args[i+1]); !ok {
					return
				}
				i += 2
				continue
			}
			xgroupSyntax(c, args)
			return
		}
	}
	key, name := args[2], args[3]
	db := c.DB(key)
	s, at, wrong := findStream(c, db, key)
	if wrong {
		return
	}
	if s == nil && !mkstream {
		c.W.AppendError(xErrNeedKey)
		return
	}
	var g *object.StreamGroup
	if s != nil {
		g = s.Group(name)
	}
	if g == nil && (sub == "setid" || sub == "createconsumer" || sub == "delconsumer") {
		c.W.AppendError("NOGROUP No such consumer group '" + cString(name) + "' for key name '" + cString(key) + "'")
		return
	}
	if sub == "create" && len(args) > 8 || sub == "setid" && len(args) != 5 && len(args) != 7 {
		xgroupSyntax(c, args)
		return
	}
	created := s == nil
	var before int64
	if s != nil {
		before = s.MemoryUsage()
	}
	switch sub {
	case "create":
		var id object.StreamID
		if string(args[4]) == "$" {
			if s != nil {
				id = s.LastID
			}
		} else if id, ok = strictID(c, args[4]); !ok {
			return
		}
		if created {
			s = object.NewStream()
		}
		if g != nil {
			c.W.AppendError(xErrBusyGroup)
			return
		}
		s.SetGroup(name, id, entriesRead)
		c.W.AppendOK()
	case "setid":
		var id object.StreamID
		if string(args[4]) == "$" {
			id = s.LastID
		} else if id, _, ok = parseStreamID(args[4], 0, false, false); !ok {
			c.W.AppendError(xErrID)
			return
		}
		s.SetGroup(name, id, entriesRead)
		c.W.AppendOK()
	case "destroy":
		if !s.DeleteGroup(name) {
			c.W.AppendInt(0)
			return
		}
		c.W.AppendInt(1)
	case "createconsumer":
		if g.Consumer(args[4]) != nil {
			c.W.AppendInt(0)
			return
		}
		seeConsumer(c, key, s, g, args[4], c.Now())
		c.W.AppendInt(1)
	case "delconsumer":
		cons := g.Consumer(args[4])
		if cons == nil {
			c.W.AppendInt(0)
			return
		}
		c.W.AppendInt(int64(s.DeleteConsumer(g, cons)))
		c.Notify(notify.Stream, "xgroup-delconsumer", key)
	}
	db.StreamChanged(key, s, at, created, before)
	switch sub {
	case "create", "setid", "destroy":
		c.Notify(notify.Stream, "xgroup-"+sub, key)
	}
}

// seeConsumer records that the consumer name of g, in key's stream s, was
// seen now, creating it if needed, and publishes its creation.
func seeConsumer(c *Ctx, key []byte, s *object.Stream, g *object.StreamGroup, name []byte, now int64) *object.StreamConsumer {
	cons, created := s.SeeConsumer(g, name, now)
	if created {
		c.Notify(notify.Stream, "xgroup-createconsumer", key)
	}
	return cons
}

// XACK key group id [id …]
func xackCommand(c *Ctx, args [][]byte) {
	key := args[1]
	db := c.DB(key)
	s, at, wrong := findStream(c, db, key)
	if wrong {
		return
	}
	g := groupOf(s, args[2])
	if g == nil {
		c.W.AppendInt(0)
		return
	}
	ids, ok := strictIDs(c, args[3:])
	if !ok {
		return
	}
	before := s.MemoryUsage()
	n := 0
	for _, id := range ids {
		if s.Ack(g, id) {
			n++
		}
	}
	db.StreamChanged(key, s, at, false, before)
	c.W.AppendInt(int64(n))
}

// XPENDING key group [[IDLE min-idle-time] start end count [consumer]]
func xpendingCommand(c *Ctx, args [][]byte) {
	if len(args) != 3 && (len(args) < 6 || len(args) > 9) {
		c.W.AppendError(strErrSyntax)
		return
	}
	var start, end object.StreamID
	var count, minIdle int64
	var consumer []byte
	if len(args) >= 6 {
		i := 3
		if ascii.EqualFold(args[3], "idle") {
			n, ok := resp.ParseInt(args[4])
			if !ok {
				c.W.AppendError(strErrNotInt)
				return
			}
			if len(args) < 8 {
				c.W.AppendError(strErrSyntax)
				return
			}
			minIdle = n
			i += 2
		}
		n, ok := resp.ParseInt(args[i+2])
		if !ok {
			c.W.AppendError(strErrNotInt)
			return
		}
		count = max(n, 0)
		if start, ok = intervalID(c, args[i], false); !ok {
			return
		}
		if end, ok = intervalID(c, args[i+1], true); !ok {
			return
		}
		if i+3 < len(args) {
			consumer = args[i+3]
		}
	}
	key, gname := args[1], args[2]
	s, wrong := readStream(c, c.DB(key), key)
	if wrong {
		return
	}
	g := groupOf(s, gname)
	if g == nil {
		c.W.AppendError(xErrNoGroup(key, gname, ""))
		return
	}
	if len(args) == 3 {
		c.W.AppendArray(4)
		c.W.AppendInt(int64(g.Pending()))
		if g.Pending() == 0 {
			c.W.AppendNull()
			c.W.AppendNull()
			c.W.AppendNullArray()
			return
		}
		var first, last object.StreamID
		n := 0
		g.AscendPending(nil, object.StreamID{}, func(p *object.StreamNack) bool {
			if n == 0 {
				first = p.ID
			}
			last = p.ID
			n++
			return true
		})
		appendStreamID(c, first)
		appendStreamID(c, last)
		var cs []*object.StreamConsumer
		for _, cons := range g.Consumers() {
			if cons.Pending() > 0 {
				cs = append(cs, cons)
			}
		}
		c.W.AppendArray(len(cs))
		for _, cons := range cs {
			c.W.AppendArray(2)
			c.W.AppendBulkString(cons.Name)
			c.W.AppendBulkString(strconv.Itoa(cons.Pending()))
		}
		return
	}
	var cons *object.StreamConsumer
	if consumer != nil {
		if cons = g.Consumer(consumer); cons == nil {
			c.W.AppendArray(0)
			return
		}
	}
	now := c.Now()
	var rows []*object.StreamNack
	g.AscendPending(cons, start, func(p *object.StreamNack) bool {
		if count == 0 || end.Less(p.ID) {
			return false
		}
		if minIdle != 0 && now-p.DeliveryTime < minIdle {
			return true
		}
		rows = append(rows, p)
		count--
		return true
	})
	c.W.AppendArray(len(rows))
	for _, p := range rows {
		c.W.AppendArray(4)
		appendStreamID(c, p.ID)
		c.W.AppendBulkString(p.Consumer.Name)
		c.W.AppendInt(max(now-p.DeliveryTime, 0))
		c.W.AppendInt(int64(p.DeliveryCount))
	}
}

// XCLAIM key group consumer min-idle-time id [id …] [IDLE ms] [TIME ms]
// [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID id]
func xclaimCommand(c *Ctx, args [][]byte) {
	key, gname := args[1], args[2]
	db := c.DB(key)
	s, at, wrong := findStream(c, db, key)
	if wrong {
		return
	}
	g := groupOf(s, gname)
	if g == nil {
		c.W.AppendError(xErrNoGroup(key, gname, ""))
		return
	}
	minIdle, ok := resp.ParseInt(args[4])
	if !ok {
		c.W.AppendError("ERR Invalid min-idle-time argument for XCLAIM")
		return
	}
	minIdle = max(minIdle, 0)
	var ids []object.StreamID
	j := 5
	for ; j < len(args); j++ {
		id, _, ok := parseStreamID(args[j], 0, true, false)
		if !ok {
			break
		}
		ids = append(ids, id)
	}
	now := c.Now()
	retry, delivery := int64(-1), int64(-1)
	force, justID := false, false
	var lastID object.StreamID
	for ; j < len(args); j++ {
		more := len(args) - 1 - j
		opt := args[j]
		switch {
		case ascii.EqualFold(opt, "force"):
			force = true
		case ascii.EqualFold(opt, "justid"):
			justID = true
		case ascii.EqualFold(opt, "idle") && more > 0:
			j++
			n, ok := resp.ParseInt(args[j])
			if !ok {
				c.W.AppendError("ERR Invalid IDLE option argument for XCLAIM")
				return
			}
			delivery = now - n
		case ascii.EqualFold(opt, "time") && more > 0:
			j++
			n, ok := resp.ParseInt(args[j])
			if !ok {
				c.W.AppendError("ERR Invalid TIME option argument for XCLAIM")
				return
			}
			delivery = n
		case ascii.EqualFold(opt, "retrycount") && more > 0:
			j++
			n, ok := resp.ParseInt(args[j])
			if !ok {
				c.W.AppendError("ERR Invalid RETRYCOUNT option argument for XCLAIM")
				return
			}
			retry = n
		case ascii.EqualFold(opt, "lastid") && more > 0:
			j++
			if lastID, ok = strictID(c, args[j]); !ok {
				return
			}
		default:
			c.W.AppendError("ERR Unrecognized XCLAIM option '" + cString(opt) + "'")
			return
		}
	}
	before := s.MemoryUsage()
	if g.LastID.Less(lastID) {
		s.SetGroup(gname, lastID, g.EntriesRead)
	}
	if delivery == -1 || delivery < 0 || delivery > now {
		delivery = now
	}
	var cons *object.StreamConsumer
	mark := c.W.Len()
	c.W.AppendArray(0)
	n := 0
	for _, id := range ids {
		p := g.Nack(id)
		_, exists := s.Get(id)
		if !exists {
			if p != nil {
				s.Ack(g, id)
			}
			continue
		}
		fresh := false
		if p == nil {
			if !force {
				continue
			}
			fresh = true
		}
		if !fresh && minIdle != 0 && now-p.DeliveryTime < minIdle {
			continue
		}
		if cons == nil {
			cons = seeConsumer(c, key, s, g, args[3], now)
		}
		count := uint64(1)
		if !fresh {
			count = p.DeliveryCount
		}
		switch {
		case retry >= 0:
			count = uint64(retry)
		case !justID:
			count++
		}
		s.SetNack(g, cons, id, delivery, count)
		if justID {
			appendStreamID(c, id)
		} else {
			fv, _ := s.Get(id)
			appendStreamEntry(c, id, fv)
		}
		n++
	}
	patchArray(c, mark, n)
	db.StreamChanged(key, s, at, false, before)
}

// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
func xautoclaimCommand(c *Ctx, args [][]byte) {
	minIdle, ok := resp.ParseInt(args[4])
	if !ok {
		c.W.AppendError("ERR Invalid min-idle-time argument for XAUTOCLAIM")
		return
	}
	minIdle = max(minIdle, 0)
	start, ok := intervalID(c, args[5], false)
	if !ok {
		return
	}
	count, justID := int64(100), false
	for j := 6; j < len(args); j++ {
		more := len(args) - 1 - j
		switch {
		case ascii.EqualFold(args[j], "count") && more > 0:
			n, ok := resp.ParseInt(args[j+1])
			if !ok || n < 1 || n > math.MaxInt64/10 {
				c.W.AppendError("ERR COUNT must be > 0")
				return
			}
			count = n
			j++
		case ascii.EqualFold(args[j], "justid"):
			justID = true
		default:
			c.W.AppendError(strErrSyntax)
			return
		}
	}
	key, gname := args[1], args[2]
	db := c.DB(key)
	s, at, wrong := findStream(c, db, key)
	if wrong {
		return
	}
	g := groupOf(s, gname)
	if g == nil {
		c.W.AppendError(xErrNoGroup(key, gname, ""))
		return
	}
	before := s.MemoryUsage()
	now := c.Now()
	attempts := count * 10
	var cons *object.StreamConsumer
	var deleted []object.StreamID
	c.W.AppendArray(3)
	endMark := c.W.Len()
	c.W.AppendArray(0) // replaced by the cursor
	mark := c.W.Len()
	c.W.AppendArray(0)
	n := 0
	cursor, more := start, true
	for attempts > 0 && count > 0 && more {
		attempts--
		var p *object.StreamNack
		g.AscendPending(nil, cursor, func(q *object.StreamNack) bool {
			p = q
			return false
		})
		if p == nil {
			more = false
			break
		}
		id := p.ID
		cursor, more = id.Next()
		if _, exists := s.Get(id); !exists {
			s.Ack(g, id)
			deleted = append(deleted, id)
			count--
			continue
		}
		if minIdle != 0 && now-p.DeliveryTime < minIdle {
			continue
		}
		if cons == nil {
			cons = seeConsumer(c, key, s, g, args[3], now)
		}
		cnt := p.DeliveryCount
		if !justID {
			cnt++
		}
		s.SetNack(g, cons, id, now, cnt)
		if justID {
			appendStreamID(c, id)
		} else {
			fv, _ := s.Get(id)
			appendStreamEntry(c, id, fv)
		}
		n++
		count--
	}
	patchArray(c, mark, n)
	next := object.StreamID{}
	if more {
		g.AscendPending(nil, cursor, func(q *object.StreamNack) bool {
			next = q.ID
			return false
		})
	}
	// The cursor goes where the placeholder array header was.
	tail := append([]byte(nil), c.W.Bytes()[endMark+4:]...)
	c.W.Truncate(endMark)
	appendStreamID(c, next)
	c.W.AppendRaw(tail)
	c.W.AppendArray(len(deleted))
	for _, id := range deleted {
		appendStreamID(c, id)
	}
	db.StreamChanged(key, s, at, false, before)
}

// xreadArgs are the parsed arguments of XREAD and XREADGROUP.
type xreadArgs struct {
	group, consumer []byte
	count           int64
	block           bool
	noAck           bool
	streams         int // index of the first key
	n               int // number of keys
}

// parseXread parses XREAD's or XREADGROUP's options as Redis does,
// replying with the error when they are bad.
func parseXread(c *Ctx, args [][]byte, x *xreadArgs) bool {
	group := ascii.EqualFold(args[0], "xreadgroup")
	for i := 1; i < len(args); i++ {
		more := len(args) - 1 - i
		o := args[i]
		switch {
		case ascii.EqualFold(o, "block") && more > 0:
			i++
			if _, msg := parseMillisTimeout(args[i]); msg != "" {
				c.W.AppendError(msg)
				return false
			}
			x.block = true
		case ascii.EqualFold(o, "count") && more > 0:
			i++
			n, ok := resp.ParseInt(args[i])
			if !ok {
				c.W.AppendError(strErrNotInt)
				return false
			}
			x.count = max(n, 0)
		case ascii.EqualFold(o, "streams") && more > 0:
			x.streams = i + 1
			if (len(args)-x.streams)%2 != 0 {
				c.W.AppendError(xErrUnbalanced)
				return false
			}
			x.n = (len(args) - x.streams) / 2
			i = len(args)
		case ascii.EqualFold(o, "group") && more >= 2:
			if !group {
				c.W.AppendError("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
				return false
			}
			x.group, x.consumer = args[i+1], args[i+2]
			i += 2
		case ascii.EqualFold(o, "noack"):
			if !group {
				c.W.AppendError("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
				return false
			}
			x.noAck = true
		default:
			c.W.AppendError(strErrSyntax)
			return false
		}
	}
	if x.streams == 0 {
		c.W.AppendError(strErrSyntax)
		return false
	}
	if group && x.group == nil {
		c.W.AppendError("ERR Missing GROUP option for XREADGROUP")
		return false
	}
	return true
}

// xreadKeys is the KeyArgs of XREAD and XREADGROUP: the first half of the
// arguments after STREAMS.
func xreadKeys(args [][]byte, dst [][]byte) [][]byte {
	for i := 1; i < len(args); i++ {
		switch {
		case ascii.EqualFold(args[i], "streams"):
			rest := args[i+1:]
			if len(rest)%2 != 0 {
				return dst
			}
			return append(dst, rest[:len(rest)/2]...)
		case ascii.EqualFold(args[i], "block"), ascii.EqualFold(args[i], "count"):
			i++
		case ascii.EqualFold(args[i], "group"):
			i += 2
		}
	}
	return dst
}

// xreadTimeoutAt is the TimeoutAt of XREAD and XREADGROUP: the argument
// after BLOCK, or -1.
func xreadTimeoutAt(args [][]byte) int {
	for i := 1; i+1 < len(args); i++ {
		switch {
		case ascii.EqualFold(args[i], "block"):
			return i + 1
		case ascii.EqualFold(args[i], "count"):
			i++
		case ascii.EqualFold(args[i], "group"):
			i += 2
		case ascii.EqualFold(args[i], "streams"):
			return -1
		}
	}
	return -1
}

// parseMillisTimeout parses a timeout in milliseconds as Redis's
// getTimeoutFromObjectOrReply with UNIT_MILLISECONDS; 0 for none.
func parseMillisTimeout(b []byte) (time.Duration, string) {
	n, ok := resp.ParseInt(b)
	if !ok {
		return 0, "ERR timeout is not an integer or out of range"
	}
	if n < 0 {
		return 0, ErrTimeoutNegative
	}
	return timeoutMillis(n), ""
}

// xreadID is a parsed id of XREAD or XREADGROUP: ">" (or, as in Redis,
// the largest id for XREADGROUP) is new entries of the group.
type xreadID struct {
	id  object.StreamID
	new bool
}

// xreadTry runs XREAD or XREADGROUP once. It answers when some stream has
// entries to give, on an error, and when the command does not block; it
// reports false otherwise, after replacing each "$" argument with the id
// it stands for now, so that the waiter later reads what comes after it.
func xreadTry(c *Ctx, args [][]byte) bool {
	var x xreadArgs
	if !parseXread(c, args, &x) {
		return true
	}
	ids := make([]xreadID, x.n)
	groups := make([]*object.StreamGroup, x.n)
	streams := make([]*object.Stream, x.n)
	for i := range x.n {
		key, arg := args[x.streams+i], args[x.streams+x.n+i]
		s, wrong := readStream(c, c.DB(key), key)
		if wrong {
			return true
		}
		streams[i] = s
		if x.group != nil {
			if s != nil {
				groups[i] = s.Group(x.group)
			}
			if groups[i] == nil {
				c.W.AppendError(xErrNoGroup(key, x.group, " in XREADGROUP with GROUP option"))
				return true
			}
		}
		switch string(arg) {
		case "$":
			if x.group != nil {
				c.W.AppendError("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")
				return true
			}
			if s != nil {
				ids[i].id = s.LastID
			}
			continue
		case ">":
			if x.group == nil {
				c.W.AppendError("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")
				return true
			}
			ids[i].new = true
			continue
		}
		id, ok := strictID(c, arg)
		if !ok {
			return true
		}
		ids[i].id = id
		ids[i].new = x.group != nil && id == object.MaxStreamID
	}
	mark := c.W.Len()
	n := 0
	header := func() {
		if n == 0 {
			mark = c.W.Len()
			c.W.AppendArray(0)
		}
		n++
	}
	for i := range x.n {
		s := streams[i]
		if s == nil {
			continue
		}
		key := args[x.streams+i]
		if g := groups[i]; g != nil {
			if !ids[i].new {
				header()
				xreadHistory(c, key, s, g, ids[i].id, x)
				continue
			}
			// A stream with nothing new for the group leaves the
			// consumer alone, as in Redis 7.0: not created, its seen
			// time unchanged.
			if s.Len() == 0 || !g.LastID.Less(s.LastEntryID()) {
				continue
			}
			header()
			xreadDeliver(c, key, s, g, g.LastID, x)
			continue
		}
		if s.Len() == 0 || !ids[i].id.Less(s.LastEntryID()) {
			continue
		}
		header()
		xreadEntries(c, key, s, ids[i].id, x.count)
	}
	if n > 0 {
		xreadPatch(c, mark, n)
		return true
	}
	if !x.block {
		c.W.AppendNullArray()
		return true
	}
	for i := range x.n {
		if string(args[x.streams+x.n+i]) == "$" {
			args[x.streams+x.n+i] = ids[i].id.Append(nil)
		}
	}
	return false
}

// xreadPatch sets the count of streams of the reply started at mark: an
// array in RESP2, a map in RESP3.
func xreadPatch(c *Ctx, mark, n int) {
	tail := append([]byte(nil), c.W.Bytes()[mark+4:]...)
	c.W.Truncate(mark)
	if c.W.Proto() > 2 {
		c.W.AppendMap(n)
	} else {
		c.W.AppendArray(n)
	}
	c.W.AppendRaw(tail)
}

// xreadKey starts a stream's part of the reply: [key, entries] in RESP2,
// the key of the map in RESP3.
func xreadKey(c *Ctx, key []byte) {
	if c.W.Proto() == 2 {
		c.W.AppendArray(2)
	}
	c.W.AppendBulk(key)
}

// xreadEntries replies with key's entries after id, at most count (0 for
// all).
func xreadEntries(c *Ctx, key []byte, s *object.Stream, after object.StreamID, count int64) {
	xreadKey(c, key)
	start, ok := after.Next()
	if !ok {
		c.W.AppendArray(0)
		return
	}
	appendRange(c, s, start, object.MaxStreamID, countOrAll(count), false)
}

func countOrAll(count int64) int64 {
	if count == 0 {
		return -1
	}
	return count
}

// xreadDeliver gives the consumer of x the entries of s after id, moving
// the group's last id and adding them to its pending entries (unless
// NOACK), as Redis's streamReplyWithRange does for a group.
func xreadDeliver(c *Ctx, key []byte, s *object.Stream, g *object.StreamGroup, after object.StreamID, x xreadArgs) {
	db := c.DB(key)
	before := s.MemoryUsage()
	now := c.Now()
	cons := seeConsumer(c, key, s, g, x.consumer, now)
	xreadKey(c, key)
	mark := c.W.Len()
	c.W.AppendArray(0)
	n := int64(0)
	start, ok := after.Next()
	var ids []object.StreamID
	if ok {
		s.Ascend(start, object.MaxStreamID, func(id object.StreamID, fv [][]byte) bool {
			if x.count > 0 && n == x.count {
				return false
			}
			appendStreamEntry(c, id, fv)
			ids = append(ids, id)
			n++
			return true
		})
	}
	for _, id := range ids {
		s.Delivered(g, id)
		if !x.noAck {
			s.SetNack(g, cons, id, now, 1)
		}
	}
	patchArray(c, mark, int(n))
	db.StreamChanged(key, s, 0, false, before)
}

// xreadHistory replies with the entries pending for the consumer of x
// after id, counting one more delivery of each, as Redis's
// streamReplyWithRangeFromConsumerPEL: an entry since deleted is its id
// and a nil.
func xreadHistory(c *Ctx, key []byte, s *object.Stream, g *object.StreamGroup, after object.StreamID, x xreadArgs) {
	db := c.DB(key)
	before := s.MemoryUsage()
	now := c.Now()
	cons := seeConsumer(c, key, s, g, x.consumer, now)
	xreadKey(c, key)
	var pend []*object.StreamNack
	// Redis reads the history from the id after the given one, as it
	// reads new entries: the id the client passes is the last it has.
	if from, ok := after.Next(); ok {
		g.AscendPending(cons, from, func(p *object.StreamNack) bool {
			if x.count > 0 && int64(len(pend)) == x.count {
				return false
			}
			pend = append(pend, p)
			return true
		})
	}
	c.W.AppendArray(len(pend))
	for _, p := range pend {
		fv, ok := s.Get(p.ID)
		if !ok {
			c.W.AppendArray(2)
			appendStreamID(c, p.ID)
			c.W.AppendNullArray()
			continue
		}
		appendStreamEntry(c, p.ID, fv)
		s.SetNack(g, cons, p.ID, now, p.DeliveryCount+1)
	}
	db.StreamChanged(key, s, 0, false, before)
}

// xreadServe serves a waiting XREAD or XREADGROUP from key, which a write
// changed, as Redis's serveClientsBlockedOnStreamKey: entries after the
// id the client waits for (the group's last id for ">"), from this key
// only.
func xreadServe(c *Ctx, args [][]byte, key []byte) bool {
	var x xreadArgs
	if !parseXreadQuiet(args, &x) {
		return false
	}
	i := -1
	for j := range x.n {
		if string(args[x.streams+j]) == string(key) {
			i = j
			break
		}
	}
	if i < 0 {
		return false
	}
	s, ok, _ := servableAs[*object.Stream](c, key)
	if !ok {
		return false
	}
	arg := args[x.streams+x.n+i]
	if x.group != nil {
		g := s.Group(x.group)
		if g == nil {
			c.W.AppendError("NOGROUP the consumer group this client was blocked on no longer exists")
			return true
		}
		if !xreadGroupNew(arg) || !g.LastID.Less(s.LastID) {
			return false
		}
		xreadOne(c)
		xreadDeliver(c, key, s, g, g.LastID, x)
		return true
	}
	id, _, ok := parseStreamID(arg, 0, true, false)
	if !ok || !id.Less(s.LastID) {
		return false
	}
	xreadOne(c)
	xreadEntries(c, key, s, id, x.count)
	return true
}

// xreadGroupNew reports whether arg, an id of XREADGROUP, asks for new
// entries: ">", or the largest id, which Redis stands for ">" with, so
// that XREADGROUP given it reads and waits as with ">".
func xreadGroupNew(arg []byte) bool {
	if string(arg) == ">" {
		return true
	}
	id, _, ok := parseStreamID(arg, 0, true, false)
	return ok && id == object.MaxStreamID
}

// xreadOne starts a reply of one stream.
func xreadOne(c *Ctx) {
	if c.W.Proto() > 2 {
		c.W.AppendMap(1)
	} else {
		c.W.AppendArray(1)
	}
}

// parseXreadQuiet parses arguments parseXread accepted before, replying
// nothing.
func parseXreadQuiet(args [][]byte, x *xreadArgs) bool {
	var w resp.Writer
	c := &Ctx{W: &w}
	return parseXread(c, args, x)
}

// ResolveXreadDollar replaces each "$" id of a blocking XREAD's args
// with the id of the last entry of its stream now (0-0 for none): entries
// added later come after it, and no entry lies between it and the
// stream's last id. run runs a read command and returns its reply (RESP2).
// A cluster node calls it before a client's first attempt, each of which
// is then the same command. It leaves a "$" whose stream it cannot read
// (of another type): the attempt answers the error.
func ResolveXreadDollar(args [][]byte, run func(cmd [][]byte) ([]byte, error)) error {
	if !ascii.EqualFold(args[0], "xread") || xreadTimeoutAt(args) < 0 {
		return nil
	}
	var x xreadArgs
	if !parseXreadQuiet(args, &x) {
		return nil
	}
	for i := range x.n {
		j := x.streams + x.n + i
		if string(args[j]) != "$" {
			continue
		}
		reply, err := run([][]byte{[]byte("xrevrange"), args[x.streams+i], []byte("+"), []byte("-"), []byte("count"), []byte("1")})
		if err != nil {
			return err
		}
		if id, ok := firstReplyID(reply); ok {
			args[j] = id.Append(nil)
		}
	}
	return nil
}

// firstReplyID reads the id of the first entry of an XRANGE reply, 0-0
// for none, and false for any other reply (an error).
func firstReplyID(reply []byte) (object.StreamID, bool) {
	if string(reply) == "*0\r\n" {
		return object.StreamID{}, true
	}
	// *1 *2 $n id …
	const head = "*1\r\n*2\r\n$"
	if !bytes.HasPrefix(reply, []byte(head)) {
		return object.StreamID{}, false
	}
	rest := reply[len(head):]
	i := bytes.IndexByte(rest, '\r')
	if i < 0 {
		return object.StreamID{}, false
	}
	n, ok := resp.ParseInt(rest[:i])
	rest = rest[i+2:]
	if !ok || n < 0 || int(n) > len(rest) {
		return object.StreamID{}, false
	}
	id, _, ok := parseStreamID(rest[:n], 0, true, false)
	return id, ok
}

var xinfoHelp = []string{
	"XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"CONSUMERS <key> <groupname>",
	"    Show consumers of <groupname>.",
	"GROUPS <key>",
	"    Show the stream consumer groups.",
	"STREAM <key> [FULL [COUNT <count>]",
	"    Show information about the stream.",
	"HELP",
	"    Prints this help.",
}

var xinfoSubs = []subSpec{{"consumers", 4}, {"groups", 3}, {"stream", -3}, {"help", 2}}

// XINFO STREAM|GROUPS|CONSUMERS|HELP …
func xinfoCommand(c *Ctx, args [][]byte) {
	sub, ok := subcommand(c, args, "xinfo", xinfoSubs)
	if !ok {
		return
	}
	if sub == "help" {
		c.W.AppendArray(len(xinfoHelp))
		for _, l := range xinfoHelp {
			c.W.AppendSimple(l)
		}
		return
	}
	// Redis looks the key up before it reads STREAM's options: a missing
	// key or one of another type is the answer, whatever follows it.
	key := args[2]
	s, wrong := readStream(c, c.DB(key), key)
	if wrong {
		return
	}
	if s == nil {
		c.W.AppendError(xErrNoKey)
		return
	}
	switch sub {
	case "stream":
		full, count := false, int64(10)
		if len(args) > 3 {
			if !ascii.EqualFold(args[3], "full") || len(args) != 4 && (len(args) != 6 || !ascii.EqualFold(args[4], "count")) {
				subSyntax(c, args, "XINFO")
				return
			}
			full = true
			if len(args) == 6 {
				n, ok := resp.ParseInt(args[5])
				if !ok {
					c.W.AppendError(strErrNotInt)
					return
				}
				count = max(n, 0)
			}
		}
		xinfoStream(c, s, full, count)
	case "groups":
		groups := s.Groups()
		c.W.AppendArray(len(groups))
		for _, g := range groups {
			xinfoMap(c, 6)
			c.W.AppendBulkString("name")
			c.W.AppendBulkString(g.Name)
			c.W.AppendBulkString("consumers")
			c.W.AppendInt(int64(len(g.Consumers())))
			c.W.AppendBulkString("pending")
			c.W.AppendInt(int64(g.Pending()))
			c.W.AppendBulkString("last-delivered-id")
			appendStreamID(c, g.LastID)
			xinfoReadLag(c, s, g)
		}
	case "consumers":
		g := s.Group(args[3])
		if g == nil {
			c.W.AppendError("NOGROUP No such consumer group '" + cString(args[3]) + "' for key name '" + cString(key) + "'")
			return
		}
		now := c.Now()
		cs := g.Consumers()
		c.W.AppendArray(len(cs))
		for _, cons := range cs {
			xinfoMap(c, 3)
			c.W.AppendBulkString("name")
			c.W.AppendBulkString(cons.Name)
			c.W.AppendBulkString("pending")
			c.W.AppendInt(int64(cons.Pending()))
			c.W.AppendBulkString("idle")
			c.W.AppendInt(max(now-cons.SeenTime, 0))
		}
	}
}

// xinfoMap starts a reply of n name and value pairs: a map in RESP3, an
// array of 2n in RESP2.
func xinfoMap(c *Ctx, n int) {
	if c.W.Proto() > 2 {
		c.W.AppendMap(n)
		return
	}
	c.W.AppendArray(2 * n)
}

// xinfoReadLag replies with a group's entries-read and lag pairs.
func xinfoReadLag(c *Ctx, s *object.Stream, g *object.StreamGroup) {
	c.W.AppendBulkString("entries-read")
	if g.EntriesRead != -1 {
		c.W.AppendInt(g.EntriesRead)
	} else {
		c.W.AppendNull()
	}
	c.W.AppendBulkString("lag")
	if lag, ok := s.Lag(g); ok {
		c.W.AppendInt(lag)
	} else {
		c.W.AppendNull()
	}
}

// xinfoStream replies to XINFO STREAM, with FULL its entries (count of
// them, 0 for all) and its groups' pending entries and consumers.
func xinfoStream(c *Ctx, s *object.Stream, full bool, count int64) {
	n := 10
	if full {
		n = 9
	}
	xinfoMap(c, n)
	c.W.AppendBulkString("length")
	c.W.AppendInt(int64(s.Len()))
	// Redis counts the keys and nodes of its radix tree; a node here is
	// one of its keys, and the tree's nodes are counted as one more.
	c.W.AppendBulkString("radix-tree-keys")
	c.W.AppendInt(int64(s.Nodes()))
	c.W.AppendBulkString("radix-tree-nodes")
	c.W.AppendInt(int64(s.Nodes() + 1))
	c.W.AppendBulkString("last-generated-id")
	appendStreamID(c, s.LastID)
	c.W.AppendBulkString("max-deleted-entry-id")
	appendStreamID(c, s.MaxDeleted)
	c.W.AppendBulkString("entries-added")
	c.W.AppendInt(int64(s.EntriesAdded))
	c.W.AppendBulkString("recorded-first-entry-id")
	appendStreamID(c, s.FirstID())
	if !full {
		c.W.AppendBulkString("groups")
		c.W.AppendInt(int64(len(s.Groups())))
		for _, name := range []string{"first-entry", "last-entry"} {
			c.W.AppendBulkString(name)
			found := false
			fn := func(id object.StreamID, fv [][]byte) bool {
				appendStreamEntry(c, id, fv)
				found = true
				return false
			}
			if name == "first-entry" {
				s.Ascend(object.StreamID{}, object.MaxStreamID, fn)
			} else {
				s.Descend(object.MaxStreamID, object.StreamID{}, fn)
			}
			if !found {
				c.W.AppendNull()
			}
		}
		return
	}
	limit := countOrAll(count)
	c.W.AppendBulkString("entries")
	appendRange(c, s, object.StreamID{}, object.MaxStreamID, limit, false)
	c.W.AppendBulkString("groups")
	c.W.AppendArray(len(s.Groups()))
	for _, g := range s.Groups() {
		xinfoMap(c, 7)
		c.W.AppendBulkString("name")
		c.W.AppendBulkString(g.Name)
		c.W.AppendBulkString("last-delivered-id")
		appendStreamID(c, g.LastID)
		xinfoReadLag(c, s, g)
		c.W.AppendBulkString("pel-count")
		c.W.AppendInt(int64(g.Pending()))
		c.W.AppendBulkString("pending")
		pend := pendingUpTo(g, nil, limit)
		c.W.AppendArray(len(pend))
		for _, p := range pend {
			c.W.AppendArray(4)
			appendStreamID(c, p.ID)
			c.W.AppendBulkString(p.Consumer.Name)
			c.W.AppendInt(p.DeliveryTime)
			c.W.AppendInt(int64(p.DeliveryCount))
		}
		c.W.AppendBulkString("consumers")
		cs := g.Consumers()
		c.W.AppendArray(len(cs))
		for _, cons := range cs {
			xinfoMap(c, 4)
			c.W.AppendBulkString("name")
			c.W.AppendBulkString(cons.Name)
			c.W.AppendBulkString("seen-time")
			c.W.AppendInt(cons.SeenTime)
			c.W.AppendBulkString("pel-count")
			c.W.AppendInt(int64(cons.Pending()))
			c.W.AppendBulkString("pending")
			pend := pendingUpTo(g, cons, limit)
			c.W.AppendArray(len(pend))
			for _, p := range pend {
				c.W.AppendArray(3)
				appendStreamID(c, p.ID)
				c.W.AppendInt(p.DeliveryTime)
				c.W.AppendInt(int64(p.DeliveryCount))
			}
		}
	}
}

// pendingUpTo returns the first limit (all when negative) pending entries
// of g, or of its consumer cons.
func pendingUpTo(g *object.StreamGroup, cons *object.StreamConsumer, limit int64) []*object.StreamNack {
	var out []*object.StreamNack
	g.AscendPending(cons, object.StreamID{}, func(p *object.StreamNack) bool {
		if limit >= 0 && int64(len(out)) == limit {
			return false
		}
		out = append(out, p)
		return true
	})
	return out
}

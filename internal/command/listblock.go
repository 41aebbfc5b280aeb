package command

import (
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// listBlockingCommands are the list commands that block until a key gets
// elements (see Blocking). BLMOVE and BRPOPLPUSH wait on their source
// only; Dest names the key they push to.
var listBlockingCommands = []*Spec{
	{Name: "blpop", Arity: -3, Flags: Write | Blocks, FirstKey: 1, LastKey: -2, Step: 1,
		Run: blockingRun(blpopTry), Block: &Blocking{TimeoutArg: -1, Try: blpopTry, Serve: blpopServe}},
	{Name: "brpop", Arity: -3, Flags: Write | Blocks, FirstKey: 1, LastKey: -2, Step: 1,
		Run: blockingRun(brpopTry), Block: &Blocking{TimeoutArg: -1, Try: brpopTry, Serve: brpopServe}},
	{Name: "blmpop", Arity: -5, Flags: Write | Blocks, FirstKey: 3, LastKey: -1, Step: 1, KeyArgs: blockingMpopKeys,
		Run: blockingRun(blmpopTry), Block: &Blocking{TimeoutArg: 1, Try: blmpopTry, Serve: blmpopServe}},
	{Name: "blmove", Arity: 6, Flags: Write | DenyOOM | Blocks, FirstKey: 1, LastKey: 2, Step: 1,
		Run: blmoveRun, Block: &Blocking{TimeoutArg: -1, Dest: 2, Try: blmoveTry, Serve: blmoveServe}},
	{Name: "brpoplpush", Arity: 4, Flags: Write | DenyOOM | Blocks, FirstKey: 1, LastKey: 2, Step: 1,
		Run: brpoplpushRun, Block: &Blocking{TimeoutArg: -1, Dest: 2, Try: brpoplpushTry, Serve: brpoplpushServe}},
}

func blpopTry(c *Ctx, args [][]byte) bool { return bpopTry(c, args, true) }
func brpopTry(c *Ctx, args [][]byte) bool { return bpopTry(c, args, false) }

func blpopServe(c *Ctx, args [][]byte, key []byte) bool { return bpopServe(c, key, true) }
func brpopServe(c *Ctx, args [][]byte, key []byte) bool { return bpopServe(c, key, false) }

// bpopTry is BLPOP and BRPOP key… timeout once: the timeout is checked
// first, then the first key that exists decides, as in Redis: WRONGTYPE,
// or one element popped from it.
func bpopTry(c *Ctx, args [][]byte, left bool) bool {
	if !checkTimeout(c, args[len(args)-1]) {
		return true
	}
	return popFirst(c, args[1:len(args)-1], func(key []byte, l *object.List) { appendBPop(c, key, l, left) })
}

// bpopServe serves a BLPOP or BRPOP waiter from key.
func bpopServe(c *Ctx, key []byte, left bool) bool {
	l, ok, _ := servableAs[*object.List](c, key)
	if ok {
		appendBPop(c, key, l, left)
	}
	return ok
}

// appendBPop pops one element of key's list l and replies with the key
// and the element.
func appendBPop(c *Ctx, key []byte, l *object.List, left bool) {
	c.W.AppendArray(2)
	c.W.AppendBulk(key)
	popList(c, c.DB(key), key, l, left, 1, c.W.AppendBulk)
}

// blockingMpopKeys is the KeyArgs of BLMPOP and BZMPOP timeout numkeys
// key…: numkeysArgs one argument further on.
func blockingMpopKeys(args [][]byte, dst [][]byte) [][]byte {
	if len(args) < 2 {
		return dst
	}
	return numkeysArgs(args[1:], dst)
}

// blmpopTry is BLMPOP timeout numkeys key… LEFT|RIGHT [COUNT count] once:
// Redis checks the arguments after the timeout first, then the timeout,
// and replies as LMPOP does.
func blmpopTry(c *Ctx, args [][]byte) bool {
	keys, left, count, ok := parseMpop(c, args, 2, parseWhere)
	if !ok || !checkTimeout(c, args[1]) {
		return true
	}
	return lmpop(c, keys, left, count)
}

// blmpopServe serves a BLMPOP waiter from key.
func blmpopServe(c *Ctx, args [][]byte, key []byte) bool {
	l, ok, _ := servableAs[*object.List](c, key)
	if !ok {
		return false
	}
	var w resp.Writer
	_, left, count, ok := parseMpop(&Ctx{W: &w}, args, 2, parseWhere)
	if !ok {
		return false
	}
	appendMpop(c, key, l, left, count)
	return true
}

func brpoplpushRun(c *Ctx, args [][]byte) {
	if !brpoplpushTry(c, args) {
		c.W.AppendNull()
	}
}

func brpoplpushTry(c *Ctx, args [][]byte) bool {
	return !checkTimeout(c, args[3]) || bmove(c, args, false, true)
}

func brpoplpushServe(c *Ctx, args [][]byte, key []byte) bool {
	return bmoveServe(c, args, key, false, true)
}

// blmoveRun is BLMOVE's non-blocking form: a null, not a null array,
// when the source is empty, as Redis answers inside MULTI.
func blmoveRun(c *Ctx, args [][]byte) {
	if !blmoveTry(c, args) {
		c.W.AppendNull()
	}
}

// blmoveTry is BLMOVE src dst LEFT|RIGHT LEFT|RIGHT timeout once, with
// Redis's order of checks: both ends, the timeout, then LMOVE's.
func blmoveTry(c *Ctx, args [][]byte) bool {
	from, to, ok := parseMoveEnds(c, args)
	return !ok || !checkTimeout(c, args[5]) || bmove(c, args, from, to)
}

func blmoveServe(c *Ctx, args [][]byte, key []byte) bool {
	from, to, ok := parseMoveEnds(&Ctx{W: &resp.Writer{}}, args)
	return ok && bmoveServe(c, args, key, from, to)
}

// parseMoveEnds parses LMOVE and BLMOVE's LEFT|RIGHT LEFT|RIGHT.
func parseMoveEnds(c *Ctx, args [][]byte) (from, to, ok bool) {
	from, ok1 := parseWhere(args[3])
	to, ok2 := parseWhere(args[4])
	if !ok1 || !ok2 {
		c.W.AppendError(strErrSyntax)
		return false, false, false
	}
	return from, to, true
}

// bmove moves an element from args[1] to args[2] as LMOVE does, and
// reports false, replying nothing, when the source is missing.
func bmove(c *Ctx, args [][]byte, fromLeft, toLeft bool) bool {
	src := args[1]
	c.DB(src).Exists(src)
	l, _, wrong := findList(c, c.DB(src), src)
	if !wrong && l == nil {
		return false
	}
	if l != nil {
		lmove(c, src, args[2], fromLeft, toLeft)
	}
	return true
}

// bmoveServe serves a BLMOVE or BRPOPLPUSH waiter from key, its source.
// When c does not hold the destination's shard it only reports whether
// key holds a list, replying nothing: the shard then wakes the waiter's
// connection to move holding both shards (see Blocking.Dest). A
// destination of another type answers WRONGTYPE and moves nothing, as
// Redis 7.0 does.
func bmoveServe(c *Ctx, args [][]byte, key []byte, fromLeft, toLeft bool) bool {
	if _, ok, _ := servableAs[*object.List](c, key); !ok {
		return false
	}
	if c.Holds(args[2]) {
		lmove(c, key, args[2], fromLeft, toLeft)
	}
	return true
}

package command

import (
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// zsetBlockingCommands are the sorted set commands that block until a key
// gets members (see Blocking).
var zsetBlockingCommands = []*Spec{
	{Name: "bzpopmin", Arity: -3, Flags: Write | Fast | Blocks, FirstKey: 1, LastKey: -2, Step: 1,
		Run: blockingRun(bzpopminTry), Block: &Blocking{TimeoutArg: -1, Try: bzpopminTry, Serve: bzpopminServe}},
	{Name: "bzpopmax", Arity: -3, Flags: Write | Fast | Blocks, FirstKey: 1, LastKey: -2, Step: 1,
		Run: blockingRun(bzpopmaxTry), Block: &Blocking{TimeoutArg: -1, Try: bzpopmaxTry, Serve: bzpopmaxServe}},
	{Name: "bzmpop", Arity: -5, Flags: Write | Blocks, FirstKey: 3, LastKey: -1, Step: 1, KeyArgs: blockingMpopKeys,
		Run: blockingRun(bzmpopTry), Block: &Blocking{TimeoutArg: 1, Try: bzmpopTry, Serve: bzmpopServe}},
}

func bzpopminTry(c *Ctx, args [][]byte) bool { return bzpopTry(c, args, false) }
func bzpopmaxTry(c *Ctx, args [][]byte) bool { return bzpopTry(c, args, true) }

func bzpopminServe(c *Ctx, args [][]byte, key []byte) bool { return bzpopServe(c, key, false) }
func bzpopmaxServe(c *Ctx, args [][]byte, key []byte) bool { return bzpopServe(c, key, true) }

// bzpopTry is BZPOPMIN and BZPOPMAX key… timeout once: the timeout is
// checked first, then the first key that exists decides, as in Redis:
// WRONGTYPE, or one member popped from it.
func bzpopTry(c *Ctx, args [][]byte, fromMax bool) bool {
	if !checkTimeout(c, args[len(args)-1]) {
		return true
	}
	return popFirst(c, args[1:len(args)-1], func(key []byte, z *object.ZSet) { appendBZPop(c, key, z, fromMax) })
}

// bzpopServe serves a BZPOPMIN or BZPOPMAX waiter from key.
func bzpopServe(c *Ctx, key []byte, fromMax bool) bool {
	z, ok, _ := servableAs[*object.ZSet](c, key)
	if ok {
		appendBZPop(c, key, z, fromMax)
	}
	return ok
}

// appendBZPop pops one member of key's sorted set z and replies with the
// key, the member and its score.
func appendBZPop(c *Ctx, key []byte, z *object.ZSet, fromMax bool) {
	db := c.DB(key)
	members, scores := zpop(c, db, key, z, 1, fromMax)
	c.W.AppendArray(3)
	c.W.AppendBulk(key)
	c.W.AppendBulk(members[0])
	c.W.AppendDouble(scores[0])
}

// bzmpopTry is BZMPOP timeout numkeys key… MIN|MAX [COUNT count] once:
// Redis checks the arguments after the timeout first, then the timeout.
func bzmpopTry(c *Ctx, args [][]byte) bool {
	req, ok := parseZMPop(c, args, 2)
	if !ok || !checkTimeout(c, args[1]) {
		return true
	}
	return req.pop(c)
}

// bzmpopServe serves a BZMPOP waiter from key.
func bzmpopServe(c *Ctx, args [][]byte, key []byte) bool {
	z, ok, _ := servableAs[*object.ZSet](c, key)
	if !ok {
		return false
	}
	var w resp.Writer
	w.SetProto(c.W.Proto())
	req, ok := parseZMPop(&Ctx{W: &w}, args, 2)
	if !ok {
		return false
	}
	req.popFrom(c, c.DB(key), key, z)
	return true
}

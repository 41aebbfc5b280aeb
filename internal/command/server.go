package command

import (
	"github.com/data-cluster/data-cluster/internal/ascii"
	"github.com/data-cluster/data-cluster/internal/keyspace"
)

// serverCommands act on the whole keyspace.
var serverCommands = []*Spec{
	{Name: "dbsize", Arity: 1, Flags: ReadOnly | Fast, Kind: AllShards, Run: dbsize},
	{Name: "flushdb", Arity: -1, Flags: Write, Kind: AllShards, Run: flush},
	{Name: "flushall", Arity: -1, Flags: Write, Kind: AllShards, Run: flush},
}

func dbsize(c *Ctx, _ [][]byte) {
	var n int64
	c.DBs(func(_ int, db *keyspace.DB) bool {
		n += int64(db.Len())
		return true
	})
	c.W.AppendInt(n)
}

// flush implements FLUSHDB and FLUSHALL [ASYNC|SYNC]. Both modes free the
// memory at once.
func flush(c *Ctx, args [][]byte) {
	if len(args) > 2 || len(args) == 2 && !ascii.EqualFold(args[1], "async") && !ascii.EqualFold(args[1], "sync") {
		c.W.AppendError("ERR syntax error")
		return
	}
	c.DBs(func(_ int, db *keyspace.DB) bool {
		db.Flush()
		return true
	})
	c.Tracker().Flushed()
	c.W.AppendOK()
}

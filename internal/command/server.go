package command

import (
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
	if len(args) > 2 || len(args) == 2 && !equalFold(args[1], "async") && !equalFold(args[1], "sync") {
		c.W.AppendError("ERR syntax error")
		return
	}
	c.DBs(func(_ int, db *keyspace.DB) bool {
		db.Flush()
		return true
	})
	c.W.AppendOK()
}

// equalFold reports whether b equals the lower-case ASCII word s, ignoring
// case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
